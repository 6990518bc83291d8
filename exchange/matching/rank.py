"""Peer matching: rank municipalities that work on similar things (the reasons are in `reasons`).

Three signals, each in [0, 1], combined with weights from configuration
(`EXCHANGE_MATCHING_WEIGHTS`, see `Weights` and exchange/data/matching.en.md),
relevance first (`score_of`): experience and structure re-rank peers by
their topic evidence, they never lift a peer without it.
*topics* — cosine similarity of BM25-weighted stemmed terms of all public
entries of a publisher (one L2-normalised vector per publisher, so a city with
hundreds of entries has no more weight than a town with one), blended with
the cosine of controlled-topic counts; *experience* — completed projects and
lessons learned on the asked topics, saturating (1 − Π(1 − v)) over a
publisher's three most relevant items only, so that one relevant lesson
already counts much and a publisher with many generic matches no more than
one with three good ones (no hubs);
*structure* — size class and population ratio, DEGURBA urbanisation, same
Land, distance. Ranking is exact with threshold pruning: candidates are
sorted by an upper bound and the expensive experience signal is computed
only while a candidate can still enter the top. Pure: no I/O, no clock.
"""

from __future__ import annotations

import heapq
import math
import re
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from content import query_alternatives, terms
from exchange.errors import InvalidInputError
from exchange.matching.profiles import (
    EXPERIENCE_COUNTED,
    Place,
    Profile,
    ProfileIndex,
    experience_value,
    saturate,
)
from exchange.matching.structure import fast_km, haversine_km, structure_fast
from exchange.matching.vocabulary import PREFIX, generic_stems
from exchange.matching.weights import Weights
from exchange.registry import SIZE_CLASSES

_WORD = re.compile(r"[^\W\d_][\w-]{2,}")

MAX_ABOUT = 5000
MAX_FIRST = 50
QUERY_TERMS = 200  # a profile's strongest terms compared (NRW benchmark: 60 -> 200 raised NDCG@10 0.842 -> 0.887)
QUERY_TOPICS = 8  # the asker's main topics compared
MAX_EXAMINED = 300  # candidates whose experience is computed exactly, at most
COMMON_SHARE = 0.5  # terms used by more than half of all publishers are left out of queries
NEIGHBOUR_KM = 25.0
FLOOR = 0.01  # the most a peer without topic evidence scores (its structure and experience alone)
ORGANISATION = "organisation"  # the `Place.level` of an organisation
NO_STRUCTURE = -1.0  # a structure score in the ranking loop's tuples: no structural fact applies
PUBLISHERS = ("municipalities", "organisations", "all")
DISTINCTIVE_SHARE = 0.1  # a reason cites shared terms used by at most this share of publishers (or by two)
CLEAR_EVIDENCE = 0.06  # a topic score this high always ranks above no evidence, whatever the weights

__all__ = ["Match", "MatchQuery", "Need", "Weights", "rank", "score_of", "topic_terms"]


def score_of(w: Weights, topics: float, experience: float, structure: float | None) -> float:
    """Relevance first: FLOOR·(experience and structure alone) + (1 − FLOOR)·topics·(wt + we·e + ws·s).

    The signal weights (normalised) say how much experience and structure
    raise a relevant peer: with the default 0.5/0.3/0.2, a peer with the best
    experience and structure counts twice a peer with the same topic score
    and neither. A peer without topic evidence scores at most FLOOR, so any
    peer whose topic score is at least CLEAR_EVIDENCE ranks above it (topics
    keep at least a fifth of the weight, `weights.MIN_TOPICS_SHARE`).
    `structure` None: no structural fact applies to the pair (an organisation,
    or `about` without an asker); topics and experience then keep their ratio
    and share the whole weight, so a peer is neither lifted nor pushed down
    for facts it cannot have.
    """
    wt, we, ws = w.signals()
    if structure is None:
        total = wt + we
        return FLOOR * (experience if we else 0.0) + (1.0 - FLOOR) * topics * (wt + we * experience) / total
    rest = we + ws
    alone = (we * experience + ws * structure) / rest if rest else 0.0
    return FLOOR * alone + (1.0 - FLOOR) * topics * (wt + we * experience + ws * structure)


