"""Requests/s of the Catalogue operation with 1, 2 and 4 server processes (`exchange serve --workers N`).

    python bench/workers.py [--entries 20000] [--database postgres] [--rounds 3] [--seconds 8] [--connections 16]

A fresh database (PostgreSQL by default) with the register, the topics and N
generated entries, built as bench/api_http.py builds it. Three real nodes on
that one database, started as an operator would (`exchange serve --workers N`
for N = 1, 2, 4, each on its own port); idle nodes only wait for the change
feed's NOTIFY. Then in rounds, one node after the other, a load generator in
its own process (async httpx, `--connections` at once) sends the Catalogue
operation (first 50, with totalCount) for `--seconds`; the servers' CPU time
per request sums the uvicorn parent and its worker processes (from /proc).
Prints one JSON object: per N the median requests/s over the rounds, each
round's figures, and the ratios to one worker.

On a machine with two cores shared with the load generator and the database
server, the figure is expected to level off at two workers. The load average
is printed at start and end: a busy machine lowers every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import api_http  # bench/ is not a package: found by the path above

WORKERS = (1, 2, 4)
api_http.PG_BENCH_DB = "exchange_bench_workers"  # its own database: bench/api_http.py may run meanwhile


def process_tree(pid: int) -> list[int]:
    """pid and every descendant (uvicorn's workers, and multiprocessing's helpers)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(process_tree(int(child)))
    return found


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in process_tree(pid):
        try:
            total += api_http.cpu_seconds(p)
        except OSError:  # a process that ended between listing and reading
            pass
    return total


def measure(server: subprocess.Popen[bytes], url: str, body: dict[str, Any], connections: int,
            seconds: float, max_requests: int) -> dict[str, Any]:
    spec = {"url": url, "requests": api_http.requests_of([body]), "connections": connections,
            "seconds": seconds, "max": max_requests}
    loadgen = [sys.executable, str(ROOT / "bench" / "loadgen.py"), "-"]  # reads its spec from stdin
    subprocess.run(loadgen, input=json.dumps({**spec, "seconds": 1.5, "max": 400}), text=True, check=True,
                   capture_output=True)
    before = tree_cpu_seconds(server.pid)
    done = subprocess.run(loadgen, input=json.dumps(spec), check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed: {done.stderr.strip()[-2000:]}")
    used = tree_cpu_seconds(server.pid) - before
    result: dict[str, Any] = json.loads(done.stdout)
    result["server_cpu_ms_per_request"] = round(used * 1000 / max(1, result["requests"]), 2)
    result["load_average"] = round(os.getloadavg()[0], 2)
    return result


def start(workers: int, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(port),
                                 "--workers", str(workers)], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"exchange serve --workers {workers} exited: {log.read_text()[-2000:]}")
        time.sleep(0.3)
    api_http.stop(proc)
    raise RuntimeError(f"exchange serve --workers {workers} did not start")


def run(kind: str, entries: int, rounds: int, seconds: float, connections: int, max_requests: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="exchange-bench-workers-"))
    url = f"sqlite://{workdir / 'bench.db'}" if kind == "sqlite" else asyncio.run(api_http.ensure_pg_database())
    t0 = time.perf_counter()
    asyncio.run(api_http.prepare(url, entries))
    out: dict[str, Any] = {"database": kind, "entries": entries, "connections": connections,
                           "seconds_per_measurement": seconds, "generate_s": round(time.perf_counter() - t0, 1)}
    body = {"query": api_http.CATALOGUE, "operationName": "Catalogue", "variables": {"first": 50}}
    servers: dict[int, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for n in WORKERS:
            port = api_http.free_port()
            node_url = f"http://127.0.0.1:{port}"
            env = {**os.environ, "EXCHANGE_DATABASE_URL": url, "EXCHANGE_NODE_URL": node_url,
                   "EXCHANGE_KEY_FILE": str(workdir / "node.key"), "EXCHANGE_LOG_LEVEL": "WARNING",
                   "EXCHANGE_SYNC_INTERVAL": "0"}
            servers[n] = (start(n, env, port, workdir / f"workers-{n}.log"), node_url)
            first = httpx.post(node_url + "/graphql", json=body, timeout=60).json()
            assert len(first["data"]["entries"]["edges"]) == 50, first
        runs: dict[int, list[dict[str, Any]]] = {n: [] for n in WORKERS}
        for r in range(rounds):
            order = WORKERS if r % 2 == 0 else tuple(reversed(WORKERS))  # no worker count always goes first
            for n in order:
                proc, node_url = servers[n]
                runs[n].append(measure(proc, node_url, body, connections, seconds, max_requests))
                print(json.dumps({"workers": n, "round": r, **runs[n][-1]}), file=sys.stderr, flush=True)
    finally:
        for proc, _ in servers.values():
            api_http.stop(proc)
    for n in WORKERS:
        out[f"workers_{n}"] = {
            "rps_median": round(statistics.median(m["rps"] for m in runs[n]), 1),
            "p50_ms_median": round(statistics.median(m["p50_ms"] for m in runs[n]), 2),
            "server_cpu_ms_per_request_median": round(
                statistics.median(m["server_cpu_ms_per_request"] for m in runs[n]), 2),
            "errors": sum(m["errors"] for m in runs[n]),
            "rounds": runs[n],
        }
    for n in WORKERS[1:]:
        out[f"rps_ratio_{n}_to_1"] = round(out[f"workers_{n}"]["rps_median"] / out["workers_1"]["rps_median"], 2)
    shutil.rmtree(workdir, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measurement")
    parser.add_argument("--connections", type=int, default=16, help="requests in flight at once")
    parser.add_argument("--max-requests", type=int, default=50_000, help="cap per measurement")
    args = parser.parse_args()
    result: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                              "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    result.update(run(args.database, args.entries, args.rounds, args.seconds, args.connections, args.max_requests))
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
