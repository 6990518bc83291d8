"""Peer-matching profiles: what each municipality published, condensed for fast matching.

A profile holds, per publishing municipality, its stemmed terms (the top
`MAX_TERMS` of `Entry.search_terms` by frequency, as log-tf weights), its
controlled topics, and its experience (completed projects, lessons learned,
projects with evaluated indicators); an inverted index maps each term to the
profiles holding it, and the register rows give the structural facts. Only
public, not unpublished entries count: a match is shown to anyone. The index
is built once at startup (`ProfileStore.load`) and then kept current one
publisher at a time (`ProfileStore.on_entry`, a catalogue listener), so a
query never rebuilds anything. Document frequencies change with every update;
a profile's norm uses the IDF of its last update, which drifts only slightly.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tortoise.functions import Count, Min

from exchange.models import Entry, EntryTopic, Municipality, Topic

MAX_TERMS = 300  # terms kept per publisher
ITEM_TERMS = 12  # terms kept per experience item
ITEM_WINDOW = 60  # leading terms of an item's search_terms looked at
CHUNK = 2000  # entries read at once while loading (whole publishers, so a batch may hold more)


@dataclass(slots=True)
class Place:
    """The structural facts of one register row."""

    id: int
    key: str
    name: str
    level: str
    size_class: str
    population: int | None
    urbanisation: str
    land_code: str
    land_name: str
    kreis_key: str
    latitude: float | None
    longitude: float | None
    # derived once, for the ranking loop
    log_pop: float | None = None
    lat_r: float = 0.0
    lon_r: float = 0.0
    located: bool = False

    def __post_init__(self) -> None:
        if self.population:
            self.log_pop = math.log10(self.population)
        if self.latitude is not None and self.longitude is not None:
            self.lat_r, self.lon_r = math.radians(self.latitude), math.radians(self.longitude)
            self.located = True


@dataclass(frozen=True, slots=True)
class EntryDigest:
    """What matching needs of one public entry."""

    id: int
    kind: str
    status: str | None
    evaluated: bool  # a goal indicator has an actual value
    topics: frozenset[int]
    search_terms: str


@dataclass(slots=True)
class ExperienceItem:
    """A completed project or a lesson learned: what a municipality has done."""

    entry_id: int
    kind: str  # project | lesson
    evaluated: bool
    topics: frozenset[int]
    terms: tuple[int, ...]


@dataclass(slots=True)
class Profile:
    place_id: int
    entry_count: int
    term_ids: array  # type: ignore[type-arg]
    weights: array  # type: ignore[type-arg]
    norm: float
    topics: dict[int, int]
    topic_norm: float
    experience: list[ExperienceItem]
    experience_bound: float  # an upper bound of the experience signal


def experience_value(item: ExperienceItem) -> float:
    """How much one item counts before its relevance: lessons most, evaluation adds."""
    base = 0.6 if item.kind == "lesson" else 0.45
    return min(1.0, base + (0.2 if item.evaluated else 0.0))


def saturate(values: Iterable[float]) -> float:
    """1 − Π(1 − v): two items count more than one, a hundred hardly more than five."""
    rest = 1.0
    for v in values:
        rest *= 1.0 - v
    return 1.0 - rest


@dataclass
class ProfileIndex:
    """All profiles, the term vocabulary, document frequencies and the inverted index."""

    places: dict[int, Place] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    topic_labels: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # slug, de, en
    vocab: dict[str, int] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)  # term id -> stem
    df: array = field(default_factory=lambda: array("i"))  # type: ignore[type-arg]
    postings: dict[int, tuple[array, array]] = field(default_factory=dict)  # type: ignore[type-arg]
    profiles: dict[int, Profile] = field(default_factory=dict)
    topic_sets: dict[frozenset[int], frozenset[int]] = field(default_factory=dict)

    @property
    def publishers(self) -> int:
        return len(self.profiles)

    def idf(self, term_id: int) -> float:
        """BM25's IDF over publishers (each publisher's profile is one document)."""
        n = len(self.profiles)
        d = self.df[term_id] if term_id < len(self.df) else 0
        return math.log(1.0 + (n - d + 0.5) / (d + 0.5))

    def term_id(self, term: str, *, create: bool) -> int | None:
        tid = self.vocab.get(term)
        if tid is None and create:
            tid = len(self.vocab)
            self.vocab[term] = tid
            self.words.append(term)
            self.df.append(0)
        return tid

    def put_place(self, place: Place) -> None:
        self.places[place.id] = place
        self.by_key[place.key] = place.id

    def remove(self, place_id: int) -> None:
        """Drop a publisher's profile and its postings."""
        old = self.profiles.pop(place_id, None)
        if old is None:
            return
        for tid in old.term_ids:
            self.df[tid] -= 1
            pids, ws = self.postings[tid]
            i = pids.index(place_id)
            del pids[i]
            del ws[i]
            if not pids:
                del self.postings[tid]

    def put(self, place_id: int, entries: list[EntryDigest]) -> Profile | None:
        """Replace a publisher's profile by one built from its public entries."""
        self.remove(place_id)
        if not entries:
            return None
        counts: Counter[str] = Counter()
        topics: Counter[int] = Counter()
        experience: list[ExperienceItem] = []
        for e in entries:
            words = e.search_terms.split()
            counts.update(words)
            topics.update(e.topics)
            if e.kind == "lesson" or (e.kind == "project" and e.status == "completed"):
                # search_terms open with the title (three times), keywords and summary: the item's gist
                top = list(dict.fromkeys(words[:ITEM_WINDOW]))[:ITEM_TERMS]
                ids = tuple(i for i in (self.term_id(t, create=True) for t in top) if i is not None)
                shared = self.topic_sets.setdefault(e.topics, e.topics)  # one object per distinct set
                experience.append(ExperienceItem(e.id, e.kind, e.evaluated, shared, ids))
        top_terms = counts.most_common(MAX_TERMS)
        term_ids = array("i")
        weights = array("f")
        for term, tf in top_terms:
            tid = self.term_id(term, create=True)
            assert tid is not None
            term_ids.append(tid)
            weights.append(1.0 + math.log(tf))
            self.df[tid] += 1
        profile = Profile(
            place_id=place_id,
            entry_count=len(entries),
            term_ids=term_ids,
            weights=weights,
            norm=0.0,
            topics=dict(topics),
            topic_norm=math.sqrt(sum(c * c for c in topics.values())),
            experience=experience,
            experience_bound=saturate(experience_value(x) for x in experience),
        )
        self.profiles[place_id] = profile
        for tid, w in zip(term_ids, weights):
            slot = self.postings.get(tid)
            if slot is None:
                slot = self.postings[tid] = (array("i"), array("f"))
            slot[0].append(place_id)
            slot[1].append(w)
        profile.norm = self.norm_of(profile)
        return profile

    def norm_of(self, profile: Profile) -> float:
        return math.sqrt(
            sum((w * self.idf(t)) ** 2 for t, w in zip(profile.term_ids, profile.weights))
        ) or 1.0

    def reweigh(self) -> None:
        """Recompute every norm with the current IDF (after a bulk load)."""
        for profile in self.profiles.values():
            profile.norm = self.norm_of(profile)