@dataclass(frozen=True)
class MatchQuery:
    """One question: peers for `place`, optionally for a planned project described in `about`."""

    place: Place
    about: str | None = None
    first: int = 10
    same_state: bool = False
    size_classes: frozenset[str] = frozenset()
    radius_km: float | None = None
    publishers: str = "municipalities"  # who may be a peer: municipalities, organisations or all

    def validated(self) -> MatchQuery:
        if self.publishers not in PUBLISHERS:
            raise InvalidInputError(f"publishers must be one of {', '.join(PUBLISHERS)}, not {self.publishers!r}")
        if not 1 <= self.first <= MAX_FIRST:
            raise InvalidInputError(f"first must be between 1 and {MAX_FIRST}, not {self.first}")
        if self.about is not None:
            if not self.about.strip():
                raise InvalidInputError("about is empty; describe the planned project in a few sentences")
            if len(self.about) > MAX_ABOUT:
                raise InvalidInputError(f"about is {len(self.about)} characters long; at most {MAX_ABOUT} are allowed")
        unknown = sorted(self.size_classes - set(SIZE_CLASSES))
        if unknown:
            raise InvalidInputError(f"unknown size class(es) {', '.join(unknown)}; use {', '.join(SIZE_CLASSES)}")
        if self.radius_km is not None and not 0 < self.radius_km <= 2000:
            raise InvalidInputError(f"radiusKm must be between 0 and 2000, not {self.radius_km}")
        return self


@dataclass
class Need:
    """What the asker works on: a normalised term vector and topic weights, and where they came from."""

    terms: dict[int, float]
    topics: dict[int, float]
    source: str  # own | about | neighbours | none
    neighbours: int = 0

    @property
    def term_set(self) -> frozenset[int]:
        return frozenset(self.terms)


@dataclass
class Match:
    place: Place
    score: float
    topics: float
    experience: float
    structure: float
    has_entries: bool
    entry_count: int = 0
    shared_topics: list[int] = field(default_factory=list)
    shared_terms: list[int] = field(default_factory=list)  # distinctive shared stems, strongest first
    shared_concepts: list[int] = field(default_factory=list)  # distinctive shared concept terms (≈…)
    experience_ids: list[int] = field(default_factory=list)
    distance_km: float | None = None
    structured: bool = True  # False: no structural fact applies, `structure` is 0 and not counted


def _normalised(index: ProfileIndex, vector: Mapping[int, float], most: int | None = None) -> dict[int, float]:
    """The `most` strongest terms, normalised; terms that most publishers use say nothing and are left out."""
    most = QUERY_TERMS if most is None else most
    n = index.publishers
    common = n * COMMON_SHARE if n >= 50 else float("inf")
    top = heapq.nlargest(most, ((t, v) for t, v in vector.items() if index.df[t] <= common), key=lambda kv: kv[1])
    norm = math.sqrt(sum(v * v for _, v in top)) or 1.0
    return {k: v / norm for k, v in top if v > 0}


def profile_vector(index: ProfileIndex, profile: Profile) -> dict[int, float]:
    return {t: w * index.idf(t) / profile.norm for t, w in zip(profile.term_ids, profile.weights)}


def topic_terms(index: ProfileIndex) -> dict[int, frozenset[str]]:
    """Stems of each topic's German and English labels, to find topics named in free text."""
    return {
        tid: frozenset(terms(de, "de")) | frozenset(terms(en, "en"))
        for tid, (_, de, en) in index.topic_labels.items()
    }


