"""Peer-matching profiles: what each municipality published, condensed for fast matching.

A profile holds, per publishing municipality, its stemmed terms (the top
`MAX_TERMS` of `Entry.search_terms` by frequency, as log-tf weights), its
controlled topics, and its experience (completed projects, lessons learned,
projects with evaluated indicators; at most `EXPERIENCE_COUNTED` count on a question); an inverted index maps each term to the
profiles holding it, and the register rows give the structural facts. Only
public, not unpublished entries count: a match is shown to anyone. The index
is built once at startup (`store.ProfileStore.load`) and then kept current one
publisher at a time (`ProfileStore.on_entry`, a catalogue listener), so a
query never rebuilds anything. An update rebuilds only the changed
publisher's profile and moves document frequencies, postings and the norms
that depend on them in place, so the index stays equal to one built from
scratch (norms up to rounding; see `ProfileIndex`).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from exchange.matching.tally import (
    EXPERIENCE_COUNTED,
    ITEM_TERMS,
    ITEM_WINDOW,
    MAX_TERMS,
    SATURATED,
    SLICE,
    URBANISATION,
    EntryDigest,
    ExperienceItem,
    Place,
    Profile,
    Row,
    Tally,
    experience_bound,
    experience_value,
    saturate,
)
from exchange.matching.vocabulary import Vocabulary, default_vocabulary

__all__ = [
    "EXPERIENCE_COUNTED",
    "ITEM_TERMS",
    "ITEM_WINDOW",
    "MAX_TERMS",
    "NO_ORGANISATIONS",
    "SATURATED",
    "SLICE",
    "URBANISATION",
    "EntryDigest",
    "ExperienceItem",
    "Place",
    "Profile",
    "ProfileIndex",
    "Row",
    "Tally",
    "experience_bound",
    "experience_value",
    "saturate",
]

NO_ORGANISATIONS = 1 << 62  # `ProfileIndex.org_base` of an index that holds no organisation


def _log_df(d: int) -> float:
    """log(df + 0.5): BM25's IDF is log(n + 1) − this (see `ProfileIndex.idf`)."""
    return math.log(d + 0.5)


