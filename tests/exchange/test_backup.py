"""`exchange backup` and `exchange restore`: a node's database and key in one file, and back.

A node with entries, revisions, a tombstone, a token and a peer with its
cursor is backed up by the real command; restored into an empty node, every
row of every table and the key are the same. Bad backups (truncated, of a
newer version, of another node) are refused in one line and change nothing.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exchange.catalogue import Catalogue
from exchange.db import Database
from exchange.models import Peer
from federation.identity import NodeKey
from tests.exchange.test_catalogue import SMALL, actor_for, project
from tests.helpers import seed

URL = "http://node-a.test"


def cli(folder: Path, *args: str, url: str = URL, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env.update(EXCHANGE_DATABASE_URL=f"sqlite://{folder / 'node.db'}", EXCHANGE_NODE_URL=url,
               EXCHANGE_SYNC_INTERVAL="0", **extra)
    return subprocess.run([sys.executable, "-m", "exchange", *args], env=env, cwd=folder,
                          capture_output=True, text=True, timeout=120, check=False)


def all_rows(db_file: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(db_file) as con:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE '%_data' AND name NOT LIKE '%_idx' AND name NOT LIKE '%_content' "
            "AND name NOT LIKE '%_docsize' AND name NOT LIKE '%_config'")]
        rows = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    con.close()
    return rows


@pytest.fixture
async def node(tmp_path: Path) -> Path:
    folder = tmp_path / "a"
    folder.mkdir()
    db = Database(f"sqlite://{folder / 'node.db'}")
    await db.open(create=True)
    try:
        with db.bound():
            await db.migrate()
            await seed(db)
            key = NodeKey.load_or_create(folder / "node.key", URL)
            catalogue = Catalogue(signer=key, max_body_bytes=10_000)
            actor = await actor_for(SMALL)
            first = await catalogue.publish(actor, project())
            await catalogue.revise(actor, str(first.uid), 1, project(title="Digitales Rathaus 2"))
            gone = await catalogue.publish(actor, project(title="Zurückgezogen"))
            await catalogue.unpublish(actor, str(gone.uid))
            await Peer.create(url="http://node-b.test", name="B", public_key="A" * 43, key_id="0123456789abcdef",
                              cursor="c1:42", applied_total=42, created_at=datetime.now(UTC))
    finally:
        await db.close()
    return folder


def test_a_backup_restores_into_an_empty_node_whole(node: Path, tmp_path: Path) -> None:
    made = cli(node, "backup", str(tmp_path / "a.backup"))
    assert made.returncode == 0, made.stderr
    assert oct((tmp_path / "a.backup").stat().st_mode & 0o777) == "0o600"
    empty = tmp_path / "b"
    empty.mkdir()
    restored = cli(empty, "restore", str(tmp_path / "a.backup"))
    assert restored.returncode == 0, restored.stderr
    assert (empty / "node.key").read_bytes() == (node / "node.key").read_bytes()
    before, after = all_rows(node / "node.db"), all_rows(empty / "node.db")
    assert before.keys() == after.keys()
    for table in ("entry", "revision", "peer", "change", "api_token"):
        assert before[table], table
    for table in before:
        assert after[table] == before[table], table
    listed = cli(empty, "peers", "list")
    assert "http://node-b.test" in listed.stdout and "received 42" in listed.stdout


def _rewrite(source: Path, target: Path, change: dict[str, object]) -> None:
    with tarfile.open(source) as tar, tarfile.open(target, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = json.dumps({**json.loads(data), **change}).encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))


@pytest.mark.parametrize(("case", "message"), [
    ("truncated", "is truncated or damaged"),
    ("newer format", "written by a newer version of the exchange (backup format 3)"),
    ("newer schema", "written by a newer version of the exchange (schema 0999_future)"),
    ("another node", "is a backup of the node http://node-a.test, and this node is http://node-c.test"),
    ("another key", "is a backup of another node: its key"),
    ("not empty", "holds entries or peers already"),
])
def test_a_bad_backup_is_refused_in_one_line_and_changes_nothing(
        node: Path, tmp_path: Path, case: str, message: str) -> None:
    good = tmp_path / "a.backup"
    assert cli(node, "backup", str(good)).returncode == 0
    bad = tmp_path / "bad.backup"
    target = tmp_path / "t"
    target.mkdir()
    url = URL
    if case == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif case == "newer format":
        _rewrite(good, bad, {"format_version": 3})
    elif case == "newer schema":
        _rewrite(good, bad, {"migrations": ["0001_initial", "0999_future"]})
    else:
        bad = good
        if case == "another node":
            url = "http://node-c.test"
        elif case == "another key":
            NodeKey.load_or_create(target / "node.key", URL)
        else:
            target = node
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    refused = cli(target, "restore", str(bad), url=url)
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], refused.stderr
    after = {p.name: p.read_bytes() for p in target.iterdir() if p.name in before}
    assert after == before
    assert not (target / "node.key").exists() or case in ("another key", "not empty")


@pytest.mark.slow  # three processes of the command line
def test_a_backup_carries_the_attachments_files(node: Path, tmp_path: Path) -> None:
    import hashlib

    report = b"%PDF-1.4 pretend report bytes"
    digest = hashlib.sha256(report).hexdigest()
    stored = node / "node-attachments" / digest[:2] / digest[2:4] / digest  # the store beside node.db
    stored.parent.mkdir(parents=True)
    stored.write_bytes(report)
    (node / "node-attachments" / "incoming").mkdir()
    (node / "node-attachments" / "incoming" / "upload-half").write_bytes(b"half an upload")
    written = cli(node, "backup", str(tmp_path / "a.backup"))
    assert written.returncode == 0 and "1 attachment files" in written.stdout and "S3" not in written.stdout
    with tarfile.open(tmp_path / "a.backup") as tar:
        names = tar.getnames()
    assert f"attachments/{digest[:2]}/{digest[2:4]}/{digest}" in names
    assert not any("incoming" in n for n in names)
    empty = tmp_path / "b"
    empty.mkdir()
    restored = cli(empty, "restore", str(tmp_path / "a.backup"))
    assert restored.returncode == 0, restored.stderr
    assert (empty / "node-attachments" / digest[:2] / digest[2:4] / digest).read_bytes() == report
    # a damaged file in the backup is refused like any damaged member
    bad = tmp_path / "bad.backup"
    raw = (tmp_path / "a.backup").read_bytes()
    bad.write_bytes(raw.replace(b"pretend report bytes", b"pretend REPORT bytes"))
    again = tmp_path / "c"
    again.mkdir()
    refused = cli(again, "restore", str(bad))
    assert refused.returncode != 0 and "does not match its checksum" in refused.stderr


S3 = {"EXCHANGE_S3_ENDPOINT": "http://127.0.0.1:9", "EXCHANGE_S3_BUCKET": "exchange-files",
      "EXCHANGE_S3_ACCESS_KEY": "k", "EXCHANGE_S3_SECRET_KEY": "s"}


@pytest.mark.slow  # two processes of the command line
def test_with_the_files_in_an_s3_bucket_backup_and_restore_say_the_bucket_is_not_in_it(
        node: Path, tmp_path: Path) -> None:
    written = cli(node, "backup", str(tmp_path / "a.backup"), **S3)
    assert written.returncode == 0, written.stderr
    assert ("the attachments' files are kept in the S3 bucket exchange-files at http://127.0.0.1:9 "
            "and are NOT in this backup: back the bucket up separately") in written.stdout
    empty = tmp_path / "b"
    empty.mkdir()
    restored = cli(empty, "restore", str(tmp_path / "a.backup"), **S3)
    assert restored.returncode == 0, restored.stderr
    assert "are read from the bucket, not from this backup: restore the bucket" in restored.stdout
