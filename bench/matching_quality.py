"""Quality of peer matching against hand labels no one here wrote (prints JSON).

Data: the Musterdatenkatalog 2.1 for Nordrhein-Westfalen (exchange/data/
musterdatenkatalog_nrw.csv.gz): 2,370 open datasets of 39 municipalities and
Kreise, each labelled by hand with a THEMA. Every dataset's title and
description become a public entry of its publisher (kind project, status
running, no topics, so the hand labels stay hidden from the matcher); ORG
names are joined to the register by name within NRW (Land 05), "Kreis X" to
the Kreis row. Ground truth: for each publisher, the other 38 ranked by the
cosine similarity of their THEMA distributions (graded gains for NDCG).
Reported over all 39: NDCG@10 and precision@5 (overlap of the top five with
the true top five) for the matcher with the default weights, with topics
only, and for two baselines: random order (mean of 200 shuffles) and
population only (closest population first).

    python bench/matching_quality.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import io
import json
import math
import random
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from content import search_document
from exchange.db import Database
from exchange.matching import MatchQuery, ProfileStore, Weights
from exchange.matching.rank import rank, topic_terms
from exchange.models import Entry, Municipality
from exchange.registry import import_register, load_snapshot
from exchange.topics import import_topics

DATA = Path(__file__).resolve().parents[1] / "exchange" / "data" / "musterdatenkatalog_nrw.csv.gz"
ALIASES = {"Jühlich": "Jülich"}  # a misspelling in the source
NOW = datetime(2020, 4, 1, tzinfo=UTC)


def read_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(DATA.read_bytes()).decode("utf-8"))))


async def publishers(names: set[str]) -> dict[str, Municipality]:
    """ORG name -> register row (Gemeinde by name, 'Kreis X' -> Kreis row), within NRW."""
    rows = await Municipality.filter(land_code="05", active=True)
    gemeinden = {m.name.split(",")[0].strip(): m for m in rows if m.level == "gemeinde"}
    kreise = {m.name.split(",")[0].strip(): m for m in rows if m.level == "kreis"}
    found: dict[str, Municipality] = {}
    for org in names:
        if org.startswith("Kreis "):
            found[org] = kreise[org.removeprefix("Kreis ")]
        else:
            plain = org.removeprefix("Stadt ").removeprefix("Gemeinde ")
            found[org] = gemeinden[ALIASES.get(plain, plain)]
    return found


def cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def ndcg(ranking: list[str], gains: dict[str, float], k: int = 10) -> float:
    dcg = sum(gains[x] / math.log2(i + 2) for i, x in enumerate(ranking[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def precision(ranking: list[str], gains: dict[str, float], k: int = 5) -> float:
    truth = set(sorted(gains, key=lambda x: (-gains[x], x))[:k])
    return len(truth & set(ranking[:k])) / k


def evaluate(rankings: dict[str, list[str]], truth: dict[str, dict[str, float]]) -> dict[str, float]:
    n = [ndcg(rankings[q], truth[q]) for q in truth]
    p = [precision(rankings[q], truth[q]) for q in truth]
    return {"ndcg@10": round(sum(n) / len(n), 4), "precision@5": round(sum(p) / len(p), 4)}


async def main(keep: str | None) -> dict[str, object]:
    started = time.perf_counter()
    folder = Path(keep or tempfile.mkdtemp(prefix="matching-quality-"))
    db = Database(f"sqlite://{folder / 'quality.db'}")
    await db.open(create=True)
    with db.bound():
        await db.migrate()
        if not await Municipality.exists():
            await import_register(load_snapshot())
            await import_topics()
        rows = read_rows()
        orgs = await publishers({r["ORG"] for r in rows})
        if not await Entry.exists():
            await Entry.bulk_create([
                Entry(uid=uuid.uuid5(uuid.NAMESPACE_URL, r["dct:identifier"] + str(i)), kind="project",
                      status="running", origin_node="http://bench.test", title=r["dct:title"][:300],
                      summary=r["dct:description"][:2000] or r["dct:title"][:300], language="de",
                      municipality_id=orgs[r["ORG"]].id, visibility="public", created_at=NOW, updated_at=NOW,
                      search_terms=search_document(r["dct:title"], r["dct:description"], "", [], "de"))
                for i, r in enumerate(rows)
            ], batch_size=500)
        store = ProfileStore()
        index = await store.load()
        labels = topic_terms(index)
    await db.close()
    by_id = {m.id: org for org, m in orgs.items()}
    themes: dict[str, Counter[str]] = {org: Counter() for org in orgs}
    for r in rows:
        themes[r["ORG"]][r["THEMA"]] += 1
    truth = {q: {o: cosine(themes[q], themes[o]) for o in orgs if o != q} for q in orgs}

    def matcher_rankings(weights: Weights) -> tuple[dict[str, list[str]], float]:
        out: dict[str, list[str]] = {}
        took: list[float] = []
        for org, m in orgs.items():
            t = time.perf_counter()
            _, matches = rank(index, MatchQuery(index.places[m.id], first=len(orgs) - 1).validated(), weights, labels)
            took.append(time.perf_counter() - t)
            out[org] = [by_id[x.place.id] for x in matches if x.place.id in by_id]
        return out, max(took)

    results: dict[str, object] = {}
    for name, weights in (("matcher_default_weights", Weights()),
                          ("matcher_topics_only", Weights(topics=1, experience=0, structure=0))):
        rankings, slowest = matcher_rankings(weights)
        results[name] = {**evaluate(rankings, truth), "slowest_query_ms": round(slowest * 1000, 2)}
    rng = random.Random(20260421)
    samples = []
    for _ in range(200):
        shuffled = {q: rng.sample([o for o in orgs if o != q], len(orgs) - 1) for q in orgs}
        samples.append(evaluate(shuffled, truth))
    results["baseline_random"] = {k: round(sum(s[k] for s in samples) / len(samples), 4) for k in samples[0]}
    population = {o: max(1, orgs[o].population or 1) for o in orgs}
    by_population = {q: sorted((o for o in orgs if o != q),
                               key=lambda o: (abs(math.log(population[o] / population[q])), o)) for q in orgs}
    results["baseline_population_only"] = evaluate(by_population, truth)
    return {
        "benchmark": "matching_quality",
        "data": "Musterdatenkatalog 2.1 NRW (CC0), THEMA labels hidden from the matcher",
        "publishers": len(orgs),
        "entries": len(rows),
        "themes": len({r["THEMA"] for r in rows}),
        "ground_truth": "cosine similarity of THEMA distributions (graded gains)",
        "results": results,
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="reuse/keep the database in this folder")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.keep)), indent=2, ensure_ascii=False))