@dataclass
class ProfileIndex:
    """All profiles, the term vocabulary, document frequencies and the inverted index.

    Postings hold place ids in ascending order, so one publisher's posting is
    found by bisection. Norms follow the current IDF exactly: BM25's IDF is
    log(1 + (n − df + 0.5)/(df + 0.5)) = log(n + 1) − log(df + 0.5), so a
    profile's squared norm Σ (w · idf)² is L²·Σw² − 2L·Σw²ℓ + Σw²ℓ² with
    L = log(n + 1) and ℓ = log(df + 0.5). The three sums are kept per
    publisher: a change of the number of publishers changes only L (every norm
    is recomputed from its sums, no term visited), a change of one term's df
    adds w²·Δℓ and w²·Δ(ℓ²) to the sums of the publishers in its posting.
    `topic_postings` map each controlled topic to its publishers and counts,
    and `rows` and `norms` hold, per publisher with a register row, what the
    ranking loop reads (flat, so that loop looks up no attributes of objects
    scattered over the heap).
    """

    places: dict[int, Place] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    topic_labels: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # slug, de, en
    vocab: dict[str, int] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)  # term id -> stem
    df: array = field(default_factory=lambda: array("i"))  # type: ignore[type-arg]
    postings: dict[int, tuple[array, array]] = field(default_factory=dict)  # type: ignore[type-arg]
    topic_postings: dict[int, tuple[array, array]] = field(default_factory=dict)  # type: ignore[type-arg]
    profiles: dict[int, Profile] = field(default_factory=dict)  # by `first_entry`, as a load reads them
    rows: list[Row] = field(default_factory=list)  # in ascending place id
    row_ids: list[int] = field(default_factory=list)  # the place id of each row
    topic_sets: dict[frozenset[int], frozenset[int]] = field(default_factory=dict)
    # per place id: Σw², Σw²ℓ, Σw²ℓ² of its profile (lists: the update loop indexes them directly)
    sum_sq: list[float] = field(default_factory=list)
    sum_sq_log: list[float] = field(default_factory=list)
    sum_sq_log2: list[float] = field(default_factory=list)
    norms: list[float] = field(default_factory=list)  # per place id, the same as its `Profile.norm`
    deferred: bool = False  # puts with `defer=True` since the last `reweigh`
    vocabulary: Vocabulary | None = field(default_factory=default_vocabulary)  # bilingual concept terms
    # Organisations publish too: their place ids start here, after every municipality's id
    # (`store.ProfileStore.load` chooses it; an index without organisations never reaches it).
    org_base: int = NO_ORGANISATIONS

    @property
    def publishers(self) -> int:
        return len(self.profiles)

    def is_organisation(self, place_id: int) -> bool:
        return place_id >= self.org_base

    @property
    def slots(self) -> int:
        """One more than the largest place id known: the size of per-place lists."""
        return len(self.sum_sq)

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

    def _grow(self, place_id: int) -> None:
        missing = place_id + 1 - len(self.sum_sq)
        if missing > 0:
            for sums in (self.sum_sq, self.sum_sq_log, self.sum_sq_log2, self.norms):
                sums.extend([0.0] * missing)

    def put_place(self, place: Place) -> None:
        self.places[place.id] = place
        self.by_key[place.key] = place.id
        self._grow(place.id)
        if not self.deferred:
            self._row(place.id)

    def remove(self, place_id: int) -> None:
        """Drop a publisher's profile and its postings."""
        self.put(place_id, [])

    def put(self, place_id: int, entries: list[EntryDigest], *, defer: bool = False) -> Profile | None:
        """Replace a publisher's profile by one built from its public entries.

        Only this publisher's profile is rebuilt; document frequencies, postings
        and the norms of the publishers sharing a term whose df changed are
        updated in place. With `defer` (a bulk load), postings are appended
        unsorted and no norm is kept current until `reweigh`.
        """
        if self.deferred and not defer:
            self.reweigh()
        self._grow(place_id)
        return self.put_profile(place_id, self._build(place_id, entries) if entries else None, defer=defer)

    def put_profile(self, place_id: int, profile: Profile | None, *, defer: bool = False) -> Profile | None:
        """Replace a publisher's profile by a built one (None: it has no public entry any more)."""
        for _ in self.put_steps(place_id, profile, defer=defer):
            pass
        return profile

    def put_steps(self, place_id: int, profile: Profile | None, *, defer: bool = False) -> Iterator[None]:
        """`put_profile` in steps: the publisher's own profile, postings and ranking row change
        at once; the norm sums of the other publishers holding a term whose df changed, and
        their norms, are moved `SLICE` at a time, pausing (yielding) in between. Those are
        thousands in a large network, every publisher when the number of publishers changes:
        tens of ms in one go. Until the last step a query ranks with their norms from
        before. Steps of two puts must not interleave (`ProfileStore.put` runs one at a time)."""
        if self.deferred and not defer:
            self.reweigh()
        self._grow(place_id)
        old = self.profiles.get(place_id)
        before = dict(zip(old.term_ids, old.weights)) if old is not None else {}
        after = dict(zip(profile.term_ids, profile.weights)) if profile is not None else {}
        changed: list[tuple[int, int]] = []  # term, df before
        for tid in before:
            if tid not in after:
                changed.append((tid, self.df[tid]))
                self.df[tid] -= 1
                _unpost(self.postings, tid, place_id, defer)
        for tid, w in after.items():
            if tid not in before:
                changed.append((tid, self.df[tid]))
                self.df[tid] += 1
                _post(self.postings, tid, place_id, w, defer, "f")
            elif before[tid] != w:
                pids, ws = self.postings[tid]
                ws[_position(pids, place_id, defer)] = w
        old_topics = old.topics if old is not None else {}
        new_topics = profile.topics if profile is not None else {}
        for topic in old_topics:
            if topic not in new_topics:
                _unpost(self.topic_postings, topic, place_id, defer)
        for topic, count in new_topics.items():
            if topic not in old_topics:
                _post(self.topic_postings, topic, place_id, count, defer, "i")
            elif old_topics[topic] != count:
                pids, counts = self.topic_postings[topic]
                counts[_position(pids, place_id, defer)] = count
        if profile is None:
            self.profiles.pop(place_id, None)
        else:
            self.profiles[place_id] = profile  # a known publisher keeps its place in the order
            if not defer and (old.first_entry != profile.first_entry if old is not None
                              else not self._last_in_order(place_id)):
                self._order()
        if defer:
            self.deferred = True
            return
        self._row(place_id)
        self._sum(place_id, profile)  # its own norm at once (the others' sums move below)
        self._renorm([place_id])
        touched: set[int] = set()
        yield from self._shift(changed, touched)
        self._sum(place_id, profile)
        if (old is None) != (profile is None):  # the number of publishers changed: every IDF did
            touched = set(self.profiles)
        touched.add(place_id)
        yield from self._renorm_steps(list(touched))

    def _build(self, place_id: int, entries: list[EntryDigest]) -> Profile:
        tally = Tally()
        for e in entries:
            tally.add(self, e)
        return tally.profile(self, place_id)

    def _last_in_order(self, place_id: int) -> bool:
        """Whether a publisher just added (last in `profiles`) stands in order there: its first
        entry is the newest of all first entries (a new publisher's usually is; sorting
        every profile again took milliseconds in a network of thousands)."""
        keys = reversed(self.profiles)
        next(keys)
        before = next(keys, None)
        return before is None or self.profiles[before].first_entry < self.profiles[place_id].first_entry

    def _order(self) -> None:
        """Profiles in the order of their first public entry: the order in which a load puts
        them, so that what depends on it (the sums and ties of a need borrowed from
        neighbours) comes out the same after updates as after a load."""
        self.profiles = dict(sorted(self.profiles.items(), key=lambda item: item[1].first_entry))

    def _row(self, place_id: int) -> None:
        """Put, replace or drop the ranking row of one place."""
        profile, p = self.profiles.get(place_id), self.places.get(place_id)
        i = bisect_left(self.row_ids, place_id)
        present = i < len(self.row_ids) and self.row_ids[i] == place_id
        if profile is None or p is None:
            if present:
                del self.rows[i], self.row_ids[i]
            return
        row = (place_id, p.log_pop, p.size_class, p.urbanisation_rank, p.land_code, p.located, p.lat_r, p.lon_r,
               profile.topic_norm, profile.experience_bound)
        if present:
            self.rows[i] = row
        else:
            self.rows.insert(i, row)
            self.row_ids.insert(i, place_id)

    def _shift(self, changed: list[tuple[int, int]], touched: set[int]) -> Iterator[None]:
        """Move the norm sums of every publisher holding a term whose df changed (into `touched`),
        pausing after about `SLICE` of them."""
        sq_log, sq_log2 = self.sum_sq_log, self.sum_sq_log2
        moved = 0
        for tid, before in changed:
            slot = self.postings.get(tid)
            if slot is None:
                continue
            l0, l1 = _log_df(before), _log_df(self.df[tid])
            d1, d2 = l1 - l0, l1 * l1 - l0 * l0
            for start in range(0, len(slot[0]), SLICE):
                pids = slot[0][start:start + SLICE]
                for pid, w in zip(pids, slot[1][start:start + SLICE]):
                    w2 = w * w
                    sq_log[pid] += w2 * d1
                    sq_log2[pid] += w2 * d2
                touched.update(pids)
                moved += len(pids)
                if moved >= SLICE:
                    moved = 0
                    yield

    def _sum(self, place_id: int, profile: Profile | None) -> None:
        """A publisher's three norm sums from scratch, with the current df."""
        a = b = c = 0.0
        if profile is not None:
            df = self.df
            for tid, w in zip(profile.term_ids, profile.weights):
                w2 = w * w
                ell = _log_df(df[tid])
                a += w2
                b += w2 * ell
                c += w2 * ell * ell
        self.sum_sq[place_id], self.sum_sq_log[place_id], self.sum_sq_log2[place_id] = a, b, c

    def _renorm_steps(self, place_ids: list[int]) -> Iterator[None]:
        for start in range(0, len(place_ids), SLICE):
            if start:
                yield
            self._renorm(place_ids[start:start + SLICE])

    def _renorm(self, place_ids: Iterable[int]) -> None:
        big_l = math.log(len(self.profiles) + 1.0)
        profiles, a, b, c = self.profiles, self.sum_sq, self.sum_sq_log, self.sum_sq_log2
        for pid in place_ids:
            profile = profiles.get(pid)
            if profile is not None:
                v = (big_l * a[pid] - 2.0 * b[pid]) * big_l + c[pid]
                profile.norm = self.norms[pid] = math.sqrt(v) if v > 0.0 else 1.0

    def norm_of(self, profile: Profile) -> float:
        """The norm straight from its definition (what the kept sums must agree with)."""
        return math.sqrt(
            sum((w * self.idf(t)) ** 2 for t, w in zip(profile.term_ids, profile.weights))
        ) or 1.0

    def reweigh(self) -> None:
        """After a bulk load: sort postings by place id and profiles by first entry, compute every norm and row."""
        if self.deferred:
            for postings in (self.postings, self.topic_postings):
                for key, (pids, values) in postings.items():
                    if any(pids[i] > pids[i + 1] for i in range(len(pids) - 1)):
                        order = sorted(range(len(pids)), key=pids.__getitem__)
                        postings[key] = (array("i", [pids[i] for i in order]),
                                         array(values.typecode, [values[i] for i in order]))
            self._order()
            self.deferred = False
        for pid, profile in self.profiles.items():
            self._sum(pid, profile)
        self._renorm(self.profiles)
        self.rows, self.row_ids = [], []
        for pid in self.profiles:
            self._row(pid)


def _position(pids: array, place_id: int, unsorted: bool) -> int:  # type: ignore[type-arg]
    """Where a place id stands in a posting (bisection; a linear search while loading)."""
    if unsorted:
        return pids.index(place_id)
    i = bisect_left(pids, place_id)
    if i == len(pids) or pids[i] != place_id:
        raise KeyError(place_id)
    return i


def _post(postings: dict[int, tuple[array, array]], key: int, place_id: int, value: float,  # type: ignore[type-arg]
          unsorted: bool, typecode: str) -> None:
    slot = postings.get(key)
    if slot is None:
        slot = postings[key] = (array("i"), array(typecode))
    pids, values = slot
    i = len(pids) if unsorted else bisect_left(pids, place_id)
    pids.insert(i, place_id)
    values.insert(i, value)


def _unpost(postings: dict[int, tuple[array, array]], key: int, place_id: int,  # type: ignore[type-arg]
            unsorted: bool) -> None:
    pids, values = postings[key]
    i = _position(pids, place_id, unsorted)
    del pids[i]
    del values[i]
    if not pids:
        del postings[key]
