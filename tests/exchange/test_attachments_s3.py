"""Attachments in an S3-compatible object store, against a real S3 server process.

The server is s3rver (the npm package, installed once into .cache/s3rver as
.ci/run does): the S3 REST API over HTTP, keeping its objects in a folder.
It knows its access keys but does not recompute signature V4, so a wrong
secret is not caught here (a wrong access key is). The node talks to it with
the same client and settings as to any other S3 store (EXCHANGE_S3_*).
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from minio import Minio

from exchange.app import build_node, create_app
from exchange.attachments import (
    AttachmentInput,
    Attachments,
    FileStore,
    S3Config,
    S3Store,
    StoreUnavailableError,
    store_for,
)
from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.errors import InvalidInputError
from exchange.settings import load_settings
from tests.exchange import attachment_files as files
from tests.helpers import seed, settings_for, token_for
from tests.web.webkit import KISSELBACH

ROOT = Path(__file__).resolve().parents[2]
S3RVER_DIR = ROOT / ".cache" / "s3rver"
S3RVER = S3RVER_DIR / "node_modules" / "s3rver" / "bin" / "s3rver.js"
BUCKET = "exchange-files"
KEY = SECRET = "S3RVER"  # s3rver's own key pair; it refuses any other access key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _s3rver() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node:
        pytest.skip("no Node.js here, so no S3-compatible server (s3rver) can run: apt-get install nodejs npm")
    if not S3RVER.exists():
        if not npm:
            pytest.skip("npm is missing, so s3rver (the S3-compatible server of these tests) cannot be installed")
        S3RVER_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(S3RVER_DIR),
                        "s3rver@3"], check=True, timeout=300)
    return S3RVER


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint of a running s3rver with the bucket BUCKET."""
    server = _s3rver()
    folder = tmp_path_factory.mktemp("s3rver")
    port = _free_port()
    log = folder / "s3rver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([shutil.which("node") or "node", str(server), "-d", str(folder / "data"),
                                 "-a", "127.0.0.1", "-p", str(port), "--no-vhost-buckets",
                                 "--configure-bucket", BUCKET], stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(endpoint, timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, f"s3rver did not come up:\n{log.read_text()}"
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def config(endpoint: str, **changes: str) -> S3Config:
    values = {"endpoint": endpoint, "bucket": BUCKET, "access_key": KEY, "secret_key": SECRET, "prefix": "t/"}
    return S3Config(**{**values, **changes})


def objects(endpoint: str, prefix: str = "") -> dict[str, int]:
    """What the server holds, asked with a client of its own: object name -> size."""
    client = Minio(endpoint.removeprefix("http://"), access_key=KEY, secret_key=SECRET, secure=False,
                   region="us-east-1")
    return {o.object_name: o.size for o in client.list_objects(BUCKET, prefix=prefix, recursive=True)
            if o.object_name is not None and o.size is not None}


async def joined(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in chunks])


async def test_the_store_keeps_reads_ranges_and_deletes_blobs_by_digest(s3: str, tmp_path: Path) -> None:
    store = S3Store(config(s3, prefix="blobs/"), tmp_path / "incoming")
    await store.check()
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and 4 bytes: more than one read chunk
    digest = hashlib.sha256(data).hexdigest()
    assert not await store.has(digest) and await store.size(digest) is None
    path = store.workdir / "upload-1"
    path.write_bytes(data)
    await store.put(path, digest)
    assert not path.exists(), "the local file goes once the object is written"
    assert objects(s3, "blobs/") == {f"blobs/{digest}": len(data)}
    assert await store.has(digest) and await store.size(digest) == len(data)
    assert await joined(store.read(digest)) == data
    assert await joined(store.read(digest, 10, 20)) == data[10:20]
    assert await joined(store.read(digest, len(data) - 4)) == b"tail"
    assert await joined(store.read(digest, 5, 5)) == b""
    await store.delete(digest)
    assert not await store.has(digest) and objects(s3, "blobs/") == {}
    await store.delete(digest)  # deleting what is gone is no error


async def test_wrong_keys_a_missing_bucket_and_a_dead_endpoint_are_named(s3: str, tmp_path: Path) -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    wrong = S3Store(config(s3, access_key="SOMEONE-ELSE"), tmp_path)
    with pytest.raises(StoreUnavailableError, match=r"could not tell a file's size \(AccessDenied"):
        await wrong.has(digest)
    with pytest.raises(StoreUnavailableError, match=r"could not read a file \(InvalidAccessKeyId"):
        await joined(wrong.read(digest))
    with pytest.raises(StoreUnavailableError, match="has no bucket 'elsewhere'"):
        await S3Store(config(s3, bucket="elsewhere"), tmp_path).check()
    dead = S3Store(config(f"http://127.0.0.1:{_free_port()}"), tmp_path)
    with pytest.raises(StoreUnavailableError, match=r"could not be reached \(.*(Connection|connect)"):
        await dead.check()
    with pytest.raises(ValueError, match="must be http"):
        S3Store(config("ftp://127.0.0.1:1"), tmp_path)


