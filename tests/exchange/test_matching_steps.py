"""Profile puts in steps: a query between two steps works, and once the steps are done the
index equals one built from scratch; puts through `ProfileStore.put` never interleave."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.matching import MatchQuery, Weights
from exchange.matching import profiles as profiles_module
from exchange.matching.profiles import EntryDigest, ProfileIndex, Tally
from exchange.matching.rank import rank
from exchange.matching.store import ProfileStore
from tests.exchange.matching_support import fresh_index, realish, realish_entry, snapshot, texts

POOL = texts()
PLACES, PUBLISHED = realish(seed=11, places=60, publishers=40, entries=300)


def built(index: ProfileIndex, pid: int, entries: list[EntryDigest]) -> profiles_module.Profile | None:
    tally = Tally()
    for e in sorted(entries, key=lambda e: e.id):
        tally.add(index, e)
    return tally.profile(index, pid) if entries else None


def assert_equals_fresh(index: ProfileIndex, published: dict[int, list[EntryDigest]]) -> None:
    fresh = fresh_index(PLACES, published)
    assert snapshot(index) == snapshot(fresh)
    for profile in index.profiles.values():
        assert index.norms[profile.place_id] == profile.norm
        assert profile.norm == pytest.approx(index.norm_of(profile), rel=1e-12)
        assert profile.norm == pytest.approx(fresh.profiles[profile.place_id].norm, rel=1e-12)


def query_of(rng: random.Random, index: ProfileIndex) -> MatchQuery:
    title, description = rng.choice(POOL)
    return MatchQuery(place=index.places[rng.choice(sorted(index.places))], about=f"{title} {description}"[:1000])


writes = st.lists(st.tuples(st.sampled_from(["publish", "revise", "unpublish"]), st.integers(0, 10**6)),
                  min_size=1, max_size=25)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=writes, slice_=st.sampled_from([1, 3, 17, 4096]), seed=st.integers(0, 10**6))
def test_queries_between_steps_work_and_the_end_equals_a_fresh_build(
        monkeypatch: pytest.MonkeyPatch, steps: list[tuple[str, int]], slice_: int, seed: int) -> None:
    monkeypatch.setattr(profiles_module, "SLICE", slice_)
    rng = random.Random(seed)
    published = {pid: list(entries) for pid, entries in PUBLISHED.items()}
    index = fresh_index(PLACES, published)
    next_id = 1 + max(e.id for entries in published.values() for e in entries)
    for action, pick in steps:
        candidates = [p.id for p in PLACES] if action == "publish" else [p for p, es in published.items() if es]
        pid = candidates[pick % len(candidates)]
        entries = published.setdefault(pid, [])
        if action == "publish":
            entries.append(realish_entry(rng, next_id, POOL))
            next_id += 1
        elif action == "revise":
            i = pick % len(entries)
            entries[i] = realish_entry(rng, entries[i].id, POOL)
        else:
            del entries[pick % len(entries)]
        for n, _ in enumerate(index.put_steps(pid, built(index, pid, entries))):
            # a query in between: it ranks (with some norms from before), never fails
            assert list(index.row_ids) == sorted(index.row_ids)
            assert all(r in index.profiles for r in index.row_ids)
            if n % 13 == 0:
                rank(index, query_of(rng, index).validated(), Weights(), {})
        for profile in index.profiles.values():  # every put's steps done: the norms are exact
            assert profile.norm == pytest.approx(index.norm_of(profile), rel=1e-12)
    assert_equals_fresh(index, published)


async def test_puts_at_once_through_the_store_do_not_interleave(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many puts started together, every one pausing after each posting it moves: the norm
    sums each step moves must be those of the index as that put left it."""
    monkeypatch.setattr(profiles_module, "SLICE", 1)
    rng = random.Random(3)
    published = {pid: list(entries) for pid, entries in PUBLISHED.items()}
    store = ProfileStore()
    store.index = index = fresh_index(PLACES, published)
    next_id = 1 + max(e.id for entries in published.values() for e in entries)
    puts = []
    for pid in rng.sample([p.id for p in PLACES], 20):
        entries = published.setdefault(pid, [])
        if entries and rng.random() < 0.3:
            entries.clear()  # the publisher's last entry withdrawn: the number of publishers changes
        else:
            entries.extend(realish_entry(rng, next_id + i, POOL) for i in range(rng.randint(1, 3)))
            next_id += 3
        puts.append(store.put(index, pid, built(index, pid, entries)))
    await asyncio.gather(*puts)
    assert_equals_fresh(index, published)


def test_a_ranked_tally_appends_as_one_that_was_not_ranked_first() -> None:
    """`rank` (run in a worker thread after a rebuild) also orders the terms for `append`, so
    the first append after a rebuild does not do it on the event loop; the result is the same."""
    place_id, entries = next((p, sorted(e, key=lambda e: e.id)) for p, e in PUBLISHED.items() if len(e) >= 6)
    index = fresh_index(PLACES, PUBLISHED)
    ranked, plain = Tally(), Tally()
    for e in entries[:-3]:
        ranked.add(index, e)
        plain.add(index, e)
    ranked.rank()
    assert ranked.ordinal is not None and plain.ordinal is None
    for e in entries[-3:]:
        ranked.append(index, e)
        plain.append(index, e)
    assert ranked.profile(index, place_id) == plain.profile(index, place_id)
