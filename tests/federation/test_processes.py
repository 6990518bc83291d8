"""Three real nodes as uvicorn processes on loopback ports, operated through the CLI.

A ← B ← C: C publishes, B pulls C, A pulls B and gets C's entries with C's
signature (A trusts B's relays). A `exchange sync` killed with SIGKILL in the
middle of a pull is followed by one that completes: nothing lost, nothing
doubled. A peer that is down makes `exchange sync` exit non-zero and shows up
in `peers list`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from tests.conftest import database_rows
from tests.helpers import MUNICIPALITIES

KEY = MUNICIPALITIES[0]["official_key"]
PUBLISH = """mutation Publish($input: PublishEntryInput!) {
  publishEntry(input: $input) { entry { id } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ProcNode:
    name: str
    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None
    log: BinaryIO | None = None
    database: str = ""  # a database URL; a SQLite file in dir when empty

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return self.database or f"sqlite://{self.dir / self.name}.db"

    def env(self) -> dict[str, str]:
        return {**os.environ, "EXCHANGE_DATABASE_URL": self.database_url,
                "EXCHANGE_NODE_URL": self.url, "EXCHANGE_NODE_NAME": f"Node {self.name}",
                "EXCHANGE_SYNC_INTERVAL": "0", "EXCHANGE_LOG_LEVEL": "WARNING"}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "exchange", *args], env=self.env(),
                              capture_output=True, text=True, timeout=300, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"exchange {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done

    def start(self) -> None:
        self.log = open(self.dir / f"{self.name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exchange", "serve", "--port", str(self.port)],
            env=self.env(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, (self.dir / f"{self.name}.log").read_text()[-3000:]
            time.sleep(0.3)
        raise AssertionError(f"node {self.name} did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def publish(self, token: str, title: str) -> str:
        r = httpx.post(self.url + "/graphql", timeout=30, headers={"Authorization": f"Bearer {token}"},
                       json={"query": PUBLISH, "variables": {"input": {
                           "kind": "PROJECT", "title": title, "summary": "Zusammenfassung",
                           "bodyMarkdown": "Text", "topics": [], "language": "de",
                           "visibility": "PUBLIC"}}})
        return str(r.json()["data"]["publishEntry"]["entry"]["id"])

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        return database_rows(self.database_url, sql)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[dict[str, ProcNode]]:
    made = {n: ProcNode(n, _free_port(), tmp_path) for n in "abc"}
    try:
        for node in made.values():
            node.start()
        yield made
    finally:
        for node in made.values():
            node.stop()


@pytest.mark.slow
def test_three_processes_relay_and_survive_a_killed_sync(nodes: dict[str, ProcNode]) -> None:
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    a.cli("peers", "add", b.url, "--trust-relayed")
    b.cli("peers", "add", a.url)
    b.cli("peers", "add", c.url)
    c.cli("peers", "add", b.url)
    token = c.cli("tokens", "create", "--publisher", KEY).stdout.strip()
    uids = {c.publish(token, f"Projekt {i}") for i in range(40)}

    done = b.cli("sync", "--peer", c.url)
    assert "40 applied" in done.stdout, done.stdout

    # kill A's sync in mid-pull, then run it again
    env = a.env()
    proc = subprocess.Popen([sys.executable, "-m", "exchange", "sync"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.5)
    proc.kill()
    proc.wait()
    done = a.cli("sync")
    assert "FAILED" not in done.stdout + done.stderr
    held = {str(r[0]) for r in a.rows("SELECT uid FROM entry WHERE deleted = 0")}
    assert held == uids
    changes = a.rows("SELECT entry_uid, version, count(*) FROM change GROUP BY entry_uid, version")
    assert len(changes) == 40 and all(r[2] == 1 for r in changes)
    origins = {r[0] for r in a.rows("SELECT origin_node FROM entry")}
    assert origins == {c.url}

    # a peer that is down: sync fails with a non-zero exit, and peers list says why
    c.stop()
    failed = b.cli("sync", "--peer", c.url, check=False)
    assert failed.returncode == 1
    assert "PEER_UNREACHABLE" in failed.stderr
    listing = b.cli("peers", "list").stdout
    assert c.url in listing and "PEER_UNREACHABLE" in listing
    # A keeps serving its catalogue whatever its peers do
    r = httpx.post(a.url + "/graphql", json={"query": "{ entries(first: 1) { totalCount } }"}, timeout=10)
    assert r.json()["data"]["entries"]["totalCount"] == 40