def test_the_settings_choose_the_store_and_name_what_is_missing(tmp_path: Path) -> None:
    base = {"EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path}/x.db"}
    assert isinstance(store_for(load_settings(base, cwd=tmp_path)), FileStore)
    full = {**base, "EXCHANGE_S3_ENDPOINT": "https://s3.example.org/", "EXCHANGE_S3_BUCKET": "files",
            "EXCHANGE_S3_ACCESS_KEY": "k", "EXCHANGE_S3_SECRET_KEY": "s3cr3t", "EXCHANGE_S3_PREFIX": "exchange/"}
    store = store_for(load_settings(full, cwd=tmp_path))
    assert isinstance(store, S3Store)
    assert store.config == S3Config("https://s3.example.org", "files", "k", "s3cr3t", "us-east-1", "exchange/")
    assert store.workdir == tmp_path / "x-attachments" / "incoming"
    assert "s3cr3t" not in repr(load_settings(full, cwd=tmp_path)), "the secret stays out of logs"
    with pytest.raises(InvalidInputError, match="EXCHANGE_S3_ENDPOINT is set but EXCHANGE_S3_BUCKET is not"):
        load_settings({**full, "EXCHANGE_S3_BUCKET": ""}, cwd=tmp_path)
    with pytest.raises(InvalidInputError, match=r"EXCHANGE_S3_ENDPOINT must be http\(s\)://host\[:port\]"):
        load_settings({**full, "EXCHANGE_S3_ENDPOINT": "s3.example.org/files"}, cwd=tmp_path)


async def test_an_upload_lands_in_the_bucket_once_and_is_served_from_it(
        s3: str, db: Database, tmp_path: Path) -> None:
    await seed(db)
    settings = settings_for(db, tmp_path).with_(s3_endpoint=s3, s3_bucket=BUCKET, s3_access_key=KEY,
                                                s3_secret_key=SECRET, s3_prefix="node-a/")
    node = build_node(settings, database=db)
    me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
    first = await node.catalogue.publish(me, EntryInput(kind="project", title="Bürgerbus", summary="s"))
    second = await node.catalogue.publish(me, EntryInput(kind="guide", title="Leitfaden Bürgerbus", summary="s"))
    service: Attachments = node.extra["attachments"]
    assert isinstance(service.store, S3Store)
    report = files.pdf("Fahrgastzaehlung " * 200)
    digest = hashlib.sha256(report).hexdigest()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(report), 4096):
            yield report[i:i + 4096]

    await service.add(me, str(first.uid), AttachmentInput(title="Bericht"), chunks())
    await service.add(me, str(second.uid), AttachmentInput(title="Bericht"), chunks())
    assert objects(s3, "node-a/") == {f"node-a/{digest}": len(report)}, "stored once however many entries"
    assert not any((tmp_path / "attachments").rglob("upload-*")), "nothing is left in the local folder"

    token = await token_for(KISSELBACH)
    app = create_app(settings, node=node, migrate=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node-a.test") as client:
        whole = await client.get(f"/attachments/{digest}")
        assert whole.status_code == 200 and whole.content == report
        part = await client.get(f"/attachments/{digest}", headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == report[100:200]
        uploaded = await client.post(f"/api/entries/{first.uid}/attachments", params={"title": "Tabelle"},
                                     content=files.xlsx("Kassenkredite"),
                                     headers={"Authorization": f"Bearer {token}"})
        assert uploaded.status_code == 201, uploaded.text
        assert f"node-a/{uploaded.json()['digest']}" in objects(s3, "node-a/")

        await service.remove(me, str(first.uid), digest)
        assert f"node-a/{digest}" in objects(s3, "node-a/"), "the other entry still uses it"
        await service.remove(me, str(second.uid), digest)
        assert f"node-a/{digest}" not in objects(s3, "node-a/")

        service.store = S3Store(config(s3, access_key="ROTATED", prefix="node-a/"), tmp_path / "in")
        down = await client.get(f"/attachments/{uploaded.json()['digest']}")
        assert down.status_code == 503 and down.headers["retry-after"] == "60"
        assert down.json()["errors"][0]["message"] == "the file cannot be read at the moment; try again later"
        assert "rotated" not in down.text and "127.0.0.1" not in down.text
