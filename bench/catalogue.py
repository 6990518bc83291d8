"""Catalogue figures: register import, newest-50 listing, full-text search, node memory.

    python bench/catalogue.py [--entries 100000] [--database sqlite|postgres] [--pg-url URL]
                              [--runs 200] [--skip-rss]

Builds a fresh database with the full register and N generated entries
(texts recombined from the demo content, publishers drawn from the register,
most of them small), then measures in-process:

- register import time (parse + store, the full GV100AD file);
- listing the newest 50 entries with publisher and topics (p50, p99);
- full-text search over the catalogue (p50, p95) for a set of queries;
- resident memory of a serving node (`exchange serve` on the database, after
  answering a few pages).

Prints one JSON object. Medians and percentiles over repeated runs; the
machine is noisy, so compare ratios rather than single numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import frontmatter
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from content import search_document
from exchange.api.loaders import _municipalities, _organisations, _topics_by_entry
from exchange.db import Database
from exchange.models import Entry, EntryTopic, Municipality, Topic
from exchange.registry import import_register, load_snapshot
from exchange.search import EntryQuery, find_entries
from exchange.search import index as search_index
from exchange.topics import import_topics

QUERIES = ["Bürgerbeteiligung", "LoRaWAN Sensoren", "digitales Rathaus", "open data", "Schule Tablets",
           "Förderung", "Straßenbeleuchtung", "car sharing", "Hochwasser", "Wärmeplanung"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def templates() -> list[dict[str, object]]:
    """Texts of the demo entries, the raw material of generated entries."""
    out = []
    for path in sorted((ROOT / "exchange" / "data" / "demo" / "entries").glob("*.md")):
        doc = frontmatter.load(str(path))
        out.append({"title": str(doc["title"]), "summary": str(doc["summary"]), "body": doc.content,
                    "language": str(doc.get("language", "de")), "kind": str(doc["kind"]),
                    "topics": list(doc.get("topics") or [])})
    return out


async def generate(n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    tpl = templates()
    # Terms are computed once per template; each entry adds its own words to them.
    terms = [search_document(t["title"], t["summary"], t["body"], [], t["language"]) for t in tpl]  # type: ignore[arg-type]
    topics = {t.slug: t.id for t in await Topic.filter(scheme="mdk")}
    slugs = sorted(topics)
    munis = await Municipality.filter(level="gemeinde", active=True).values_list("id", "population")
    small = [m for m, p in munis if (p or 0) < 20_000]
    large = [m for m, p in munis if (p or 0) >= 20_000]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    places = ["Nord", "Süd", "Ost", "West", "Mitte", "Dorf", "Stadt", "Kreis", "Region", "Amt"]
    chunk = 2000
    for start in range(0, n, chunk):
        rows, links = [], []
        for i in range(start, min(n, start + chunk)):
            t = rng.randrange(len(tpl))
            src = tpl[t]
            extra = f"{rng.choice(places)} {i % 997}"
            when = base + timedelta(minutes=i)
            rows.append(Entry(
                uid=uuid.uuid4(), kind=src["kind"], origin_node="http://bench.test", version=1,
                title=f"{src['title']} ({extra})", summary=src["summary"], body_markdown=src["body"],
                body_html="", language=src["language"], visibility="public",
                municipality_id=rng.choice(small) if rng.random() < 0.8 else rng.choice(large),
                search_terms=f"{terms[t]} {extra.lower()}", created_at=when, updated_at=when,
            ))
        await Entry.bulk_create(rows)
        created = await Entry.filter(uid__in=[r.uid for r in rows]).values_list("id", "uid")
        by_uid = {u: i for i, u in created}
        for row in rows:
            for slug in rng.sample(slugs, rng.randint(1, 3)):
                links.append(EntryTopic(entry_id=by_uid[row.uid], topic_id=topics[slug]))
        await EntryTopic.bulk_create(links)
    await search_index.rebuild()


async def listing_once() -> None:
    page = await find_entries(EntryQuery(), None, first=50)
    ids = [e.id for e in page.entries]
    await _topics_by_entry(ids)
    await _municipalities(sorted({e.municipality_id for e in page.entries if e.municipality_id}))  # type: ignore[attr-defined]
    await _organisations(sorted({e.organisation_id for e in page.entries if e.organisation_id}))  # type: ignore[attr-defined]


async def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serving_rss(db_url: str, workdir: Path) -> float:
    """Resident memory (MB) of `exchange serve` after it answered some pages."""
    port = free_port()
    env = dict(os.environ, EXCHANGE_DATABASE_URL=db_url, EXCHANGE_NODE_URL=f"http://127.0.0.1:{port}",
               EXCHANGE_KEY_FILE=str(workdir / "node.key"), EXCHANGE_LOG_LEVEL="WARNING", EXCHANGE_SYNC_INTERVAL="0")
    proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        query = "{ entries(first: 50) { totalCount edges { node { id title publisher { name } topics { slug } } } } }"
        for q in ["", "Schule", "Sensoren"]:
            for _ in range(20):
                httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=30,
                           json={"query": query.replace("first: 50", f'first: 50, filter: {{text: "{q}"}}') if q else query})
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss_kb = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        return round(rss_kb / 1024, 1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("EXCHANGE_BENCH_PG_URL",
                                                          "postgres://exchange:exchange@127.0.0.1:5432/exchange_bench"))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--skip-rss", action="store_true", help="leave out the serving node's memory")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="exchange-bench-"))
    url = f"sqlite://{workdir / 'bench.db'}" if args.database == "sqlite" else args.pg_url
    db = Database(url)
    await db.open(create=args.database == "sqlite")  # the PostgreSQL database exists already
    result: dict[str, object] = {"database": args.database, "entries": args.entries}
    with db.bound():
        if args.database == "postgres":
            await db.connection().execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await db.migrate()
        t0 = time.perf_counter()
        register = load_snapshot()
        t1 = time.perf_counter()
        await import_register(register)
        t2 = time.perf_counter()
        result["register_parse_s"] = round(t1 - t0, 3)
        result["register_import_s"] = round(t2 - t0, 3)
        await import_topics()
        t0 = time.perf_counter()
        await generate(args.entries)
        result["generate_s"] = round(time.perf_counter() - t0, 1)
        if args.database == "postgres":
            await db.connection().execute_script("VACUUM ANALYZE")  # as autovacuum would have, after a bulk load
        await listing_once()
        listing = await timed(listing_once, args.runs)
        result["newest50_ms"] = {"p50": round(statistics.median(listing), 2), "p99": round(percentile(listing, 0.99), 2)}
        hits: dict[str, int] = {}
        for order in ("newest", "relevance"):
            times: list[float] = []
            for q in QUERIES:
                query = EntryQuery(text=q, order=order)
                hits[q] = len((await find_entries(query, None, first=20)).entries)

                async def one(query: EntryQuery = query) -> None:
                    await find_entries(query, None, first=20)

                times += await timed(one, max(5, args.runs // len(QUERIES)))
            key = "search_ms" if order == "newest" else "search_relevance_ms"
            result[key] = {"p50": round(statistics.median(times), 2), "p95": round(percentile(times, 0.95), 2)}
        result["search_hits_first_page"] = hits
    await db.close()
    print(json.dumps(result, ensure_ascii=False), file=sys.stderr, flush=True)  # kept if the next step fails
    try:
        result["serving_rss_mb"] = None if args.skip_rss else serving_rss(url, workdir)
    except (httpx.HTTPError, OSError, StopIteration) as exc:
        result["serving_rss_mb"] = None
        result["serving_rss_error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