def need_of(index: ProfileIndex, query: MatchQuery, label_terms: Mapping[int, frozenset[str]]) -> Need:
    """The asker's need: from `about`, else its own profile, else its Kreis and neighbours."""
    if query.about is not None:
        counts: dict[int, float] = {}
        stems: set[str] = set()
        for group in query_alternatives(query.about):
            for stem in group:
                stems.add(stem)
                tid = index.vocab.get(stem)
                if tid is not None and index.df[tid] > 0:
                    counts[tid] = counts.get(tid, 0.0) + 1.0
        if not stems:
            raise InvalidInputError("about has no words to match on; describe the planned project")
        for concept in index.vocabulary.concepts(stems) if index.vocabulary is not None else ():
            tid = index.vocab.get(concept)
            if tid is not None and index.df[tid] > 0:
                counts[tid] = counts.get(tid, 0.0) + 1.0
        vector = {t: (1.0 + math.log(c)) * index.idf(t) for t, c in counts.items()}
        found = {tid: 1.0 for tid, words in label_terms.items() if words and words <= stems}
        return Need(_normalised(index, vector), found, "about")
    own = index.profiles.get(query.place.id)
    if own is not None:
        return Need(_normalised(index, profile_vector(index, own)), {k: float(v) for k, v in own.topics.items()}, "own")
    summed: dict[int, float] = {}
    topics: dict[int, float] = {}
    near = 0
    for pid, profile in index.profiles.items():
        p = index.places.get(pid)
        if p is None or pid == query.place.id:
            continue
        km = fast_km(query.place, p)
        if (query.place.kreis_key and p.kreis_key == query.place.kreis_key) or (km is not None and km <= NEIGHBOUR_KM):
            near += 1
            for t, v in profile_vector(index, profile).items():
                summed[t] = summed.get(t, 0.0) + v
            for t, c in profile.topics.items():
                topics[t] = topics.get(t, 0.0) + c
    return Need(_normalised(index, summed), topics, "neighbours" if near else "none", near)


def _passes(q: MatchQuery, p: Place, km: float | None) -> bool:
    if q.same_state and p.land_code != q.place.land_code:
        return False
    if q.size_classes and p.size_class not in q.size_classes:
        return False
    return q.radius_km is None or (km is not None and km <= q.radius_km)


def _experience(need: Need, profile: Profile, wanted_topics: frozenset[int], wanted_terms: frozenset[int]) -> tuple[float, list[int]]:
    """Saturated value of the three most valuable items on the asked topics (shared topic, or three
    shared title terms), and the ids of all such items, most valuable first."""
    scored: list[tuple[float, int]] = []
    for item in profile.experience:
        if not wanted_topics.isdisjoint(item.topics):
            relevance = 1.0
        else:
            shared = len(wanted_terms.intersection(item.terms))
            if not shared:
                continue
            relevance = min(1.0, shared / 3)
        scored.append((experience_value(item) * relevance, item.entry_id))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return saturate(v for v, _ in scored[:EXPERIENCE_COUNTED]), [i for _, i in scored]


