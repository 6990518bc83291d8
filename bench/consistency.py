"""Benchmark: how long a write through one server process takes to show through another, as JSON.

Two server processes of one node on one database (`exchange serve`, and the same
app under `uvicorn exchange.asgi:app` on another port), SQLite by default or the
PostgreSQL database given with `--database`. For each of `--entries` entries,
published one after another through the first process, the time from the
publish answer until the second answers with it: in `totalCount` (counted from
the database, following the change feed on every request) and in `peerMatches`
(the in-memory matching profiles, which `exchange.follow` keeps current: polling
the feed every second, woken at once by PostgreSQL's NOTIFY). Each entry brings
a new word, so the second process matches on it only once its profiles have it.

    python bench/consistency.py                       # SQLite, 20 entries
    python bench/consistency.py --database postgres://exchange:exchange@127.0.0.1/exchange_bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

KEY, ASKING = "071405008068", "097800146146"  # Kisselbach publishes; Wiggensbach asks for peers
WORDS = ("Feuerwehr", "Bücherei", "Friedhof", "Schwimmbad", "Wasserwerk", "Kläranlage", "Radweg",
         "Spielplatz", "Marktplatz", "Rathaus", "Bauhof", "Kindergarten", "Turnhalle", "Bahnhof",
         "Parkhaus", "Sportplatz", "Stadtwald", "Wochenmarkt", "Freibad", "Kunsthalle")
PUBLISH = """mutation Publish($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id } } }"""
READ = """query Read($key: String!, $about: String!) {
  peerMatches(officialKey: $key, about: $about, first: 5) { municipality { officialKey } reasons { signal score } }
  entries(first: 1) { totalCount } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"the server at {url} stopped")
        time.sleep(0.3)
    raise SystemExit(f"the server at {url} did not start")


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_s": round(statistics.median(ordered), 3), "p95_s": round(p95, 3), "max_s": round(ordered[-1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20, choices=range(1, len(WORDS) + 1), metavar="N")
    parser.add_argument("--database", default="", help="a postgres:// URL (its database is emptied); default SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exchange-consistency-") as tmp:
        first, second = _free_port(), _free_port()
        url = f"http://127.0.0.1:{first}"
        database = args.database or f"sqlite://{Path(tmp) / 'node.db'}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")},
               "EXCHANGE_DATABASE_URL": database, "EXCHANGE_NODE_URL": url,
               "EXCHANGE_KEY_FILE": str(Path(tmp) / "node.key"), "EXCHANGE_SYNC_INTERVAL": "0",
               "EXCHANGE_LOG_LEVEL": "WARNING"}
        if args.database:
            subprocess.run(["psql", args.database.replace("postgres://", "postgresql://", 1), "-qc",
                            "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"], check=True, capture_output=True)
        log = open(Path(tmp) / "servers.log", "wb")  # noqa: SIM115 - closed below
        procs = []
        try:
            procs.append(subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(first)],
                                          env=env, stdout=log, stderr=subprocess.STDOUT))
            _wait(url, procs[-1])
            procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "exchange.asgi:app", "--port", str(second),
                                           "--http", "exchange.server:GuardedProtocol"],
                                          env=env, stdout=log, stderr=subprocess.STDOUT))
            other = f"http://127.0.0.1:{second}"
            _wait(other, procs[-1])
            token = subprocess.run([sys.executable, "-m", "exchange", "tokens", "create", "--publisher", KEY],
                                   env=env, capture_output=True, text=True, check=True).stdout.strip()
            counted: list[float] = []
            matched: list[float] = []
            with httpx.Client(timeout=30) as client:
                for i, word in enumerate(WORDS[:args.entries]):
                    r = client.post(url + "/graphql", headers={"Authorization": f"Bearer {token}"}, json={
                        "query": PUBLISH, "variables": {"input": {
                            "kind": "LESSON", "title": f"Sensoren im {word}", "summary": f"{word}: was half.",
                            "bodyMarkdown": f"Im {word} messen Sensoren.", "topics": [], "language": "de",
                            "visibility": "PUBLIC"}}})
                    published = time.monotonic()
                    assert r.json()["data"]["publishEntry"]["entry"]["id"], r.text
                    seen_count = None
                    while True:
                        data = client.post(other + "/graphql", json={"query": READ, "variables": {
                            "key": ASKING, "about": word}}).json()["data"]
                        if seen_count is None and data["entries"]["totalCount"] == i + 1:
                            seen_count = time.monotonic() - published
                        if any(m["municipality"]["officialKey"] == KEY
                               and any(s["signal"] == "topics" and s["score"] > 0 for s in m["reasons"])
                               for m in data["peerMatches"]):
                            break
                        if time.monotonic() - published > 30:
                            raise SystemExit(f"entry {i} did not show in the other process within 30 s")
                        time.sleep(0.01)
                    matched.append(time.monotonic() - published)
                    counted.append(seen_count if seen_count is not None else matched[-1])
                    time.sleep(0.2)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            log.close()
    print(json.dumps({
        "benchmark": "consistency between two server processes",
        "database": "postgres" if args.database else "sqlite",
        "entries": args.entries,
        "total_count_lag": _percentiles(counted),
        "peer_matches_lag": _percentiles(matched),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }, indent=2))


if __name__ == "__main__":
    main()
