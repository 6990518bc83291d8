"""Open-data export figures: time and peak memory to stream the whole public catalogue.

    python bench/export_stream.py [--entries 100000] [--chunk 500]

Builds a fresh SQLite database with the register, the topics and N public
entries (texts of the demo entries, publishers drawn from the register), then
streams the full export in each format through the same generators the routes
use (`exchange.opendata.exports.stream_csv`, `stream_jsonl`) into a byte counter, and
measures one page of the DCAT-AP.de catalogue (100 entries) in each RDF format
and the node's Atom feed. Each stream runs twice: once for the time, once under
tracemalloc for the peak of Python allocations during the stream (the memory
that grows with the catalogue, if any did). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import frontmatter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchange.db import Database
from exchange.models import Entry, EntryTopic, Municipality, Topic
from exchange.opendata import dcat, exports, feeds, records
from exchange.registry import import_register, load_snapshot
from exchange.topics import import_topics

NODE = "http://bench.test"


async def generate(n: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    docs = [
        frontmatter.load(str(p)) for p in sorted((ROOT / "exchange/data/demo/entries").glob("*.md"))
    ]
    topics = [t.id for t in await Topic.filter(scheme="mdk")]
    munis = list(
        await Municipality.filter(level="gemeinde", active=True).values_list("id", flat=True)
    )
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for start in range(0, n, 2000):
        rows = []
        for i in range(start, min(n, start + 2000)):
            doc = docs[rng.randrange(len(docs))]
            when = base + timedelta(minutes=i)
            rows.append(
                Entry(
                    uid=uuid.uuid4(),
                    kind=str(doc["kind"]),
                    origin_node=NODE,
                    version=1,
                    title=f"{doc['title']} ({i})",
                    summary=str(doc["summary"]),
                    body_markdown=doc.content,
                    body_html="",
                    language=str(doc.get("language", "de")),
                    visibility="public",
                    license=str(doc.get("license", "CC-BY-4.0")),
                    keywords=list(doc.get("keywords") or []),
                    contact_role=str(doc.get("contact_role", "")),
                    contact_email=str(doc.get("contact_email", "")),
                    municipality_id=rng.choice(munis),
                    created_at=when,
                    updated_at=when,
                )
            )
        await Entry.bulk_create(rows)
        ids = await Entry.filter(uid__in=[r.uid for r in rows]).values_list("id", flat=True)
        await EntryTopic.bulk_create(
            [
                EntryTopic(entry_id=i, topic_id=t)
                for i in ids
                for t in rng.sample(topics, rng.randint(1, 3))
            ]
        )


async def drain(stream: AsyncIterator[bytes]) -> int:
    size = 0
    async for block in stream:
        size += len(block)
    return size


async def measure(run: Callable[[], Awaitable[int]]) -> dict[str, float]:
    t0 = time.perf_counter()
    size = await run()
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    tracemalloc.reset_peak()
    await run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": round(seconds, 3), "bytes": size, "peak_mib": round(peak / 2**20, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=records.CHUNK)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="exchange-export-bench-"))
    db = Database(f"sqlite://{workdir / 'bench.db'}")
    await db.open(create=True)
    result: dict[str, object] = {"database": "sqlite", "entries": args.entries, "chunk": args.chunk}
    with db.bound():
        await db.migrate()
        await import_register(load_snapshot())
        await import_topics()
        t0 = time.perf_counter()
        await generate(args.entries)
        result["generate_s"] = round(time.perf_counter() - t0, 1)
        result["csv"] = await measure(lambda: drain(exports.stream_csv(args.chunk)))
        result["jsonl"] = await measure(lambda: drain(exports.stream_jsonl(args.chunk)))
        info = dcat.CatalogInfo(NODE, "Bench node", modified=await records.latest_public_change())
        total = await records.count_public()

        async def page(key: str) -> int:
            entries = await records.public_page(2, 100)
            return len(
                dcat.serialize(dcat.build_catalog(info, entries, dcat.PageInfo(2, 100, total)), key)
            )

        result["catalog_page_100"] = {
            key: await measure(lambda key=key: page(key)) for key in dcat.FORMATS
        }

        async def feed() -> int:
            entries = await records.newest_public(feeds.FEED_SIZE)
            return len(
                feeds.build_feed(
                    feeds.FeedInfo(NODE, "Bench node", "/feeds/all.atom", "Neu"), entries
                )
            )

        result["atom_feed_50"] = await measure(feed)
    await db.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