def rank(index: ProfileIndex, query: MatchQuery, w: Weights, label_terms: Mapping[int, frozenset[str]]) -> tuple[Need, list[Match]]:
    """The best `query.first` peers, best first, with each signal's score."""
    need = need_of(index, query, label_terms)
    acc = _dots(index.slots, ((index.postings.get(tid), qw * index.idf(tid)) for tid, qw in need.terms.items()))
    need.topics = dict(heapq.nlargest(QUERY_TOPICS, need.topics.items(), key=lambda kv: kv[1]))
    qn = math.sqrt(sum(v * v for v in need.topics.values())) or 1.0
    bounds = _bounds(index, query, w, acc, need.topics, qn)
    bounds.sort(reverse=True)
    best: list[tuple[float, int, Match]] = []
    wanted_topics, wanted_terms = frozenset(need.topics), frozenset(need.terms)
    for examined, (upper, t, s, pid) in enumerate(bounds):
        if len(best) >= query.first and (upper <= best[0][0] or examined >= MAX_EXAMINED):
            break
        profile = index.profiles[pid]
        e, ids = _experience(need, profile, wanted_topics, wanted_terms)
        structured = s != NO_STRUCTURE
        score = score_of(w, t, e, s if structured else None)
        match = Match(index.places[pid], score, t, e, s if structured else 0.0, True, profile.entry_count,
                      experience_ids=ids, structured=structured)
        item = (score, -pid, match)
        if len(best) < query.first:
            heapq.heappush(best, item)
        elif item > best[0]:
            heapq.heapreplace(best, item)
    matches = [m for _, _, m in sorted(best, key=lambda x: (x[0], x[1]), reverse=True)]
    if len(matches) < query.first and query.publishers != "organisations":
        matches.extend(_structural_only(index, query, w, query.first - len(matches)))
    label_stems = {index.vocab[s] for words in label_terms.values() for s in words if s in index.vocab}
    for m in matches:
        _annotate(index, need, query.place, m, label_stems)
    return need, matches


def _dots(slots: int, factors: Iterable[tuple[tuple[array, array] | None, float]]) -> list[float]:  # type: ignore[type-arg]
    """Σ factor · value over postings (place ids, values), by place id: for each posting in turn,
    `acc[pid] += factor * value` over its places, as the plain loop adds them (the same doubles,
    in the same order; a posting holds a place once), in numpy over the postings' own buffers."""
    acc = np.zeros(slots)
    for slot, factor in factors:
        if slot is not None:
            pids = np.frombuffer(slot[0], dtype=np.intc)
            acc[pids] += np.frombuffer(slot[1], dtype=_NUMPY_TYPES[slot[1].typecode]).astype(np.float64) * factor
    return acc.tolist()


_NUMPY_TYPES = {"f": np.float32, "i": np.intc}


def _bounds(
    index: ProfileIndex, query: MatchQuery, w: Weights, acc: list[float], topics: dict[int, float], qn: float,
) -> list[tuple[float, float, float, int]]:
    """(upper bound, topics, structure, place id) of every eligible publisher.

    The ranking's hot loop, run for every publisher on every query, over the
    flat `index.rows`: `structure_fast` and `fast_km` written out with the
    same arithmetic in the same order (so the same floats), the topic dot
    products summed beforehand over the topic postings, in the order of the
    asked topics (again the same floats as summing per publisher).
    """
    wt, we, ws = w.signals()
    floor_e = FLOOR / (we + ws) if we + ws else 0.0  # `score_of` written out
    relevant = 1.0 - FLOOR
    floor_bare = FLOOR if we else 0.0  # `score_of` without structure written out
    bare_t, bare_e = relevant * wt / (wt + we), relevant * we / (wt + we)
    org_base = index.org_base
    municipalities, organisations = query.publishers != "organisations", query.publishers != "municipalities"
    q = query.place
    qid, qlog, qsize, qurb, qland = q.id, q.log_pop, q.size_class, q.urbanisation_rank, q.land_code
    qlocated, qlat, qlon = q.located, q.lat_r, q.lon_r
    wsize, wurb, wland, wdist, dkm = w.size, w.urbanisation, w.land, w.distance, w.distance_km
    wterms, wctrl = w.terms, w.controlled
    wtopics = wterms + wctrl
    dots = _dots(index.slots, ((index.topic_postings.get(topic), v) for topic, v in topics.items()))
    has_topics = bool(topics)
    filtering = query.same_state or bool(query.size_classes) or query.radius_km is not None
    places, norms = index.places, index.norms
    cos, sqrt = math.cos, math.sqrt
    bounds: list[tuple[float, float, float, int]] = []
    for pid, plog, psize, purb, pland, plocated, plat, plon, topic_norm, experience_bound in index.rows:
        if pid == qid or not (organisations if pid >= org_base else municipalities):
            continue
        km: float | None = None
        if qlocated and plocated:
            x = (plon - qlon) * cos((qlat + plat) / 2)
            km = 6371.0 * sqrt(x * x + (plat - qlat) ** 2)
        if filtering and not _passes(query, places[pid], km):
            continue
        t = acc[pid] / norms[pid]
        if t >= 1.0:  # noqa: PLR1730 (min, max and abs are calls: this loop runs 5,000 times a query)
            t = 1.0
        if has_topics and topic_norm:  # a profile has topics exactly when its topic norm is not 0
            t = (wterms * t + wctrl * dots[pid] / (qn * topic_norm)) / wtopics
        num = den = 0.0
        if qlog is not None and plog is not None:
            gap = qlog - plog
            popsim = 1.0 - (gap if gap >= 0.0 else -gap) / 2
            if popsim <= 0.0:  # noqa: PLR1730
                popsim = 0.0
            if qsize:
                popsim = 0.5 * (1.0 if qsize == psize else 0.0) + 0.5 * popsim
            num += wsize * popsim
            den += wsize
        if qurb is not None and purb is not None:
            num += wurb * (1.0 - (qurb - purb if qurb >= purb else purb - qurb) / 2)
            den += wurb
        if qland and pland:
            num += wland * (1.0 if qland == pland else 0.0)
            den += wland
        if km is not None:
            num += wdist / (1.0 + km / dkm)
            den += wdist
        if den:
            s = num / den
            upper = floor_e * (we * experience_bound + ws * s) + relevant * t * (wt + we * experience_bound + ws * s)
        else:
            s = NO_STRUCTURE
            upper = floor_bare * experience_bound + t * (bare_t + bare_e * experience_bound)
        bounds.append((upper, t, s, pid))
    return bounds


