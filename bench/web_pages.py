"""Benchmark: server time of every web page type over a catalogue of 100,000 entries.

Builds a node (SQLite, or PostgreSQL) with the bundled register, the topics, the demo entries
and N synthetic entries (bulk-inserted; their texts are recombined from the
demo entries' words, spread over 2,000 publishing municipalities), then asks
each page type R times with varied parameters through the ASGI app in
process, and prints JSON: p50/p95/max milliseconds and the page size with CSS
per page type. Usage: python bench/web_pages.py [--entries 100000] [--rounds 30]
[--database sqlite|postgres] [--pg-url URL] (the PostgreSQL database must exist;
the bench drops and recreates its public schema).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from content import terms
from exchange.app import build_node, create_app
from exchange.db import Database
from exchange.demo import load_demo
from exchange.models import Change, Entry, EntryTopic, Municipality, Topic
from exchange.search import index as search_index
from exchange.settings import Settings

KINDS = ("project", "project", "lesson", "guide")
STATUSES = ("planned", "running", "completed", "stopped")


async def build(db: Database, node_url: str, n: int, rng: random.Random) -> dict[str, Any]:
    node = build_node(Settings(database_url=db.url, node_url=node_url), database=db)
    await load_demo(node.catalogue)
    demo = list(await Entry.all())
    words = [w for e in demo for w in (e.title + " " + e.summary).split() if len(w) > 3]
    stems = sorted({t for e in demo for t in terms(e.body_markdown, e.language)})
    munis = list(await Municipality.filter(level="gemeinde", latitude__not_isnull=True).limit(11000))
    publishers = rng.sample(munis, 2000)
    topics = list(await Topic.filter(scheme="mdk"))
    now = datetime.now(UTC)
    batch: list[Entry] = []
    for i in range(n):
        title = " ".join(rng.sample(words, 6))
        kind = rng.choice(KINDS)
        when = now - timedelta(minutes=i)
        batch.append(Entry(
            uid=uuid.uuid4(), kind=kind, origin_node=node_url, version=1, title=title[:300],
            summary=" ".join(rng.sample(words, 25)), body_markdown="Text", body_html="<p>Text</p>",
            language=rng.choice(("de", "de", "en")), visibility="public",
            municipality_id=rng.choice(publishers).id, status=rng.choice(STATUSES) if kind == "project" else None,
            search_terms=" ".join(terms(title, "de") * 3 + rng.sample(stems, 60)),
            created_at=when, updated_at=when,
        ))
        if len(batch) == 5000:
            await Entry.bulk_create(batch)
            batch = []
    if batch:
        await Entry.bulk_create(batch)
    ids = await Entry.filter(body_markdown="Text").values_list("id", flat=True)
    links = [EntryTopic(entry_id=i, topic_id=t.id) for i in ids for t in rng.sample(topics, rng.choice((1, 2, 3)))]
    for start in range(0, len(links), 10000):
        await EntryTopic.bulk_create(links[start:start + 10000])
    await search_index.rebuild()
    last = await Entry.all().order_by("-id").first()
    assert last is not None
    await Change.create(entry_uid=last.uid, version=1, origin_node=node_url, visibility="public", created_at=now)
    return {"publishers": [m.official_key for m in publishers], "words": words,
            "topics": [t.slug for t in topics], "uids": [str(u) for u in rng.sample(
                list(await Entry.all().values_list("uid", flat=True)), 200)]}


def paths(kind: str, data: dict[str, Any], rng: random.Random) -> str:
    word = rng.choice(data["words"]).strip(".,:;()\"'")
    key = rng.choice(data["publishers"])
    return {
        "start": "/",
        "search-empty": "/search",
        "search-text": f"/search?q={word}",
        "search-facets": f"/search?kind=project&status={rng.choice(STATUSES)}&land={rng.randint(1, 16):02d}",
        "search-text-facets": f"/search?q={word}&kind=project&size=Kleinstadt&order=newest",
        "entry": f"/entries/{rng.choice(data['uids'])}",
        "municipality": f"/municipalities/{key}",
        "municipality-search": f"/municipalities?name={word[:4]}",
        "topic": f"/topics/{rng.choice(data['topics'])}",
        "matching": "/matching",
    }[kind]


KINDS_OF_PAGES = ("start", "search-empty", "search-text", "search-facets", "search-text-facets", "entry",
                  "municipality", "municipality-search", "topic", "matching")


async def main(n: int, rounds: int, pg_url: str | None = None) -> dict[str, Any]:
    rng = random.Random(7)
    folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
    db = Database(pg_url or f"sqlite://{folder / 'bench.db'}")
    await db.open(create=pg_url is None)  # the PostgreSQL database must exist (it is emptied)
    result: dict[str, Any] = {"entries": n, "rounds": rounds, "database": "postgres" if pg_url else "sqlite"}
    with db.bound():
        if pg_url:
            await db.connection().execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await db.migrate()
        t0 = time.perf_counter()
        data = await build(db, "http://bench.test", n, rng)
        if pg_url:
            await db.connection().execute_script("VACUUM ANALYZE")  # as autovacuum would have, after a bulk load
        result["build_seconds"] = round(time.perf_counter() - t0, 1)
        settings = Settings(database_url=db.url, node_url="http://bench.test", key_file=str(folder / "k.key"))
        node = build_node(settings, database=db)
        t0 = time.perf_counter()
        for hook in node.extra.get("startup", []):
            await hook()
        result["startup_seconds"] = round(time.perf_counter() - t0, 1)
        app = create_app(settings, node=node, migrate=False)
        css = len((Path(__file__).parents[1] / "exchange/web/static/site.css").read_bytes())
        pages: dict[str, Any] = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.test",
                                     headers={"Accept-Language": "de"}) as client:
            for kind in KINDS_OF_PAGES:
                times, sizes, statuses = [], [], set()
                first_ms = None
                for i in range(rounds):
                    path = paths(kind, data, rng)
                    t0 = time.perf_counter()
                    r = await client.get(path)
                    ms = (time.perf_counter() - t0) * 1000
                    statuses.add(r.status_code)
                    if i == 0:
                        first_ms = round(ms, 1)
                    times.append(ms)
                    sizes.append(len(r.content))
                times.sort()
                pages[kind] = {
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
                    "max_ms": round(times[-1], 1), "first_ms": first_ms,
                    "max_kb_with_css": round((max(sizes) + css) / 1024, 1), "statuses": sorted(statuses),
                }
        result["pages"] = pages
        result["worst_p95_ms"] = max(p["p95_ms"] for p in pages.values())
    await db.close()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://exchange:exchange@127.0.0.1:5432/exchange_bench",
                        help="an existing PostgreSQL database the bench may empty (with --database postgres)")
    args = parser.parse_args()
    pg_url = args.pg_url if args.database == "postgres" else None
    print(json.dumps(asyncio.run(main(args.entries, args.rounds, pg_url)), indent=2))
