"""Key rotation: a new key announced with the old key's signature is taken without confirmation.

Pure checks of the statement, the pinning rule in the store, and two real
nodes: A rotates its key and restarts, B's next pull takes the new key and
both directions keep working; a rotation for a compromised key announces
nothing, so B refuses the new key until its operator confirms it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from exchange.db import Database
from exchange.errors import ConflictError
from federation import store
from federation.identity import Descriptor, NodeKey
from federation.rotation import accepts, announce
from tests.exchange.test_cli_config import free_port

NODE = "https://a.example"
OLD, NEW, OTHER = (NodeKey.generate(NODE) for _ in range(3))
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def statement(signer: NodeKey = OLD, **changes: str) -> dict[str, str]:
    made = announce(OLD, NEW, "2026-12-01T00:00:00+00:00")
    if signer is not OLD:
        made = {**made, "signature": signer.sign(b"whatever")}
    return {**made, **changes}


@pytest.mark.parametrize(("made", "ok"), [
    (statement(), True),
    (statement(signer=OTHER), False),
    (statement(node="https://b.example"), False),
    (statement(newKey=OTHER.public_key_b64), False),
    (statement(oldKey=OTHER.public_key_b64), False),
    ({"node": NODE}, False),
    (None, False),
    ("a string", False),
])
def test_a_statement_counts_only_when_the_pinned_key_signed_exactly_this_change(made: object, ok: bool) -> None:
    assert accepts(made, node=NODE, pinned_key=OLD.public_key_b64, presented_key=NEW.public_key_b64) is ok


def descriptor(key: NodeKey, rotation: dict[str, str] | None) -> Descriptor:
    return Descriptor.for_key(key, "A", "0.1.0", key_rotation=rotation)


async def test_pinning_takes_an_announced_key_and_refuses_others(db: Database) -> None:
    await store.pin_peer(descriptor(OLD, None), member=False, trust_relayed=False, confirm_key_change=False, now=NOW)
    forged = Descriptor.from_json(descriptor(NEW, statement(signer=OTHER)).to_json())
    with pytest.raises(ConflictError, match="announces a key rotation that key .* did not sign"):
        await store.pin_peer(forged, member=False, trust_relayed=False, confirm_key_change=False, now=NOW)
    with pytest.raises(ConflictError, match="without an announcement signed by key"):
        await store.pin_peer(descriptor(NEW, None), member=False, trust_relayed=False, confirm_key_change=False,
                             now=NOW)
    assert (await store.get_peer(NODE)).key_id == OLD.key_id
    announced = Descriptor.from_json(descriptor(NEW, statement()).to_json())
    peer = await store.pin_peer(announced, member=False, trust_relayed=False, confirm_key_change=False, now=NOW)
    assert peer.key_id == NEW.key_id


class Proc:
    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        folder.mkdir()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: BinaryIO | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
        return {**env, "EXCHANGE_DATABASE_URL": f"sqlite://{self.folder / 'node.db'}", "EXCHANGE_NODE_URL": self.url,
                "EXCHANGE_SYNC_INTERVAL": "0", "EXCHANGE_LOG_LEVEL": "WARNING"}

    def start(self) -> None:
        self.log = (self.folder / "serve.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(self.port)],
                                     env=self.env(), cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, (self.folder / "serve.log").read_text()
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "exchange", *args], env=self.env(), cwd=self.folder,
                              capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_two_nodes_follow_a_rotation_and_refuse_an_unannounced_key(tmp_path: Path) -> None:
    a, b = Proc(tmp_path / "a"), Proc(tmp_path / "b")
    try:
        a.start()
        b.start()
        assert b.cli("peers", "add", a.url).returncode == 0
        assert a.cli("peers", "add", b.url).returncode == 0
        assert b.cli("sync").returncode == 0
        old_id = a.cli("keys", "show").stdout.split()[0]

        rotated = a.cli("keys", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        new_id = a.cli("keys", "show").stdout.split()[0]
        assert new_id != old_id and (a.folder / f"node.key.{old_id}.retired").is_file()
        a.stop()
        a.start()
        pulled = b.cli("sync")
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        assert f"key {new_id}" in b.cli("peers", "list").stdout
        back = a.cli("sync")  # B now checks A's requests with the new key
        assert back.returncode == 0, back.stdout + back.stderr

        revoked = a.cli("keys", "rotate", "--compromised")
        assert revoked.returncode == 0 and "--confirm-key-change" in revoked.stdout
        third_id = a.cli("keys", "show").stdout.split()[0]
        a.stop()
        a.start()
        refused = b.cli("sync")
        assert refused.returncode != 0
        assert f"key {new_id}" in b.cli("peers", "list").stdout
        repin = b.cli("peers", "add", a.url)
        assert repin.returncode != 0 and "without an announcement" in repin.stderr
        assert len(repin.stderr.strip().splitlines()) == 1
        confirmed = b.cli("peers", "add", a.url, "--confirm-key-change")
        assert confirmed.returncode == 0 and third_id in confirmed.stdout
        assert b.cli("sync").returncode == 0
    finally:
        a.stop()
        b.stop()
