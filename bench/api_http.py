"""GraphQL API over HTTP: requests/s, p50, p99 and server CPU, against a hand-written SQL floor.

    python bench/api_http.py [--entries 100000] [--database sqlite,postgres] [--seconds 8]

For each database: a fresh database with the register, the topics and N
generated entries (rows, topic links, revisions and change rows inserted in
bulk), then two real uvicorn processes with one worker each on loopback:
`exchange serve` (the node) and the floor, a tiny Starlette endpoint that
answers the same Catalogue page (first 50, with totalCount) with one
hand-written SQL query (json_group_array on SQLite, json_agg on PostgreSQL)
through the same driver. A load generator in a separate process (async
httpx, bounded in count and time) sends the Catalogue operation and the
Entry operation at 1 and at 10 connections, the Catalogue page with one field
the SQL compiler (exchange/api/compile) does not know, so that it is answered
field by field as before the compiler, and the Catalogue page over GET,
plain and conditional (If-None-Match with the ETag of an unchanged state:
304 without executing); the server's CPU time per request comes from /proc
of its pid. Prints one JSON object.

The machine is shared and noisy: compare the node with the floor of the
same run (`catalogue_vs_floor_at_10`), not numbers across runs. A second floor,
`floor_cached_count`, counts once at startup as the node's per-change cache
does: on SQLite the count scans every (wide) entry row, which dominates the
plain floor at 100,000 entries.
"""

from __future__ import annotations

import argparse
import asyncio
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

CATALOGUE = (ROOT / "graphql" / "operations" / "Catalogue.graphql").read_text(encoding="utf-8")
ENTRY = (ROOT / "graphql" / "operations" / "Entry.graphql").read_text(encoding="utf-8")
PG_ADMIN_URL = "postgres://exchange:exchange@127.0.0.1:5432/exchange_test"
PG_BENCH_DB = "exchange_bench_api"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ---------------------------------------------------------------- data

async def generate(n: int, seed: int = 7) -> None:
    """N public entries from the demo texts, publishers drawn from the register and organisations."""
    import frontmatter

    from content import render_markdown, search_document
    from exchange.models import (
        Change,
        Entry,
        EntryTopic,
        Municipality,
        Organisation,
        Revision,
        Topic,
    )
    from exchange.search import index as search_index

    rng = random.Random(seed)
    docs = [frontmatter.load(str(p)) for p in sorted((ROOT / "exchange/data/demo/entries").glob("*.md"))]
    tpl = [{"title": str(d["title"]), "summary": str(d["summary"]), "body": d.content, "kind": str(d["kind"]),
            "language": str(d.get("language", "de")), "html": render_markdown(d.content)} for d in docs]
    terms = [search_document(t["title"], t["summary"], t["body"], [], t["language"]) for t in tpl]
    topics = [t.id for t in await Topic.all()]
    munis = [m for m, in await Municipality.filter(level="gemeinde").values_list("id")]
    orgs = [o for o, in await Organisation.all().values_list("id")]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    projects: list[uuid.UUID] = []
    for start in range(0, n, 2000):
        rows = []
        for i in range(start, min(n, start + 2000)):
            t = tpl[rng.randrange(len(tpl))]
            when = base + timedelta(minutes=i)
            by_org = orgs and t["kind"] == "guide"
            rows.append(Entry(
                uid=uuid.uuid4(), kind=t["kind"], origin_node="http://bench.test", version=1,
                title=f"{t['title']} ({i})", summary=t["summary"], body_markdown=t["body"], body_html=t["html"],
                language=t["language"], visibility="public", keywords=["bench"],
                municipality_id=None if by_org else rng.choice(munis),
                organisation_id=rng.choice(orgs) if by_org else None,
                status="completed" if t["kind"] == "project" else None,
                review_state="published" if t["kind"] == "guide" else None,
                project_uid=rng.choice(projects) if t["kind"] == "lesson" and projects else None,
                search_terms=f"{terms[tpl.index(t)]} n{i}", created_at=when, updated_at=when,
            ))
        await Entry.bulk_create(rows)
        ids = dict(await Entry.filter(uid__in=[r.uid for r in rows]).values_list("uid", "id"))
        projects.extend(r.uid for r in rows if r.kind == "project")
        await EntryTopic.bulk_create([EntryTopic(entry_id=ids[r.uid], topic_id=tid)
                                      for r in rows for tid in rng.sample(topics, rng.randint(1, 3))])
        await Revision.bulk_create([Revision(entry_id=ids[r.uid], version=1, created_at=r.created_at,
                                             envelope={"type": "entry", "entry": {"title": r.title}}, author="bench")
                                    for r in rows])
        await Change.bulk_create([Change(entry_uid=r.uid, version=1, origin_node=r.origin_node,
                                         visibility="public", created_at=r.created_at) for r in rows])
    await search_index.rebuild()


