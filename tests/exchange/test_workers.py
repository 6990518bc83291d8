"""`exchange serve --workers 2` as real processes: an entry published through one worker shows in
`peerMatches`, `totalCount` and the search facets of every answer within two seconds, whichever
worker gives it (each worker follows the change feed, `exchange.follow`); `/metrics` counts the
requests of both workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.helpers import MUNICIPALITIES

WIGGENSBACH, KISSELBACH = MUNICIPALITIES[1]["official_key"], MUNICIPALITIES[2]["official_key"]
PUBLISH = """mutation Publish($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id } } }"""
READ = """query Read($key: String!) {
  peerMatches(officialKey: $key, about: "Parkplatzsensoren mit LoRaWAN", first: 5) {
    municipality { officialKey } reasons { signal score } }
  entries(first: 1) { totalCount } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    yield from _serve(tmp_path, {})


# A busy machine, where a worker takes longer than uvicorn's 5 s health check to start: each
# spawned worker process sleeps 8 s before it starts (the first thing Python runs, sitecustomize).
SLOW_START = """import sys, time
if "--multiprocessing-fork" in sys.argv:
    time.sleep(8)
"""


@pytest.fixture
def slow_starting_workers(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SLOW_START)
    path = os.pathsep.join(p for p in (str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")) if p)
    yield from _serve(tmp_path, {"PYTHONPATH": path})


def _serve(tmp_path: Path, extra: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path / 'node.db'}", "EXCHANGE_NODE_URL": url,
           "EXCHANGE_SYNC_INTERVAL": "0", "EXCHANGE_LOG_LEVEL": "INFO", **extra}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(port), "--workers", "2"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 180
            while log_path.read_text().count("Application startup complete") < 2:  # both workers serve
                assert proc.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "the workers did not start: " + log_path.read_text()[-3000:]
                time.sleep(0.3)
            yield url, env
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _read(url: str) -> tuple[bool, int, int]:
    """(Kisselbach among the topic matches, totalCount, entries in the search page's Verkehr facet)
    from one answer, each on a connection of its own (the workers share the listening socket)."""
    r = httpx.post(url + "/graphql", json={"query": READ, "variables": {"key": WIGGENSBACH}}, timeout=30)
    data = r.json()["data"]
    found = any(m["municipality"]["officialKey"] == KISSELBACH
                and any(s["signal"] == "topics" and s["score"] > 0 for s in m["reasons"])
                for m in data["peerMatches"])
    page = httpx.get(url + "/search", params={"q": "Parkplatzsensoren"}, timeout=30,
                     headers={"Accept-Language": "de"}).text
    return found, data["entries"]["totalCount"], page.count("Parkplatzsensoren mit LoRaWAN")


@pytest.mark.slow
def test_a_new_entry_shows_in_every_workers_answers_within_two_seconds(
        workers: tuple[str, dict[str, str]]) -> None:
    url, env = workers
    token = subprocess.run([sys.executable, "-m", "exchange", "tokens", "create", "--publisher", KISSELBACH],
                           env=env, capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    with ThreadPoolExecutor(8) as pool:
        before = list(pool.map(lambda _: _read(url), range(16)))  # every worker has loaded and answered
    assert all(not found and total == 0 for found, total, _ in before)

    r = httpx.post(url + "/graphql", timeout=30, headers={"Authorization": f"Bearer {token}"}, json={
        "query": PUBLISH, "variables": {"input": {
            "kind": "LESSON", "title": "Parkplatzsensoren mit LoRaWAN", "summary": "Sensoren an jedem Stellplatz.",
            "bodyMarkdown": "Parkplatzsensoren funken über LoRaWAN.", "topics": ["verkehr"],
            "language": "de", "visibility": "PUBLIC"}}})
    assert r.json()["data"]["publishEntry"]["entry"]["id"]
    time.sleep(2.0)
    with ThreadPoolExecutor(8) as pool:
        after = list(pool.map(lambda _: _read(url), range(40)))
    assert [found for found, _, _ in after] == [True] * 40
    assert [total for _, total, _ in after] == [1] * 40
    assert all(shown >= 1 for _, _, shown in after)

    # /metrics adds up the workers: every Read of either worker is counted once
    metrics = httpx.get(url + "/metrics", timeout=30).text
    reads = [line for line in metrics.splitlines()
             if line.startswith('exchange_graphql_operations_total{name="Read",type="query"}')]
    assert reads and float(reads[0].split()[-1]) == 16 + 40, reads


@pytest.mark.slow
def test_workers_that_start_slowly_are_not_killed(slow_starting_workers: tuple[str, dict[str, str]],
                                                   tmp_path: Path) -> None:
    url, _ = slow_starting_workers
    assert httpx.get(url + "/healthz", timeout=30).status_code == 200
    log = (tmp_path / "serve.log").read_text()
    assert "died" not in log and log.count("Started server process") == 2, log[-3000:]
