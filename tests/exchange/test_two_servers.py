"""Two server processes of one node on one database (the test database: PostgreSQL when
EXCHANGE_TEST_DATABASE_URL names one, else a SQLite file): what is published through one, and
what `exchange sync` writes into the database from the command line, shows through the other in
`peerMatches`, `totalCount` and the search facets within 2 s.

The first process is `exchange serve`; the second runs the same app under uvicorn directly
(`uvicorn exchange.asgi:app`), as an operator running a second server on another port would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import process_database
from tests.helpers import MUNICIPALITIES

WIGGENSBACH, KISSELBACH = MUNICIPALITIES[1]["official_key"], MUNICIPALITIES[2]["official_key"]
FLENSBURG = MUNICIPALITIES[0]["official_key"]
PUBLISH = """mutation Publish($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id } } }"""
READ = """query Read($key: String!, $about: String!) {
  peerMatches(officialKey: $key, about: $about, first: 5) { municipality { officialKey } reasons { signal score } }
  entries(first: 1) { totalCount } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    args: list[str]
    env: dict[str, str]
    log: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, url: str) -> None:
        with open(self.log, "ab") as out:
            self.procs.append(subprocess.Popen(self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True))
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.procs[-1].poll() is None and time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.3)

    def stop(self) -> None:
        for proc in self.procs:
            with_group = os.getpgid(proc.pid) if proc.poll() is None else None
            if with_group is not None:
                os.killpg(with_group, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(with_group, signal.SIGKILL)
                    proc.wait()


def _env(tmp_path: Path, name: str, url: str, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    return {**env, "EXCHANGE_DATABASE_URL": database, "EXCHANGE_NODE_URL": url,
            "EXCHANGE_KEY_FILE": str(tmp_path / f"{name}.key"), "EXCHANGE_SYNC_INTERVAL": "0",
            "EXCHANGE_LOG_LEVEL": "WARNING"}


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[str, str, str, dict[str, str], dict[str, str]]]:
    """(first URL, second URL, peer URL, the node's environment, the peer's environment)."""
    first, second, peer = _free_port(), _free_port(), _free_port()
    url, peer_url = f"http://127.0.0.1:{first}", f"http://127.0.0.1:{peer}"
    env = _env(tmp_path, "node", url, process_database(tmp_path, "node"))
    peer_env = _env(tmp_path, "peer", peer_url, process_database(tmp_path, "peer"))
    serve = Proc([sys.executable, "-m", "exchange", "serve", "--port", str(first)], env, tmp_path / "first.log")
    plain = Proc([sys.executable, "-m", "uvicorn", "exchange.asgi:app", "--port", str(second),
                  "--http", "exchange.server:GuardedProtocol"], env, tmp_path / "second.log")
    other = Proc([sys.executable, "-m", "exchange", "serve", "--port", str(peer)], peer_env, tmp_path / "peer.log")
    try:
        serve.start(url)  # migrates and loads the register first
        plain.start(f"http://127.0.0.1:{second}")
        other.start(peer_url)
        yield url, f"http://127.0.0.1:{second}", peer_url, env, peer_env
    finally:
        for proc in (serve, plain, other):
            proc.stop()


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "exchange", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _publish(url: str, token: str, title: str) -> None:
    r = httpx.post(url + "/graphql", timeout=30, headers={"Authorization": f"Bearer {token}"}, json={
        "query": PUBLISH, "variables": {"input": {
            "kind": "LESSON", "title": title, "summary": "Sensoren an jedem Stellplatz.",
            "bodyMarkdown": f"{title}: Sensoren funken über LoRaWAN.", "topics": ["verkehr"],
            "language": "de", "visibility": "PUBLIC"}}})
    assert r.json()["data"]["publishEntry"]["entry"]["id"], r.text


def _state(url: str, about: str, key: str) -> tuple[bool, int, int]:
    """(key among the topic matches for `about`, totalCount, the search page's Verkehr count)."""
    data = httpx.post(url + "/graphql", json={"query": READ, "variables": {"key": WIGGENSBACH, "about": about}}, timeout=30).json()["data"]
    found = any(m["municipality"]["officialKey"] == key
                and any(s["signal"] == "topics" and s["score"] > 0 for s in m["reasons"])
                for m in data["peerMatches"])
    page = httpx.get(url + "/search", params={"topic": "verkehr"}, headers={"Accept-Language": "de"}, timeout=30)
    assert page.status_code == 200
    return found, data["entries"]["totalCount"], page.text.count("Sensoren an jedem Stellplatz.")


def _within(seconds: float, url: str, about: str, key: str, expected: tuple[bool, int, int]) -> float:
    started = time.monotonic()
    while (state := _state(url, about, key)) != expected:
        assert time.monotonic() - started < seconds, f"after {seconds} s: {state}, expected {expected}"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.postgres
def test_two_servers_and_a_command_line_sync_on_one_database_agree_within_two_seconds(
        servers: tuple[str, str, str, dict[str, str], dict[str, str]]) -> None:
    first, second, peer, env, peer_env = servers
    token = _cli(env, "tokens", "create", "--publisher", KISSELBACH).strip()
    assert _state(second, "Parkplatzsensoren", KISSELBACH) == (False, 0, 0)

    _publish(first, token, "Parkplatzsensoren mit LoRaWAN")
    _within(2.0, second, "Parkplatzsensoren", KISSELBACH, (True, 1, 1))

    # the peer publishes; `exchange sync` on the command line writes it into the shared database
    _cli(env, "peers", "add", peer)
    _cli(peer_env, "peers", "add", first)
    peer_token = _cli(peer_env, "tokens", "create", "--publisher", FLENSBURG).strip()
    _publish(peer, peer_token, "Parkhaussensoren am Hafen")
    assert _state(second, "Parkhaussensoren", FLENSBURG)[:2] == (False, 1)
    assert "1 applied" in _cli(env, "sync")
    for server in (first, second):  # neither server wrote it: both follow the change feed
        _within(2.0, server, "Parkhaussensoren", FLENSBURG, (True, 2, 2))
