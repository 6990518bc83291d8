"""Publishing for a small and a large publisher: latency per write, `/healthz` meanwhile, event-loop stalls.

    python bench/publish.py [--entries 10000] [--others 2000] [--publishes 150] [--database sqlite|postgres] [--trace]

Builds a fresh database with the register, the topics, one municipality
with one public entry (the small publisher), one with N public entries (the
large one) and `--others` entries spread over other municipalities (rows,
topic links, revisions and change rows inserted in bulk, as in
bench/api_http.py). Then starts the node as a real uvicorn process, creates
an API token for each publisher, and sends `publishEntry` mutations over
HTTP, one at a time, alternating between the two publishers, while a second
client polls `/healthz` every 20 ms.

The node runs with a probe task on its event loop that sleeps 1 ms at a time
and records how late it wakes up: the longest wake-up delay is the longest
time the loop was blocked (a callback that ran that long, or several in a
row, or the process waiting for a CPU). With `--trace` the node runs on
asyncio's own loop (not uvloop) and times every callback by the loop
thread's CPU: `trace` names each one over 5 ms by where its task resumed and
where it stopped next (the code between two awaits), and lists garbage
collections over 1 ms. The probe lives
only in this script's node process (a startup hook and a /bench/lag route
added to `create_app`), not in the node's code. Prints one JSON object:
publish p50/p95 per publisher and the ratio large/small, `/healthz` p50/p95
while writing (and idle, before), the longest event-loop stall and how many
stalls above 5 ms there were, and the server's CPU per publish.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLISH = (ROOT / "graphql" / "operations" / "Publish.graphql").read_text(encoding="utf-8")
PG_ADMIN_URL = "postgres://exchange:exchange@127.0.0.1:5432/exchange_test"
PG_BENCH_DB = "exchange_bench_publish"
SMALL_KEY = "091620000000"  # München (as a small publisher: one entry)
LARGE_KEY = "110000000000"  # Berlin (the large one)
STALL_MS = 5.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 0.95), 2), "max_ms": round(max(values), 2)}


# ---------------------------------------------------------------- data

def templates() -> list[dict[str, str]]:
    import frontmatter

    docs = [frontmatter.load(str(p)) for p in sorted((ROOT / "exchange/data/demo/entries").glob("*.md"))]
    return [{"title": str(d["title"]), "summary": str(d["summary"]), "body": d.content, "kind": str(d["kind"]),
             "language": str(d.get("language", "de"))} for d in docs]


async def generate(owners: list[int], seed: int = 11) -> None:
    """One public entry per item of `owners` (a municipality id each), written in bulk."""
    from content import render_markdown, search_document
    from exchange.models import Change, Entry, EntryTopic, Revision, Topic
    from exchange.search import index as search_index

    rng = random.Random(seed)
    tpl = templates()
    html = [render_markdown(t["body"]) for t in tpl]
    terms = [search_document(t["title"], t["summary"], t["body"], [], t["language"]) for t in tpl]
    topics = [t.id for t in await Topic.all()]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for start in range(0, len(owners), 2000):
        rows = []
        for i in range(start, min(len(owners), start + 2000)):
            k = rng.randrange(len(tpl))
            t = tpl[k]
            when = base + timedelta(minutes=i)
            rows.append(Entry(
                uid=uuid.uuid4(), kind=t["kind"] if t["kind"] != "guide" else "project", origin_node="http://bench.test",
                version=1, title=f"{t['title']} ({i})", summary=t["summary"], body_markdown=t["body"],
                body_html=html[k], language=t["language"], visibility="public", keywords=["bench"],
                municipality_id=owners[i], status=rng.choice(["completed", "running"]) if t["kind"] != "lesson" else None,
                search_terms=f"{terms[k]} n{i}", created_at=when, updated_at=when,
            ))
        await Entry.bulk_create(rows)
        ids = dict(await Entry.filter(uid__in=[r.uid for r in rows]).values_list("uid", "id"))
        await EntryTopic.bulk_create([EntryTopic(entry_id=ids[r.uid], topic_id=tid)
                                      for r in rows for tid in rng.sample(topics, rng.randint(1, 3))])
        await Revision.bulk_create([Revision(entry_id=ids[r.uid], version=1, created_at=r.created_at,
                                             envelope={"type": "entry", "entry": {"title": r.title}}, author="bench")
                                    for r in rows])
        await Change.bulk_create([Change(entry_uid=r.uid, version=1, origin_node=r.origin_node,
                                         visibility="public", created_at=r.created_at) for r in rows])
    await search_index.rebuild()


async def prepare(url: str, entries: int, others: int) -> dict[str, str]:
    """Build the database; return an API token per publisher ("small", "large")."""
    from exchange.auth import create_token
    from exchange.db import Database
    from exchange.models import Municipality
    from exchange.registry import import_register, load_snapshot
    from exchange.topics import import_topics

    db = Database(url)
    await db.open(create=not url.startswith("postgres"))
    with db.bound():
        if url.startswith("postgres"):
            await db.connection().execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await db.migrate()
        await import_register(load_snapshot())
        await import_topics()
        small = await Municipality.get(official_key=SMALL_KEY)
        large = await Municipality.get(official_key=LARGE_KEY)
        rng = random.Random(3)
        rest = [m for m, in await Municipality.filter(level="gemeinde").values_list("id") if m not in (small.id, large.id)]
        owners = [small.id] + [large.id] * entries + [rng.choice(rest) for _ in range(others)]
        rng.shuffle(owners)
        await generate(owners)
        if url.startswith("postgres"):
            await db.connection().execute_script("VACUUM ANALYZE")
        now = datetime.now(UTC)
        tokens = {name: (await create_token(key, ["publish"], now=now))[0]
                  for name, key in (("small", SMALL_KEY), ("large", LARGE_KEY))}
    await db.close()
    return tokens


async def ensure_pg_database() -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"))
    try:
        for name in (PG_BENCH_DB, "exchange"):
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB


# ---------------------------------------------------------------- the node with a loop probe

class LagProbe:
    """Sleeps `tick` seconds at a time and records how late each wake-up is (ms).

    A late wake-up is either work on the loop (the loop's thread was busy: its
    CPU time grew as much as the wall clock) or the process waiting for a CPU
    on a loaded machine. Both are reported: `longest_stall_ms` by the wall
    clock, `longest_busy_ms` by the loop thread's CPU time within one wake-up.
    """

    def __init__(self, tick: float = 0.001) -> None:
        self.tick = tick
        self.task: asyncio.Task[None] | None = None
        self.take()

    async def run(self) -> None:
        while True:
            before, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(self.tick)
            late = (time.perf_counter() - before - self.tick) * 1000
            busy = (time.thread_time() - cpu) * 1000
            self.samples += 1
            self.worst = max(self.worst, late)
            self.busiest = max(self.busiest, busy)
            if late > STALL_MS:
                self.stalls.append(round(late, 1))
            if busy > STALL_MS:
                self.busy.append(round(busy, 1))

    def take(self) -> dict[str, Any]:
        out = {"longest_stall_ms": round(getattr(self, "worst", 0.0), 1),
               "stalls_over_5ms": len(getattr(self, "stalls", [])),
               "longest_busy_ms": round(getattr(self, "busiest", 0.0), 1),
               "busy_over_5ms": len(getattr(self, "busy", [])),
               "longest_busy_stalls_ms": sorted(getattr(self, "busy", []), reverse=True)[:10],
               "samples": getattr(self, "samples", 0)}
        self.worst = self.busiest = 0.0
        self.stalls, self.busy, self.samples = [], [], 0
        return out


class CallbackTrace:
    """With --trace: every loop callback that used more than STALL_MS of the loop thread's CPU,
    named by where its task resumed and where it stopped (the code that ran between two awaits).
    Patches asyncio's Handle._run, so the node then runs on the asyncio loop, not uvloop."""

    def __init__(self) -> None:
        self.slow: dict[tuple[str, str], list[float]] = {}
        original = asyncio.events.Handle._run

        def timed(handle: asyncio.events.Handle) -> None:
            task = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
            before = self.where(task)
            cpu = time.thread_time()
            original(handle)
            took = (time.thread_time() - cpu) * 1000
            after = self.where(task) if before else repr(handle._callback)[:200]  # type: ignore[attr-defined]
            self.ran.append((round(took, 2), before, after))
            if took > STALL_MS:
                self.slow.setdefault((before, after), []).append(round(took, 1))

        asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]
        self.ran: list[tuple[float, str, str]] = []  # the callbacks of the current loop iteration
        self.iterations: list[tuple[float, list[tuple[float, str, str]]]] = []  # those over STALL_MS
        run_once = asyncio.base_events.BaseEventLoop._run_once

        def iteration(loop: asyncio.base_events.BaseEventLoop) -> None:
            self.ran = []
            cpu = time.thread_time()
            run_once(loop)
            took = (time.thread_time() - cpu) * 1000
            if took > STALL_MS:
                self.iterations.append((round(took, 1), sorted(self.ran, reverse=True)[:6]))

        asyncio.base_events.BaseEventLoop._run_once = iteration  # type: ignore[method-assign,assignment]
        self.collections: list[tuple[int, float]] = []  # (generation, ms) of garbage collections over 1 ms
        self._gc_began = 0.0

        def collected(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                self._gc_began = time.perf_counter()
            elif (took := (time.perf_counter() - self._gc_began) * 1000) > 1:
                self.collections.append((info["generation"], round(took, 1)))

        gc.callbacks.append(collected)

    @staticmethod
    def where(task: object) -> str:
        if not isinstance(task, asyncio.Task):
            return ""
        coro: Any = task.get_coro()
        frames: list[str] = []
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is None:
                break
            frames.append(f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno} {frame.f_code.co_name}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        return " > ".join(frames[-4:])

    def take(self) -> dict[str, Any]:
        rows = sorted(self.slow.items(), key=lambda kv: -max(kv[1]))
        collections, self.slow, self.collections = self.collections, {}, []
        iterations, self.iterations = sorted(self.iterations, key=lambda i: -i[0]), []
        return {
            "longest_callback_ms": max(rows[0][1]) if rows else 0.0,
            "callbacks_over_5ms": sum(len(v) for _, v in rows),
            "slow_callbacks": [{"resumed": k[0], "stopped": k[1], "count": len(v), "max_ms": max(v),
                                "median_ms": statistics.median(v)} for k, v in rows[:15]],
            "iterations_over_5ms": len(iterations),
            "longest_iterations": [{"ms": ms, "callbacks": len(ran), "largest": [
                {"ms": c[0], "resumed": c[1], "stopped": c[2]} for c in ran]} for ms, ran in iterations[:5]],
            "garbage_collections_over_1ms": len(collections),
            "longest_collections": [{"generation": g, "ms": ms} for g, ms in
                                    sorted(collections, key=lambda c: -c[1])[:10]],
        }


def serve_node(url: str, port: int) -> None:
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from exchange.app import build_node, create_app
    from exchange.db import Database
    from exchange.settings import load_settings

    settings = load_settings(os.environ)
    database = Database(url)
    if url.startswith("postgres"):  # the database exists: open it as it is (see bench/api_http.py)
        plain_open = database.open

        async def open_existing(*, create: bool = False) -> None:
            await plain_open(create=False)

        database.open = open_existing  # type: ignore[method-assign]
    node = build_node(settings, database=database)
    probe = LagProbe()
    trace = CallbackTrace() if os.environ.get("BENCH_TRACE_CALLBACKS") else None

    async def start_probe() -> None:
        probe.task = asyncio.ensure_future(probe.run())

    async def lag(request: Request) -> JSONResponse:
        return JSONResponse({**probe.take(), **({"trace": trace.take()} if trace else {})})

    node.extra["startup"].append(start_probe)
    app = create_app(settings, node=node, extra_routes=[Route("/bench/lag", lag)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", loop="asyncio" if trace else "auto")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"node {args} exited with {proc.returncode}")
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"node {args} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- load

def entry_input(t: dict[str, str], i: int, rng: random.Random) -> dict[str, Any]:
    kind = t["kind"] if t["kind"] != "guide" else "project"
    data: dict[str, Any] = {"kind": kind.upper(), "title": f"{t['title']} (neu {i})", "summary": t["summary"],
                            "bodyMarkdown": t["body"], "language": t["language"], "visibility": "PUBLIC",
                            "topics": rng.sample(["digitalisierung", "buergerservice", "bildung", "energie", "bau"], 2),
                            "keywords": ["bench", f"k{i % 17}"]}
    if kind == "project":
        data["status"] = "COMPLETED"
    return data


async def healthz_poller(client: httpx.AsyncClient, out: list[float], stop_at: asyncio.Event) -> None:
    while not stop_at.is_set():
        t0 = time.perf_counter()
        r = await client.get("/healthz")
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
        await asyncio.sleep(0.02)


async def drive(base: str, tokens: dict[str, str], publishes: int, pid: int) -> dict[str, Any]:
    rng = random.Random(5)
    tpl = templates()
    valid_topics = await topic_slugs(base)
    latencies: dict[str, list[float]] = {"small": [], "large": []}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client, \
            httpx.AsyncClient(base_url=base, timeout=60) as prober:
        idle: list[float] = []
        done = asyncio.Event()
        poller = asyncio.ensure_future(healthz_poller(prober, idle, done))
        await asyncio.sleep(3)
        done.set()
        await poller
        await client.get("/bench/lag")  # reset: startup and the idle phase are not writes
        warm = 5
        writing: list[float] = []
        done = asyncio.Event()
        poller = asyncio.ensure_future(healthz_poller(prober, writing, done))
        cpu_before = cpu_seconds(pid)
        for i in range(publishes + warm):
            for name in ("small", "large"):
                data = entry_input(tpl[rng.randrange(len(tpl))], i, rng)
                data["topics"] = [s for s in data["topics"] if s in valid_topics] or valid_topics[:1]
                t0 = time.perf_counter()
                r = await client.post("/graphql", json={"query": PUBLISH, "operationName": "Publish",
                                                         "variables": {"input": data}},
                                      headers={"Authorization": f"Bearer {tokens[name]}"})
                took = (time.perf_counter() - t0) * 1000
                body = r.json()
                if r.status_code != 200 or body.get("errors"):
                    raise RuntimeError(f"publish failed: {r.status_code} {r.text[:500]}")
                if i >= warm:
                    latencies[name].append(took)
        cpu_used = cpu_seconds(pid) - cpu_before
        done.set()
        await poller
        lag = (await client.get("/bench/lag")).json()
    small, large = summary(latencies["small"]), summary(latencies["large"])
    return {
        "publish_small": small,
        "publish_large": large,
        "p50_ratio_large_to_small": round(large["p50_ms"] / small["p50_ms"], 2),
        "p95_ratio_large_to_small": round(large["p95_ms"] / small["p95_ms"], 2),
        "server_cpu_ms_per_publish": round(cpu_used * 1000 / (2 * (publishes + warm)), 2),
        "healthz_idle": summary(idle),
        "healthz_while_writing": summary(writing),
        "event_loop_while_writing": lag,
    }


async def topic_slugs(base: str) -> list[str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.post("/graphql", json={"query": "{ topics { slug } }"})
        return [t["slug"] for t in r.json()["data"]["topics"]]


def run_database(kind: str, entries: int, others: int, publishes: int, trace: bool = False) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="exchange-bench-publish-"))
    url = f"sqlite://{workdir / 'bench.db'}" if kind == "sqlite" else asyncio.run(ensure_pg_database())
    t0 = time.perf_counter()
    tokens = asyncio.run(prepare(url, entries, others))
    out: dict[str, Any] = {"entries_small": 1, "entries_large": entries, "entries_others": others,
                           "publishes_each": publishes, "generate_s": round(time.perf_counter() - t0, 1)}
    port = free_port()
    env = {**os.environ, "EXCHANGE_DATABASE_URL": url, "EXCHANGE_NODE_URL": f"http://127.0.0.1:{port}",
           "EXCHANGE_KEY_FILE": str(workdir / "node.key"), "EXCHANGE_LOG_LEVEL": "WARNING",
           "EXCHANGE_SYNC_INTERVAL": "0", "PYTHONPATH": str(ROOT), **({"BENCH_TRACE_CALLBACKS": "1"} if trace else {})}
    node = start([sys.executable, __file__, "node", url, str(port)], env, port)
    try:
        out.update(asyncio.run(drive(f"http://127.0.0.1:{port}", tokens, publishes, node.pid)))
    finally:
        stop(node)
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "node":
        serve_node(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000, help="public entries of the large publisher")
    parser.add_argument("--others", type=int, default=2_000, help="public entries of other publishers")
    parser.add_argument("--publishes", type=int, default=150, help="measured publishes per publisher")
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--trace", action="store_true",
                        help="name the loop callbacks that ran over 5 ms (the node runs on asyncio's loop then)")
    args = parser.parse_args()
    result: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                              "load_average_at_start": os.getloadavg()[0]}
    result[args.database] = run_database(args.database, args.entries, args.others, args.publishes, args.trace)
    result["load_average_at_end"] = os.getloadavg()[0]  # others' work on the machine inflates wall times
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