async def prepare(url: str, entries: int) -> list[str]:
    """Build the database; return some entry ids for the Entry operation."""
    from exchange.db import Database
    from exchange.demo import load_organisations
    from exchange.models import Entry
    from exchange.registry import import_register, load_snapshot
    from exchange.topics import import_topics

    db = Database(url)
    await db.open(create=not url.startswith("postgres"))  # the PostgreSQL database is made by ensure_pg_database
    with db.bound():
        if url.startswith("postgres"):
            await db.connection().execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await db.migrate()
        await import_register(load_snapshot())
        await import_topics()
        await load_organisations()
        await generate(entries)
        if url.startswith("postgres"):
            await db.connection().execute_script("VACUUM ANALYZE")  # as autovacuum would: index-only counts
        ids = [str(u) for u, in await Entry.all().order_by("-id").limit(200).values_list("uid")]
    await db.close()
    return ids


async def ensure_pg_database() -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"))
    try:
        # `exchange serve` opens its database with create=True, and tortoise then connects
        # to the role's default database first: make sure both exist
        for name in (PG_BENCH_DB, "exchange"):
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB


# ---------------------------------------------------------------- the floor

FLOOR_SQLITE = """
WITH page AS MATERIALIZED (SELECT e.* FROM entry e WHERE e.visibility = 'public' AND e.deleted = 0
                           ORDER BY e.updated_at DESC, e.id DESC LIMIT 51)
SELECT json_object(
  'totalCount', (SELECT count(*) FROM entry e WHERE e.visibility = 'public' AND e.deleted = 0),
  'pageInfo', json_object('hasNextPage', json((SELECT CASE WHEN count(*) > 50 THEN 'true' ELSE 'false' END FROM page)),
                          'endCursor', (SELECT updated_at || '|' || id FROM (SELECT * FROM page LIMIT 50) ORDER BY updated_at ASC, id ASC LIMIT 1)),
  'edges', (SELECT json_group_array(json_object('cursor', p.updated_at || '|' || p.id, 'node', json_object(
      'id', p.uid, 'kind', upper(p.kind), 'title', p.title, 'summary', p.summary, 'language', p.language,
      'visibility', upper(p.visibility), 'version', p.version, 'originNode', p.origin_node, 'updatedAt', p.updated_at,
      'topics', json((SELECT json_group_array(json_object('slug', t.slug, 'label', t.label_de))
                      FROM entry_topic et JOIN topic t ON t.id = et.topic_id WHERE et.entry_id = p.id)),
      'publisher', json(CASE WHEN p.municipality_id IS NOT NULL
          THEN (SELECT json_object('__typename', 'Municipality', 'name', m.name) FROM municipality m WHERE m.id = p.municipality_id)
          ELSE (SELECT json_object('__typename', 'Organisation', 'name', o.name) FROM organisation o WHERE o.id = p.organisation_id) END))))
    FROM (SELECT * FROM page LIMIT 50) p)) AS body
"""

FLOOR_POSTGRES = """
WITH page AS (SELECT e.* FROM entry e WHERE e.visibility = 'public' AND e.deleted = false
              ORDER BY e.updated_at DESC, e.id DESC LIMIT 51),
     shown AS (SELECT * FROM page ORDER BY updated_at DESC, id DESC LIMIT 50)
SELECT json_build_object(
  'totalCount', (SELECT count(*) FROM entry e WHERE e.visibility = 'public' AND e.deleted = false),
  'pageInfo', json_build_object('hasNextPage', (SELECT count(*) > 50 FROM page),
                                'endCursor', (SELECT updated_at::text || '|' || id FROM shown ORDER BY updated_at, id LIMIT 1)),
  'edges', (SELECT json_agg(json_build_object('cursor', p.updated_at::text || '|' || p.id, 'node', json_build_object(
      'id', p.uid, 'kind', upper(p.kind), 'title', p.title, 'summary', p.summary, 'language', p.language,
      'visibility', upper(p.visibility), 'version', p.version, 'originNode', p.origin_node, 'updatedAt', p.updated_at,
      'topics', (SELECT coalesce(json_agg(json_build_object('slug', t.slug, 'label', t.label_de)), '[]'::json)
                 FROM entry_topic et JOIN topic t ON t.id = et.topic_id WHERE et.entry_id = p.id),
      'publisher', CASE WHEN p.municipality_id IS NOT NULL
          THEN (SELECT json_build_object('__typename', 'Municipality', 'name', m.name) FROM municipality m WHERE m.id = p.municipality_id)
          ELSE (SELECT json_build_object('__typename', 'Organisation', 'name', o.name) FROM organisation o WHERE o.id = p.organisation_id) END))
      ORDER BY p.updated_at DESC, p.id DESC)
    FROM shown p))::text AS body
"""


