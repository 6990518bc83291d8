"""What a peer-matching profile is made of: the register facts of a place, an entry's
digest, experience items, the profile itself, and the `Tally` that sums entries into a
profile. `profiles.ProfileIndex` holds the profiles and their inverted index.
"""

from __future__ import annotations

import heapq
import math
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from exchange.matching.vocabulary import Vocabulary

MAX_TERMS = 300  # terms kept per publisher
ITEM_TERMS = 12  # terms kept per experience item
ITEM_WINDOW = 60  # leading terms of an item's search_terms looked at
SLICE = 4096  # postings or norms moved between two pauses of a put in steps (well under 1 ms)
EXPERIENCE_COUNTED = 3  # items of a publisher that count for experience: the most valuable on the asked topics
URBANISATION = {"01": 0, "02": 1, "03": 2}  # DEGURBA: cities, towns and suburbs, rural areas


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
    urbanisation_rank: int | None = None

    def __post_init__(self) -> None:
        self.urbanisation_rank = URBANISATION.get(self.urbanisation)
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
    first_entry: int = 0  # the smallest id of its public entries: profiles are kept in this order


def experience_value(item: ExperienceItem) -> float:
    """How much one item counts before its relevance: lessons most, evaluation adds."""
    base = 0.6 if item.kind == "lesson" else 0.45
    return min(1.0, base + (0.2 if item.evaluated else 0.0))


SATURATED = 2.0 ** -54  # below this, 1 − rest rounds to exactly 1.0


def saturate(values: Iterable[float]) -> float:
    """1 − Π(1 − v) for v in [0, 1]: two items count more than one, a hundred hardly more than five.

    Once the product falls below 2⁻⁵⁴ the result is exactly 1.0 and no further
    factor (each at most 1) can change it: the loop stops there, so the bound of
    a publisher with thousands of experience items costs a few dozen steps.
    """
    rest = 1.0
    for v in values:
        rest *= 1.0 - v
        if 0.0 <= rest < SATURATED:
            return 1.0
    return 1.0 - rest


def experience_bound(items: Iterable[ExperienceItem]) -> float:
    """The most experience can be on any question: the `EXPERIENCE_COUNTED` most valuable items, saturated."""
    return saturate(heapq.nlargest(EXPERIENCE_COUNTED, (experience_value(x) for x in items)))


# the ranking loop's view of one publisher: place id, log10 population, size class,
# urbanisation rank, Land, located, latitude and longitude in radians, topic norm, experience bound
Row = tuple[int, float | None, str, int | None, str, bool, float, float, float, float]


class Terms(Protocol):
    """What a tally needs of the index it builds for (`profiles.ProfileIndex`)."""

    topic_sets: dict[frozenset[int], frozenset[int]]
    vocabulary: Vocabulary | None

    def term_id(self, term: str, *, create: bool) -> int | None: ...


class Tally:
    """What a publisher's profile is made of, summed entry by entry in id order.

    `profile` gives the profile of the entries added so far (`ProfileIndex.put`
    builds every profile this way). A tally kept after that takes an entry with
    a larger id than all before it (`append`, a publish) at the cost of that one
    entry: top terms are ranked by count, ties by first occurrence (Counter
    keeps keys in that order, as `most_common` does), and a new entry only
    raises counts, so the new top terms are among the old ones and the new
    entry's. Removing an entry is not possible: that needs a new tally.
    """

    __slots__ = ("counts", "experience", "first", "ids", "last", "ordinal", "top", "topics")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.topics: Counter[int] = Counter()
        self.experience: list[ExperienceItem] = []
        self.ids = array("i")  # the entries added, in the order added
        self.first = self.last = 0  # smallest and largest id added
        self.top: list[str] | None = None  # the top terms, once ranked
        self.ordinal: dict[str, int] | None = None  # term -> rank of its first occurrence, once appended to

    def __len__(self) -> int:
        return len(self.ids)

    def holds(self, entry_id: int) -> bool:
        """Whether an entry was added (ids of a tally added in id order are sorted)."""
        i = bisect_left(self.ids, entry_id)
        return i < len(self.ids) and self.ids[i] == entry_id

    def add(self, index: Terms, e: EntryDigest) -> list[str]:
        words = e.search_terms.split()
        if index.vocabulary is not None:  # one concept term per entry and concept it names
            words += index.vocabulary.concepts(set(words))
        self.counts.update(words)
        self.topics.update(e.topics)
        if e.kind == "lesson" or (e.kind == "project" and e.status == "completed"):
            # search_terms open with the title (three times), keywords and summary: the item's gist
            top = list(dict.fromkeys(words[:ITEM_WINDOW]))[:ITEM_TERMS]
            ids = tuple(i for i in (index.term_id(t, create=True) for t in top) if i is not None)
            shared = index.topic_sets.setdefault(e.topics, e.topics)  # one object per distinct set
            self.experience.append(ExperienceItem(e.id, e.kind, e.evaluated, shared, ids))
        self.first = e.id if not self.ids else min(self.first, e.id)
        self.last = max(self.last, e.id)
        self.ids.append(e.id)
        return words

    def append(self, index: Terms, e: EntryDigest) -> None:
        """Add an entry with an id larger than every one added (only that entry is read)."""
        if self.ids and e.id <= self.last:
            raise ValueError(f"entry {e.id} is not after entry {self.last}")
        top = self._ranked()
        if self.ordinal is None:
            self.ordinal = {t: i for i, t in enumerate(self.counts)}
        fresh = dict.fromkeys(self.add(index, e))
        counts, ordinal = self.counts, self.ordinal
        for t in fresh:
            if t not in ordinal:
                ordinal[t] = len(ordinal)
        candidates = dict.fromkeys(top)
        candidates.update(fresh)
        self.top = sorted(candidates, key=lambda t: (-counts[t], ordinal[t]))[:MAX_TERMS]

    def rank(self) -> list[str]:
        """The top terms (ranked once, then kept), and the order of first occurrence that
        `append` needs (pure: may run in a worker thread while nothing else touches this
        tally; thousands of terms took milliseconds of the event loop at the first append)."""
        if self.ordinal is None:
            self.ordinal = {t: i for i, t in enumerate(self.counts)}
        return self._ranked()

    def _ranked(self) -> list[str]:
        if self.top is None:
            self.top = [t for t, _ in self.counts.most_common(MAX_TERMS)]
        return self.top

    def profile(self, index: Terms, place_id: int) -> Profile:
        term_ids = array("i")
        weights = array("f")
        for term in self._ranked():
            tid = index.term_id(term, create=True)
            assert tid is not None
            term_ids.append(tid)
            weights.append(1.0 + math.log(self.counts[term]))
        topics = dict(self.topics)
        return Profile(
            place_id=place_id,
            entry_count=len(self.ids),
            term_ids=term_ids,
            weights=weights,
            norm=1.0,
            topics=topics,
            topic_norm=math.sqrt(sum(c * c for c in topics.values())),
            experience=list(self.experience),
            experience_bound=experience_bound(self.experience),
            first_entry=self.first,
        )