def place_of(m: Any) -> Place:
    """A Place from a Municipality row or a `.values()` dict of one."""
    get: Callable[[str], Any] = m.get if isinstance(m, dict) else lambda k: getattr(m, k)
    return Place(
        id=get("id"), key=get("official_key"), name=get("name"), level=get("level"),
        size_class=get("size_class") or "", population=get("population"),
        urbanisation=get("urbanisation") or "", land_code=get("land_code") or "",
        land_name=get("land_name") or "", kreis_key=get("kreis_key") or "",
        latitude=get("latitude"), longitude=get("longitude"),
    )


_PLACE_FIELDS = ("id", "official_key", "name", "level", "size_class", "population", "urbanisation",
                 "land_code", "land_name", "kreis_key", "latitude", "longitude")
_ENTRY_FIELDS = ("id", "municipality_id", "kind", "status", "goals", "search_terms")


def has_actual_values(goals: Any) -> bool:
    for goal in goals or []:
        for ind in goal.get("indicators", []) if isinstance(goal, dict) else []:
            if isinstance(ind, dict) and ind.get("actual") is not None:
                return True
    return False


def _digest(row: dict[str, Any], topics: frozenset[int]) -> EntryDigest:
    return EntryDigest(row["id"], row["kind"], row["status"], has_actual_values(row["goals"]), topics,
                       row["search_terms"] or "")


