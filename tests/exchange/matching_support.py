"""Support for the matching tests: real-ish catalogues, the plain ranking, index snapshots.

`realish` spreads the titles and descriptions of the Musterdatenkatalog NRW
(real municipal texts) over synthetic places with mixed structural data, and
mixes kinds, statuses, topics and evaluations as on a node. `plain_rank` is
the ranking as it was written before the hot loop was flattened (per
publisher: dictionary accumulators, `fast_km`, `structure_fast`, the topic dot
product summed per profile): the fast path must give the same peers and
scores. `snapshot` describes an index by stems rather than term ids, so an
index kept current by updates can be compared with one built from scratch.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from content import search_document
from exchange.matching import MatchQuery, Need, Weights
from exchange.matching.profiles import EntryDigest, Place, ProfileIndex
from exchange.matching.rank import (
    MAX_EXAMINED,
    QUERY_TOPICS,
    Match,
    _annotate,
    _experience,
    _passes,
    _structural_only,
    need_of,
    score_of,
)
from exchange.matching.structure import fast_km, structure_fast

DATA = Path(__file__).resolve().parents[2] / "exchange" / "data" / "musterdatenkatalog_nrw.csv.gz"
SIZES = ((5000, "Landgemeinde"), (20000, "Kleinstadt"), (100000, "Mittelstadt"), (10**9, "Großstadt"))
LANDS = {"05": "Nordrhein-Westfalen", "09": "Bayern", "03": "Niedersachsen"}


def texts() -> list[tuple[str, str]]:
    """(title, description) of every dataset of the Musterdatenkatalog NRW."""
    rows = csv.DictReader(io.StringIO(gzip.decompress(DATA.read_bytes()).decode("utf-8")))
    return [(r["dct:title"], r["dct:description"]) for r in rows]


def realish_places(rng: random.Random, n: int) -> list[Place]:
    """Places with the gaps a register has: some without population, position or urbanisation."""
    places = []
    for pid in range(1, n + 1):
        population = None if rng.random() < 0.05 else int(10 ** rng.uniform(2.5, 6.2))
        size = next(label for limit, label in SIZES if population is not None and population < limit) \
            if population is not None else ""
        located = rng.random() > 0.05
        land = rng.choice(sorted(LANDS))
        places.append(Place(
            pid, f"{pid:012d}", f"Ort {pid}", "gemeinde", size, population,
            rng.choice(["01", "02", "03", "03", ""]), land, LANDS[land], f"{land}{rng.randint(1, 9):03d}",
            rng.uniform(47.5, 54.5) if located else None, rng.uniform(6.0, 14.5) if located else None,
        ))
    return places


def realish_entry(rng: random.Random, entry_id: int, pool: list[tuple[str, str]]) -> EntryDigest:
    title, description = rng.choice(pool)
    kind = rng.choices(["project", "lesson", "guide"], [60, 25, 15])[0]
    status = rng.choice(["planned", "running", "completed", "completed"]) if kind == "project" else None
    topics = frozenset(rng.sample(range(1, 13), rng.randint(0, 3)))
    return EntryDigest(entry_id, kind, status, rng.random() < 0.2, topics,
                       search_document(title, description, "", [], "de"))


def realish(seed: int, places: int = 150, publishers: int = 110, entries: int = 1200) -> tuple[
        list[Place], dict[int, list[EntryDigest]]]:
    """Places and, per publisher, its public entries (a Zipf-like spread: a few large ones)."""
    rng = random.Random(seed)
    pool = texts()
    all_places = realish_places(rng, places)
    owners = rng.sample([p.id for p in all_places], publishers)
    weights = [1 / (i + 1) ** 0.7 for i in range(publishers)]
    published: dict[int, list[EntryDigest]] = {pid: [] for pid in owners}
    for entry_id, pid in enumerate(rng.choices(owners, weights, k=entries - publishers) + owners, start=1):
        published[pid].append(realish_entry(rng, entry_id, pool))
    return all_places, published


def fresh_index(places: list[Place], published: Mapping[int, list[EntryDigest]],
                labels: Mapping[int, tuple[str, str, str]] | None = None) -> ProfileIndex:
    """An index built from scratch as `ProfileStore.load` builds it: publishers by first entry."""
    index = ProfileIndex()
    for p in places:
        index.put_place(p)
    index.topic_labels.update(labels or {})
    for pid, entries in sorted(published.items(), key=lambda kv: min((e.id for e in kv[1]), default=0)):
        if entries:
            index.put(pid, sorted(entries, key=lambda e: e.id), defer=True)
    index.reweigh()
    return index


def snapshot(index: ProfileIndex) -> dict[str, Any]:
    """Everything of an index that matching reads, by stem (term ids differ between builds); norms apart."""
    word = index.words.__getitem__
    return {
        "order": list(index.profiles),
        "profiles": {
            pid: (p.entry_count, [(word(t), w) for t, w in zip(p.term_ids, p.weights)], list(p.topics.items()),
                  p.topic_norm, [(x.entry_id, x.kind, x.evaluated, sorted(x.topics), [word(t) for t in x.terms])
                                 for x in p.experience], p.experience_bound, p.first_entry)
            for pid, p in index.profiles.items()
        },
        "df": {word(t): d for t, d in enumerate(index.df) if d},
        "postings": {word(t): (list(pids), list(ws)) for t, (pids, ws) in index.postings.items()},
        "topic_postings": {k: (list(pids), list(cs)) for k, (pids, cs) in index.topic_postings.items()},
        "rows": list(index.rows),
        "publishers": index.publishers,
    }


def plain_rank(index: ProfileIndex, query: MatchQuery, w: Weights,
               label_terms: Mapping[int, frozenset[str]]) -> tuple[Need, list[Match]]:
    """`exchange.matching.rank` as written before the fast path (commit a6628aa), for comparison."""
    need = need_of(index, query, label_terms)
    acc: dict[int, float] = {}
    get = acc.get
    for tid, qw in need.terms.items():
        slot = index.postings.get(tid)
        if slot is None:
            continue
        f = qw * index.idf(tid)
        for pid, pw in zip(slot[0], slot[1]):
            acc[pid] = get(pid, 0.0) + f * pw
    need.topics = dict(heapq.nlargest(QUERY_TOPICS, need.topics.items(), key=lambda kv: kv[1]))
    has_topics = bool(need.topics)
    qn = math.sqrt(sum(v * v for v in need.topics.values())) or 1.0
    filtering = query.same_state or bool(query.size_classes) or query.radius_km is not None
    bounds: list[tuple[float, float, float, int, float | None]] = []
    for pid, profile in index.profiles.items():
        p = index.places.get(pid)
        if p is None or pid == query.place.id:
            continue
        km = fast_km(query.place, p)
        if filtering and not _passes(query, p, km):
            continue
        t = min(1.0, get(pid, 0.0) / profile.norm)
        if has_topics and profile.topics:
            dot = sum(v * profile.topics.get(k, 0) for k, v in need.topics.items())
            t = (w.terms * t + w.controlled * dot / (qn * profile.topic_norm)) / (w.terms + w.controlled)
        s = structure_fast(query.place, p, w, km)
        bounds.append((score_of(w, t, profile.experience_bound, s), t, s, pid, None))
    bounds.sort(reverse=True)
    best: list[tuple[float, int, Match]] = []
    wanted_topics, wanted_terms = frozenset(need.topics), frozenset(need.terms)
    for examined, (upper, t, s, pid, _) in enumerate(bounds):
        if len(best) >= query.first and (upper <= best[0][0] or examined >= MAX_EXAMINED):
            break
        profile = index.profiles[pid]
        e, ids = _experience(need, profile, wanted_topics, wanted_terms)
        score = score_of(w, t, e, s)
        match = Match(index.places[pid], score, t, e, s, True, profile.entry_count, experience_ids=ids)
        item = (score, -pid, match)
        if len(best) < query.first:
            heapq.heappush(best, item)
        elif item > best[0]:
            heapq.heapreplace(best, item)
    matches = [m for _, _, m in sorted(best, key=lambda x: (x[0], x[1]), reverse=True)]
    if len(matches) < query.first:
        matches.extend(_structural_only(index, query, w, query.first - len(matches)))
    label_stems = {index.vocab[s] for words in label_terms.values() for s in words if s in index.vocab}
    for m in matches:
        _annotate(index, need, query.place, m, label_stems)
    return need, matches