def floor_app(url: str, cached_count: bool = False) -> Any:
    """The floor: one SQL query builds the whole response body.

    With `cached_count`, totalCount is counted once at startup and passed in, the
    way the node serves it from its per-change cache: the page alone is the floor.
    """
    import contextlib

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from exchange.db import Database

    db = Database(url)
    postgres = url.startswith("postgres")
    sql = FLOOR_POSTGRES if postgres else FLOOR_SQLITE
    count_sql = sql.split("'totalCount', ", 1)[1].split("),\n", 1)[0] + ")"
    args: list[Any] = []
    if cached_count:
        sql = sql.replace(count_sql, "$1::bigint" if postgres else "?")

    async def answer(request: Request) -> Response:
        await request.body()
        with db.bound():
            _, rows = await db.connection().execute_query(sql, args)
        body = dict(rows[0])["body"]
        return Response(b'{"data":{"entries":' + body.encode() + b"}}", media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        await db.open()
        if cached_count:
            with db.bound():
                _, rows = await db.connection().execute_query("SELECT " + count_sql + " AS n")
            args.append(int(dict(rows[0])["n"]))
        yield
        await db.close()

    return Starlette(routes=[Route("/graphql", answer, methods=["POST"])], lifespan=lifespan)


# ---------------------------------------------------------------- load and measurement

async def load(url: str, bodies: list[dict[str, Any]], connections: int, seconds: float, max_requests: int) -> dict[str, Any]:
    """Send bodies round-robin from `connections` workers; latencies in ms."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + seconds
        counter = iter(range(max_requests))

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                body = bodies[i % len(bodies)]
                t0 = time.perf_counter()
                if "params" in body:  # GraphQL over GET, maybe conditional: expects body["status"]
                    r = await client.get("/graphql", params=body["params"], headers=body.get("headers", {}))
                    failed = r.status_code != body.get("status", 200)
                else:
                    r = await client.post("/graphql", json=body)
                    failed = r.status_code != 200 or b'"errors"' in r.content
                latencies.append((time.perf_counter() - t0) * 1000)
                if failed:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return {"requests": len(latencies), "errors": errors, "seconds": round(elapsed, 2),
            "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 2), "p99_ms": round(percentile(latencies, 0.99), 2)}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(server: subprocess.Popen[bytes], url: str, bodies: list[dict[str, Any]], connections: int,
            seconds: float, max_requests: int) -> dict[str, Any]:
    spec = json.dumps({"url": url, "bodies": bodies, "connections": connections, "seconds": seconds, "max": max_requests})
    warm = json.dumps({"url": url, "bodies": bodies, "connections": connections, "seconds": 1.0, "max": 200})
    subprocess.run([sys.executable, __file__, "load", warm], check=True, capture_output=True)
    before = cpu_seconds(server.pid)
    done = subprocess.run([sys.executable, __file__, "load", spec], check=True, capture_output=True, text=True)
    used = cpu_seconds(server.pid) - before
    result: dict[str, Any] = json.loads(done.stdout)
    result["server_cpu_ms_per_request"] = round(used * 1000 / max(1, result["requests"]), 2)
    return result


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # a node over 100,000 entries on a loaded machine took more than 120 s
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}, timeout=2)
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(f"server {args} exited with {proc.returncode}")
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server {args} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_database(kind: str, entries: int, seconds: float, max_requests: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="exchange-bench-api-"))
    url = f"sqlite://{workdir / 'bench.db'}" if kind == "sqlite" else asyncio.run(ensure_pg_database())
    t0 = time.perf_counter()
    try:
        ids = asyncio.run(prepare(url, entries))
    except Exception as exc:  # noqa: BLE001  (seen once on PostgreSQL: retry on a fresh schema)
        print(f"prepare failed ({exc}); retrying once", file=sys.stderr)
        ids = asyncio.run(prepare(url, entries))
    out: dict[str, Any] = {"entries": entries, "generate_s": round(time.perf_counter() - t0, 1)}
    node_port, floor_port = free_port(), free_port()
    env = {**os.environ, "EXCHANGE_DATABASE_URL": url, "EXCHANGE_NODE_URL": f"http://127.0.0.1:{node_port}",
           "EXCHANGE_KEY_FILE": str(workdir / "node.key"), "EXCHANGE_LOG_LEVEL": "WARNING", "EXCHANGE_SYNC_INTERVAL": "0"}
    catalogue = [{"query": CATALOGUE, "operationName": "Catalogue", "variables": {"first": 50}}]
    entry = [{"query": ENTRY, "operationName": "Entry", "variables": {"id": i}} for i in ids]
    # the same page with one field the SQL compiler leaves to execution: answered field by field
    by_field = [{"query": CATALOGUE.replace("updatedAt", "updatedAt links { relation }"),
                 "operationName": "Catalogue", "variables": {"first": 50}}]
    # `exchange serve` on PostgreSQL opens with create=True, which fails on an existing
    # database (reported); there the node runs through the same create_app + uvicorn.run
    # with the database opened as it is
    command = ["-m", "exchange", "serve", "--port", str(node_port)] if kind == "sqlite" else [__file__, "node", url, str(node_port)]
    node = start([sys.executable, *command], env, node_port)
    try:
        first = httpx.post(f"http://127.0.0.1:{node_port}/graphql", json=catalogue[0], timeout=30).json()
        assert len(first["data"]["entries"]["edges"]) == 50, first
        out["node"] = {f"{op}_at_{c}": measure(node, f"http://127.0.0.1:{node_port}", bodies, c, seconds, max_requests)
                       for op, bodies in (("catalogue", catalogue), ("catalogue_field_by_field", by_field),
                                          ("entry", entry)) for c in (1, 10)}
        # a reader revalidating the Catalogue page over GET: If-None-Match with an unchanged state -> 304
        params = {"query": CATALOGUE, "operationName": "Catalogue", "variables": json.dumps({"first": 50})}
        accept = {"Accept": "application/graphql-response+json"}
        tag = httpx.get(f"http://127.0.0.1:{node_port}/graphql", params=params, headers=accept, timeout=30).headers["etag"]
        conditional = [{"params": params, "headers": {**accept, "If-None-Match": tag}, "status": 304}]
        plain_get = [{"params": params, "headers": accept}]
        for name, bodies in (("catalogue_get", plain_get), ("catalogue_conditional_get", conditional)):
            for c in (1, 10):
                out["node"][f"{name}_at_{c}"] = measure(node, f"http://127.0.0.1:{node_port}", bodies, c, seconds,
                                                        max_requests)
    finally:
        stop(node)
    for name, mode in (("floor", "count"), ("floor_cached_count", "cached")):
        floor = start([sys.executable, __file__, "floor", url, str(floor_port), mode], env, floor_port)
        try:
            body = httpx.post(f"http://127.0.0.1:{floor_port}/graphql", json=catalogue[0], timeout=30).json()
            assert len(body["data"]["entries"]["edges"]) == 50 and body["data"]["entries"]["totalCount"] == entries
            out[name] = {f"catalogue_at_{c}": measure(floor, f"http://127.0.0.1:{floor_port}", catalogue, c, seconds,
                                                      max_requests) for c in (1, 10)}
        finally:
            stop(floor)
        for c in (1, 10):
            for op in ("catalogue", "catalogue_field_by_field"):
                out[f"{op}_vs_{name}_at_{c}"] = round(
                    out["node"][f"{op}_at_{c}"]["rps"] / out[name][f"catalogue_at_{c}"]["rps"], 2)
    if kind == "sqlite":
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        spec = json.loads(sys.argv[2])
        print(json.dumps(asyncio.run(load(spec["url"], spec["bodies"], spec["connections"], spec["seconds"], spec["max"]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "node":
        import uvicorn

        from exchange.app import build_node, create_app
        from exchange.db import Database
        from exchange.settings import load_settings

        settings = load_settings(os.environ)
        database = Database(sys.argv[2])
        plain_open = database.open

        async def open_existing(*, create: bool = False) -> None:
            await plain_open(create=False)

        database.open = open_existing  # type: ignore[method-assign]
        app = create_app(settings, node=build_node(settings, database=database))
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
        return
    if len(sys.argv) > 1 and sys.argv[1] == "floor":
        import uvicorn

        app = floor_app(sys.argv[2], cached_count=len(sys.argv) > 4 and sys.argv[4] == "cached")
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measurement")
    parser.add_argument("--max-requests", type=int, default=20_000, help="cap per measurement")
    args = parser.parse_args()
    result: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                              "load_average_at_start": os.getloadavg()[0]}
    kinds = args.database.split(",")
    for kind in kinds:
        if len(kinds) == 1:
            result[kind] = run_database(kind, args.entries, args.seconds, args.max_requests)
        else:
            # one process per database: tortoise caches compiled queries per model class,
            # and a query compiled for SQLite fails on PostgreSQL in the same process
            done = subprocess.run([sys.executable, __file__, "--database", kind, "--entries", str(args.entries),
                                   "--seconds", str(args.seconds), "--max-requests", str(args.max_requests)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                result[kind] = {"error": done.stderr.strip().splitlines()[-1:]}
            else:
                result[kind] = json.loads(done.stdout)[kind]
        print(json.dumps({kind: result[kind]}), file=sys.stderr, flush=True)  # partial results survive a later failure
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
