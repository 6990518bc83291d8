"""Quality of peer matching against hand labels no one here wrote (prints JSON).

Data: the Musterdatenkatalog 2.1 for Nordrhein-Westfalen (exchange/data/
musterdatenkatalog_nrw.csv.gz): 2,370 open datasets of 39 municipalities and
Kreise, each labelled by hand with a THEMA and a Musterdatensatz. Every
dataset's title and description become a public entry of its publisher (kind
project, status completed: a published dataset is finished work; no topics, so
the hand labels stay hidden from the matcher). Two benchmarks:

* `nrw`: the 39 real publishers (ORG names joined to the register by name
  within NRW, "Kreis X" to the Kreis row); ground truth for each, the other 38
  ranked by the cosine similarity of their THEMA distributions (graded gains).
* `stand_ins`: every (ORG, THEMA) group is a publisher of its own, placed on a
  Gemeinde drawn at random from the register (so structure carries no
  information, and experience, counted per publisher, is what could make
  hubs); ground truth, the cosine similarity of their Musterdatensatz
  distributions (peers that published the same kinds of datasets).

Reported per benchmark: NDCG@10, precision@5 and MRR (against the true top
five) for the matcher with the default weights, with topics only and without
the bilingual vocabulary (whose taxonomy rows come from the same catalogue
family as the labels), for two
independent baselines over the same texts (TF-IDF cosine, BM25; see
bench/matching_baselines.py), random order and (nrw) population only; the
hub share of each; the default against the best baseline (paired bootstrap);
and the default ranking on a copy with the structural attributes shuffled
among the publishers, against the topics-only ranking.

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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from matching_baselines import (
    Rankings,
    Truth,
    bm25_rankings,
    cosine,
    evaluate,
    hub_share,
    paired_bootstrap,
    per_query,
    random_baseline,
    tfidf_rankings,
)

from content import search_document
from exchange.db import Database
from exchange.matching import MatchQuery, ProfileStore, Weights
from exchange.matching.profiles import ProfileIndex
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


FIRST = 50  # length of the rankings compared (the API's largest `first`); MRR counts within it
SEED = 20260421
TEXT_ONLY = Weights(topics=1, experience=0, structure=0)

Group = list[dict[str, str]]


def nrw_groups(rows: list[dict[str, str]]) -> tuple[dict[str, Group], Truth]:
    groups: dict[str, Group] = {}
    for r in rows:
        groups.setdefault(r["ORG"], []).append(r)
    themes = {org: Counter(r["THEMA"] for r in g) for org, g in groups.items()}
    return groups, {q: {o: cosine(themes[q], themes[o]) for o in groups if o != q} for q in groups}


def stand_in_groups(rows: list[dict[str, str]]) -> tuple[dict[str, Group], Truth]:
    groups: dict[str, Group] = {}
    for r in rows:
        if r["THEMA"]:
            groups.setdefault(f"{r['ORG']} / {r['THEMA']}", []).append(r)
    kinds = {name: Counter(r["MUSTERDATENSATZ"] for r in g) for name, g in groups.items()}
    by_kind: dict[str, set[str]] = {}
    for name, c in kinds.items():
        for k in c:
            by_kind.setdefault(k, set()).add(name)
    truth: Truth = {}
    for q in groups:
        gains = dict.fromkeys((o for o in groups if o != q), 0.0)
        for o in set().union(*(by_kind[k] for k in kinds[q])) - {q}:
            gains[o] = cosine(kinds[q], kinds[o])
        truth[q] = gains
    return groups, truth


async def stand_in_places(names: list[str]) -> dict[str, Municipality]:
    """A Gemeinde of the register drawn at random for each stand-in publisher."""
    rows = await Municipality.filter(level="gemeinde", active=True).order_by("id")
    chosen = random.Random(SEED).sample(rows, len(names))
    return dict(zip(names, chosen, strict=True))


async def load(folder: Path, name: str, groups: dict[str, Group], stand_ins: bool,
               bilingual: bool = True) -> tuple[ProfileIndex, dict[str, int]]:
    """A node's database with every group's rows as entries of its publisher; the profiles built from it."""
    db = Database(f"sqlite://{folder / f'{name}.db'}")
    await db.open(create=True)
    with db.bound():
        await db.migrate()
        if not await Municipality.exists():
            await import_register(load_snapshot())
            await import_topics()
        places = await (stand_in_places(sorted(groups)) if stand_ins else publishers(set(groups)))
        if not await Entry.exists():
            await Entry.bulk_create([
                Entry(uid=uuid.uuid5(uuid.NAMESPACE_URL, f"{label}/{r['dct:identifier']}/{i}"), kind="project",
                      status="completed", origin_node="http://bench.test", title=r["dct:title"][:300],
                      summary=r["dct:description"][:2000] or r["dct:title"][:300], language="de",
                      municipality_id=places[label].id, visibility="public", created_at=NOW, updated_at=NOW,
                      search_terms=search_document(r["dct:title"], r["dct:description"], "", [], "de"))
                for label, g in sorted(groups.items()) for i, r in enumerate(g)
            ], batch_size=500)
        index = await ProfileStore(bilingual=bilingual).load()
    await db.close()
    return index, {label: m.id for label, m in places.items()}


def matcher_rankings(index: ProfileIndex, ids: dict[str, int], weights: Weights) -> tuple[Rankings, float]:
    labels = topic_terms(index)
    by_id = {pid: label for label, pid in ids.items()}
    first = min(FIRST, len(ids) - 1)
    out: Rankings = {}
    took: list[float] = []
    for label, pid in ids.items():
        t = time.perf_counter()
        _, matches = rank(index, MatchQuery(index.places[pid], first=first).validated(), weights, labels)
        took.append(time.perf_counter() - t)
        out[label] = [by_id[m.place.id] for m in matches if m.place.id in by_id]
    took.sort()
    return out, took[len(took) // 2]


def shuffle_structure(index: ProfileIndex, ids: dict[str, int]) -> None:
    """Give each publisher the structural facts (size, population, urbanisation, Land, Kreis, position)
    of another, drawn at random: what is left to rank by is the text."""
    pids = sorted(ids.values())
    donors = random.Random(SEED + 1).sample(pids, len(pids))
    old = {pid: index.places[pid] for pid in pids}
    for pid, donor in zip(pids, donors, strict=True):
        d = old[donor]
        index.put_place(replace(old[pid], size_class=d.size_class, population=d.population,
                                urbanisation=d.urbanisation, land_code=d.land_code, land_name=d.land_name,
                                kreis_key=d.kreis_key, latitude=d.latitude, longitude=d.longitude,
                                log_pop=None, located=False))


async def benchmark(folder: Path, name: str, groups: dict[str, Group], truth: Truth, stand_ins: bool) -> dict[str, object]:
    index, ids = await load(folder, name, groups, stand_ins)
    docs = {label: "\n".join(f"{r['dct:title']} {r['dct:description']}" for r in g) for label, g in groups.items()}
    rankings: dict[str, Rankings] = {}
    results: dict[str, dict[str, object]] = {}
    for method, weights in (("matcher_default_weights", Weights()), ("matcher_text_only", TEXT_ONLY)):
        rankings[method], median = matcher_rankings(index, ids, weights)
        results[method] = {**evaluate(rankings[method], truth), "median_query_ms": round(median * 1000, 2)}
    plain, _ = await load(folder, name, groups, stand_ins, bilingual=False)
    rankings["matcher_default_without_vocabulary"], _ = matcher_rankings(plain, ids, Weights())
    results["matcher_default_without_vocabulary"] = evaluate(rankings["matcher_default_without_vocabulary"], truth)
    rankings["baseline_tfidf"] = tfidf_rankings(docs, FIRST)
    rankings["baseline_bm25"] = bm25_rankings(docs, FIRST)
    for method in ("baseline_tfidf", "baseline_bm25"):
        results[method] = evaluate(rankings[method], truth)
    results["baseline_random"] = random_baseline(truth, list(groups), 200 if len(groups) < 100 else 20, SEED)
    if not stand_ins:
        population = {o: max(1, index.places[ids[o]].population or 1) for o in groups}
        rankings["baseline_population_only"] = {
            q: sorted((o for o in groups if o != q), key=lambda o: (abs(math.log(population[o] / population[q])), o))
            for q in groups}
        results["baseline_population_only"] = evaluate(rankings["baseline_population_only"], truth)
    for method, r in rankings.items():
        results[method]["hub_share@10"] = hub_share(r)
    best = max(("baseline_tfidf", "baseline_bm25"), key=lambda m: float(results[m]["ndcg@10"]))  # type: ignore[arg-type]
    default = per_query(rankings["matcher_default_weights"], truth)
    shuffle_structure(index, ids)
    shuffled, _ = matcher_rankings(index, ids, Weights())
    text_only = float(results["matcher_text_only"]["ndcg@10"])  # type: ignore[arg-type]
    shuffled_ndcg = evaluate(shuffled, truth)["ndcg@10"]
    return {
        "publishers": len(groups),
        "entries": sum(len(g) for g in groups.values()),
        "queries_with_a_relevant_peer": len(default),
        "results": results,
        "default_vs_best_baseline": {"baseline": best, **paired_bootstrap(default, per_query(rankings[best], truth))},
        "shuffled_structure": {"default_ndcg@10": shuffled_ndcg, "text_only_ndcg@10": text_only,
                               "relative_difference": round((shuffled_ndcg - text_only) / text_only, 4)},
    }


async def main(keep: str | None) -> dict[str, object]:
    started = time.perf_counter()
    folder = Path(keep or tempfile.mkdtemp(prefix="matching-quality-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = read_rows()
    nrw, nrw_truth = nrw_groups(rows)
    stand, stand_truth = stand_in_groups(rows)
    return {
        "benchmark": "matching_quality",
        "data": "Musterdatenkatalog 2.1 NRW (CC0), THEMA and Musterdatensatz labels hidden from the matcher",
        "nrw": {"ground_truth": "cosine similarity of THEMA distributions (graded gains)",
                **await benchmark(folder, "nrw", nrw, nrw_truth, stand_ins=False)},
        "stand_ins": {"ground_truth": "cosine similarity of Musterdatensatz distributions of (ORG, THEMA) groups",
                      **await benchmark(folder, "stand_ins", stand, stand_truth, stand_ins=True)},
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="reuse/keep the databases in this folder")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.keep)), indent=2, ensure_ascii=False))
