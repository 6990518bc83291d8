"""Benchmark: how long a new entry takes from C through B to A, printed as JSON.

Three real `exchange serve` processes on loopback (SQLite), chained C -> B -> A
(A trusts B's relays), each pulling its peers every 300 s on schedule: only
the signed "I have news" hint (`federation.hints`) makes them pull sooner.
C publishes `--entries` entries one after another over GraphQL; for each,
the time from the publish answer to A answering `entry(id)` with it (polled
every 10 ms). Reports p50, p95 and max, and the same for B (one hop).

    python bench/propagation.py               # 20 entries
    python bench/propagation.py --entries 5   # a smoke run
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

KEY = "071405008068"  # Kisselbach (Rhein-Hunsrück-Kreis), from the bundled register
PUBLISH = """mutation Publish($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id } } }"""
ENTRY = "query($id: ID!) { entry(id: $id) { id } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    def __init__(self, name: str, folder: Path) -> None:
        self.name, self.port = name, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "EXCHANGE_DATABASE_URL": f"sqlite://{folder / name}.db",
                    "EXCHANGE_NODE_URL": self.url, "EXCHANGE_NODE_NAME": f"Node {name}",
                    "EXCHANGE_KEY_FILE": str(folder / f"{name}.key"),
                    "EXCHANGE_SYNC_INTERVAL": "300", "EXCHANGE_LOG_LEVEL": "WARNING"}
        self.log = open(folder / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "exchange", *args], env=self.env, capture_output=True,
                              text=True, timeout=300, check=False)
        if done.returncode:
            raise SystemExit(f"exchange {' '.join(args)} failed on {self.name}: {done.stderr}")
        return done.stdout

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(self.port)],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"node {self.name} did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def has(self, client: httpx.Client, uid: str) -> bool:
        r = client.post(self.url + "/graphql", json={"query": ENTRY, "variables": {"id": uid}})
        return r.json()["data"]["entry"] is not None


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_s": round(statistics.median(ordered), 3), "p95_s": round(p95, 3), "max_s": round(ordered[-1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one entry may take")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exchange-propagation-") as tmp:
        nodes = {n: Node(n, Path(tmp)) for n in "abc"}
        a, b, c = nodes["a"], nodes["b"], nodes["c"]
        try:
            for node in nodes.values():
                node.start()
            a.cli("peers", "add", b.url, "--trust-relayed")
            b.cli("peers", "add", a.url)
            b.cli("peers", "add", c.url)
            c.cli("peers", "add", b.url)
            for node in nodes.values():  # first pulls now; the scheduled ones come in 300 s
                node.cli("sync")
            token = c.cli("tokens", "create", "--publisher", KEY).strip()
            to_a: list[float] = []
            to_b: list[float] = []
            with httpx.Client(timeout=10) as client:
                for i in range(args.entries):
                    r = client.post(c.url + "/graphql", headers={"Authorization": f"Bearer {token}"}, json={
                        "query": PUBLISH, "variables": {"input": {
                            "kind": "PROJECT", "title": f"Projekt {i}", "summary": "Zusammenfassung",
                            "bodyMarkdown": "Text", "topics": [], "language": "de", "visibility": "PUBLIC"}}})
                    published = time.monotonic()
                    uid = r.json()["data"]["publishEntry"]["entry"]["id"]
                    seen_b = None
                    while not a.has(client, uid):
                        if seen_b is None and b.has(client, uid):
                            seen_b = time.monotonic() - published
                        if time.monotonic() - published > args.timeout:
                            raise SystemExit(f"entry {i} did not reach A within {args.timeout} s")
                        time.sleep(0.01)
                    to_a.append(time.monotonic() - published)
                    to_b.append(seen_b if seen_b is not None else to_a[-1])
                    time.sleep(0.3)  # entries one at a time, not one batch
        finally:
            for node in nodes.values():
                node.stop()
    print(json.dumps({
        "benchmark": "propagation",
        "entries": args.entries,
        "scheduled_interval_s": 300,
        "c_to_a": _percentiles(to_a),
        "c_to_b": _percentiles(to_b),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }, indent=2))


if __name__ == "__main__":
    main()
