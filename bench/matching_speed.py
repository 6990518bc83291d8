"""Speed and memory of peer matching at design scale (prints JSON).

Builds a SQLite node with the full register and `--entries` synthetic public
entries (default 100,000) over `--publishers` municipalities (default 5,000),
written with bulk inserts. Entry sizes per publisher follow a Zipf law (a
few cities with hundreds of entries, most towns with a handful); terms are
drawn Zipf-distributed from the real stemmed vocabulary of the
Musterdatenkatalog NRW titles and descriptions plus a long tail of rare
terms; topics, kinds and statuses are mixed as on a real node. Measures: the
startup load of all profiles, their memory (tracemalloc: memory still held
after the load), `Matcher.peers` latency (with reasons and relevant entries,
so including its two database reads) for municipalities and for `about`
texts, and the incremental update after a publish through the catalogue.
The update is timed inside the catalogue listener (`Matcher.on_entry`: its
database reads and the index update), which `Catalogue.publish` awaits after
its transaction, so the publisher waits for it; `publish_including_update`
is the whole publish call. Each figure comes as wall time and as the CPU time
of the process (the SQLite thread included), which a busy machine distorts
less; the load average is reported. With `--keep` the database is reused
(and each run adds its 35 published entries to it).

    python bench/matching_speed.py [--entries 100000] [--publishers 5000] [--queries 200]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import gzip
import io
import json
import os
import random
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path

from content import terms
from exchange.auth import Actor, Publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from exchange.matching import Matcher, ProfileStore
from exchange.models import Entry, EntryTopic, Municipality, Topic
from exchange.registry import import_register, load_snapshot
from exchange.topics import import_topics
from federation.identity import NodeKey

DATA = Path(__file__).resolve().parents[1] / "exchange" / "data" / "musterdatenkatalog_nrw.csv.gz"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ABOUTS = [
    "Wir planen ein LoRaWAN-Sensornetz für Parkplätze und Pegelstände.",
    "Digitale Bürgerdienste: Termine online buchen und Anträge ohne Papier stellen.",
    "Open data portal for our town: budgets, trees, bus stops, election results.",
    "Kommunale Wärmeplanung für eine Gemeinde mit 3.000 Einwohnern.",
    "Beteiligung von Jugendlichen an der Planung eines Spielplatzes.",
]


def vocabulary(rng: random.Random) -> list[str]:
    """Real stems, most frequent first, then rare synthetic ones."""
    text = gzip.decompress(DATA.read_bytes()).decode("utf-8")
    counts: dict[str, int] = {}
    for r in csv.DictReader(io.StringIO(text)):
        for t in terms(r["dct:title"] + " " + r["dct:description"], "de"):
            counts[t] = counts.get(t, 0) + 1
    real = sorted(counts, key=lambda t: -counts[t])
    return real + [f"selten{i}" for i in range(20_000)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    figures = {"p50_ms": round(percentile(values, 50) * 1000, 2), "p95_ms": round(percentile(values, 95) * 1000, 2),
               "max_ms": round(max(values) * 1000, 2), "n": len(values)}
    if cpu:
        figures |= {"cpu_p50_ms": round(percentile(cpu, 50) * 1000, 2),
                    "cpu_p95_ms": round(percentile(cpu, 95) * 1000, 2)}
    return figures


async def fill(n_entries: int, n_publishers: int, rng: random.Random) -> list[int]:
    gemeinden = [m for m in await Municipality.filter(level="gemeinde", active=True).values_list("id", flat=True)]
    chosen = rng.sample(gemeinden, n_publishers)
    weights = [1 / (i + 1) ** 0.5 for i in range(n_publishers)]  # Zipf: the largest few hold hundreds
    owners = rng.choices(chosen, weights=weights, k=n_entries - n_publishers) + chosen  # each has >= 1
    vocab = vocabulary(rng)
    cum = [1 / (i + 1) ** 1.05 for i in range(len(vocab))]
    topic_ids = [t for t in await Topic.filter(scheme="mdk").values_list("id", flat=True)]
    start_id = (await Entry.all().count()) + 1
    for start in range(0, n_entries, 2000):
        batch, links = [], []
        for i in range(start, min(start + 2000, n_entries)):
            kind = rng.choices(["project", "lesson", "guide"], [60, 25, 15])[0]
            words = rng.choices(vocab, weights=cum, k=rng.randint(40, 220))
            batch.append(Entry(
                id=start_id + i, uid=uuid.uuid4(), kind=kind, origin_node="http://bench.test",
                status=rng.choice(["planned", "running", "completed", "completed"]) if kind == "project" else None,
                title=" ".join(words[:6]), summary=" ".join(words[6:30]), language="de",
                municipality_id=owners[i], visibility="public", created_at=NOW, updated_at=NOW,
                search_terms=" ".join(words),
            ))
            for t in rng.sample(topic_ids, rng.randint(1, 3)):
                links.append(EntryTopic(entry_id=start_id + i, topic_id=t))
        await Entry.bulk_create(batch, batch_size=1000)
        await EntryTopic.bulk_create(links, batch_size=2000)
    return chosen


async def main(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(42)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="matching-speed-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite://{folder / 'speed.db'}")
    await db.open(create=True)
    report: dict[str, object] = {"benchmark": "matching_speed", "entries": args.entries, "publishers": args.publishers,
                                 "load_average_start": round(os.getloadavg()[0], 2)}
    with db.bound():
        await db.migrate()
        t = time.perf_counter()
        if not await Municipality.exists():
            await import_register(load_snapshot())
            await import_topics()
        if not await Entry.exists():
            await fill(args.entries, args.publishers, rng)
        report["fill_seconds"] = round(time.perf_counter() - t, 1)
        report["municipalities"] = await Municipality.filter(active=True).count()

        matcher = Matcher()
        t = time.perf_counter()
        await matcher.startup()
        report["profile_load_seconds"] = round(time.perf_counter() - t, 2)
        index = matcher.store.index
        report["profiled_publishers"] = index.publishers
        report["terms"] = len(index.vocab)

        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        probe = ProfileStore()
        await probe.load()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        del probe
        report["profile_memory_mb"] = round(held / 1e6, 1)

        publishers = list(index.profiles)
        keys = {m.id: m.official_key for m in await Municipality.filter(id__in=publishers)}
        asks = rng.sample(publishers, min(args.queries, len(publishers)))
        await matcher.peers(keys[asks[0]])  # warm caches
        took, cpu = [], []
        for pid in asks:
            t, c = time.perf_counter(), time.process_time()
            await matcher.peers(keys[pid], first=10)
            took.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        report["peer_matches"] = ms(took, cpu)
        took, cpu = [], []
        for i, pid in enumerate(asks[: args.queries // 2]):
            t, c = time.perf_counter(), time.process_time()
            await matcher.peers(keys[pid], about=ABOUTS[i % len(ABOUTS)], first=10, language="en")
            took.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        report["peer_matches_about"] = ms(took, cpu)
        biggest = max(index.profiles.values(), key=lambda p: p.entry_count)
        report["largest_publisher_entries"] = biggest.entry_count

        key = NodeKey.load_or_create(folder / "bench.key", "http://bench.test")
        catalogue = Catalogue(signer=key)
        refresh: list[float] = []
        refresh_cpu: list[float] = []

        async def timed(entry: Entry) -> None:
            t, c = time.perf_counter(), time.process_time()
            await matcher.on_entry(entry)
            refresh.append(time.perf_counter() - t)
            refresh_cpu.append(time.process_time() - c)

        catalogue.listeners.append(timed)
        publish: list[float] = []
        for pid in rng.sample(publishers, 30) + [biggest.place_id] * 5:
            actor = Actor(Publisher("municipality", pid, keys[pid], "bench"), frozenset({"publish"}))
            t = time.perf_counter()
            await catalogue.publish(actor, EntryInput(
                kind="project", title="Neues Projekt LoRaWAN Sensoren", summary="Parkplatzsensoren im Ortskern",
                body_markdown="Wir messen freie Parkplätze.", topics=["verkehr"], language="de", visibility="public"))
            publish.append(time.perf_counter() - t)
        report["incremental_update_after_publish"] = ms(refresh, refresh_cpu)
        report["incremental_update_largest_publisher_ms"] = round(max(refresh[-5:]) * 1000, 2)
        report["incremental_update_largest_publisher_cpu_ms"] = round(max(refresh_cpu[-5:]) * 1000, 2)
        report["publish_including_update"] = ms(publish)
    await db.close()
    report["load_average_end"] = round(os.getloadavg()[0], 2)
    report["targets"] = {"peer_matches_p95_ms": 100, "incremental_update_ms": 50}
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--publishers", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", help="reuse/keep the database in this folder")
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