def _structural_only(index: ProfileIndex, query: MatchQuery, w: Weights, most: int) -> list[Match]:
    """Peers without entries, by structure alone (when too few publishers qualify)."""
    scored: list[tuple[float, int, Place]] = []
    for pid, p in index.places.items():
        if pid == query.place.id or pid in index.profiles or p.level != query.place.level or p.level == ORGANISATION:
            continue
        km = fast_km(query.place, p)
        if _passes(query, p, km):
            s = structure_fast(query.place, p, w, km)
            scored.append((s if s is not None else NO_STRUCTURE, -pid, p))
    top = heapq.nlargest(most, scored, key=lambda x: (x[0], x[1]))
    return [Match(p, score_of(w, 0.0, 0.0, s if s != NO_STRUCTURE else None), 0.0, 0.0, max(s, 0.0), False,
                  structured=s != NO_STRUCTURE) for s, _, p in top]


def _annotate(index: ProfileIndex, need: Need, asker: Place, m: Match, hidden: set[int]) -> None:
    """Shared topics and terms and the distance, for the reasons of a final match."""
    m.distance_km = haversine_km(asker, m.place)
    profile = index.profiles.get(m.place.id)
    if profile is None:
        return
    m.shared_topics = sorted((t for t in need.topics if t in profile.topics), key=lambda t: -profile.topics[t])[:5]
    mine = dict(zip(profile.term_ids, profile.weights))
    words, df, generic = index.words, index.df, generic_stems()
    most = max(2.0, DISTINCTIVE_SHARE * index.publishers)
    # what each shared term adds to the cosine: its weight in the need times its BM25 weight in the peer
    overlap = [(v * mine[t] * index.idf(t), t) for t, v in need.terms.items()
               if t in mine and t not in hidden and df[t] <= most and words[t] not in generic]
    overlap.sort(reverse=True)
    m.shared_terms = [t for _, t in overlap if not words[t].startswith(PREFIX)][:6]
    m.shared_concepts = [t for _, t in overlap if words[t].startswith(PREFIX)][:3]  # from the vocabulary