def _public_entries() -> Any:
    return Entry.filter(visibility="public", deleted=False, municipality_id__isnull=False)


async def _publisher_batches() -> list[list[int]]:
    """Publishers in the order of their first public entry, in batches of about `CHUNK` entries.

    Profiles are built one batch at a time, so only one batch of entry texts is
    held at once; the order keeps term ids and postings as a single pass would.
    """
    stats = await _public_entries().annotate(first=Min("id"), n=Count("id")).group_by(
        "municipality_id").values_list("municipality_id", "first", "n")
    batches: list[list[int]] = []
    size = CHUNK
    for place_id, _, n in sorted(stats, key=lambda s: s[1]):
        if size + n > CHUNK and size:
            batches.append([])
            size = 0
        batches[-1].append(place_id)
        size += n
    return batches


async def _topics_of(ids: list[int]) -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = {}
    for entry_id, topic_id in await EntryTopic.filter(entry_id__in=ids).values_list("entry_id", "topic_id"):
        found.setdefault(entry_id, set()).add(topic_id)
    return {k: frozenset(v) for k, v in found.items()}


class ProfileStore:
    """The profile index of one node and the database reads that keep it current."""

    def __init__(self) -> None:
        self.index = ProfileIndex()
        self.loaded = False
        self._lock = asyncio.Lock()

    async def load(self) -> ProfileIndex:
        """Read the register, the topics and every public entry once (in chunks)."""
        index = ProfileIndex()
        for row in await Municipality.filter(active=True).values(*_PLACE_FIELDS):
            index.put_place(place_of(row))
        for t in await Topic.all().values("id", "slug", "label_de", "label_en"):
            index.topic_labels[t["id"]] = (t["slug"], t["label_de"], t["label_en"])
        for batch in await _publisher_batches():
            rows = await _public_entries().filter(municipality_id__in=batch).order_by("id").values(*_ENTRY_FIELDS)
            topics = await _topics_of([r["id"] for r in rows])
            grouped: dict[int, list[EntryDigest]] = {place_id: [] for place_id in batch}
            for r in rows:
                grouped[r["municipality_id"]].append(_digest(r, topics.get(r["id"], frozenset())))
            del rows, topics
            for place_id, digests in grouped.items():
                index.put(place_id, digests)
        index.reweigh()
        async with self._lock:
            self.index = index
            self.loaded = True
        return index

    async def refresh(self, place_id: int) -> None:
        """Rebuild one publisher's profile from its current public entries."""
        async with self._lock:
            rows = await _public_entries().filter(municipality_id=place_id).values(
                "id", "kind", "status", "search_terms")
            evaluated = {
                i for i, goals in await _public_entries().filter(
                    municipality_id=place_id, kind="project", status="completed").values_list("id", "goals")
                if has_actual_values(goals)
            }
            found: dict[int, set[int]] = {}
            for entry_id, topic_id in await EntryTopic.filter(
                entry__municipality_id=place_id, entry__visibility="public", entry__deleted=False
            ).values_list("entry_id", "topic_id"):
                found.setdefault(entry_id, set()).add(topic_id)
            topics = {k: frozenset(v) for k, v in found.items()}
            for r in rows:
                r["goals"] = [{"indicators": [{"actual": 1}]}] if r["id"] in evaluated else []
            if place_id not in self.index.places:
                m = await Municipality.get_or_none(id=place_id)
                if m is not None:
                    self.index.put_place(place_of(m))
            self.index.put(place_id, [_digest(r, topics.get(r["id"], frozenset())) for r in rows])

    async def on_entry(self, entry: Entry) -> None:
        """Catalogue listener: an entry was published, revised, unpublished or received."""
        if entry.municipality_id is not None and self.loaded:
            await self.refresh(entry.municipality_id)
