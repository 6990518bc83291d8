"""Keeping profiles current after a write at a cost that does not grow with the publisher.

Rebuilding a publisher's profile reads and counts every one of its public
entries: 0.4 s of work on the event loop for a publisher with 10,000. Here a
publisher with at least `LARGE` public entries keeps a `Tally` (its summed
terms, topics and experience) in memory, for the `KEPT` most recently written
ones: a publish then adds that one entry to the tally and puts the new
profile. Whatever a tally cannot take (a revision or unpublishing of a
counted entry, a visibility change, an entry older than the newest counted)
rebuilds the tally in the background: the publisher's entries are read in
slices of `SCAN` and counted `STEP` at a time, yielding to the event loop in
between, while the old profile keeps answering; writes that arrive meanwhile
are applied after the rebuild, or start another one. Once settled the profile
is the one a full build gives (`ProfileIndex.put`). Publishers with fewer
entries are rebuilt at once, as before: that costs less than a tally would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass

from exchange.db import current_connection
from exchange.matching.profiles import EntryDigest, ProfileIndex, Tally
from exchange.matching.store import (
    PUBLISHED,
    STEP,
    ProfileStore,
    _digest,
    _goals,
    _topic_sets,
    _topics_of,
    owner_sql,
    place_for,
    publisher_id,
)
from exchange.models import Entry

log = logging.getLogger("exchange.matcher")

LARGE = 50  # public entries from which a publisher's profile follows a tally
KEPT = 16  # tallies held in memory: the most recently written publishers
SCAN = 500  # entries read per query while rebuilding a tally


@dataclass(frozen=True, slots=True)
class Written:
    """One write as the tally sees it (None: rebuild whatever it was)."""

    id: int
    version: int
    digest: EntryDigest | None  # None: not a public, live entry


FORCE = Written(0, 0, None)  # a refresh asked for: rebuild


def _verdict(tally: Tally, w: Written) -> str:
    """What a write does to a tally (pure): "skip", "append" or "rebuild"."""
    if w is FORCE:
        return "rebuild"
    if tally.holds(w.id):
        # counted already: a publish seen by the rebuild's own reading is nothing new
        return "skip" if w.digest is not None and w.version == 1 else "rebuild"
    if w.digest is None:
        return "skip"  # neither counted nor to be counted
    return "append" if not len(tally) or w.id > tally.last else "rebuild"


class ProfileWrites:
    """The write side of the profile index: tallies of large publishers and their rebuilds."""

    def __init__(self, store: ProfileStore, large: int = LARGE, kept: int = KEPT) -> None:
        self.store = store
        self.large = large
        self.kept = kept
        self.tallies: OrderedDict[int, Tally] = OrderedDict()
        self._index: ProfileIndex | None = None  # the index the tallies' term ids belong to
        self._pending: dict[int, list[Written]] = {}  # writes during a rebuild, per publisher
        self._tasks: dict[int, asyncio.Task[None]] = {}

    async def on_entry(self, entry: Entry) -> None:
        """A catalogue write of this node: follow it in the publisher's profile."""
        place_id = publisher_id(self.store.index, entry.municipality_id, entry.organisation_id)
        if place_id is None or not self.store.loaded:
            return
        self._follow_index()
        tally = self.tallies.get(place_id)
        if tally is None and place_id not in self._pending:
            profile = self.store.index.profiles.get(place_id)
            if profile is None or profile.entry_count < self.large:
                await self.store.refresh(place_id)
                return
        written = await _written(entry)
        self._follow_index()
        if place_id in self._pending:
            self._pending[place_id].append(written)
            return
        tally = self.tallies.get(place_id)
        verdict = "rebuild" if tally is None else _verdict(tally, written)
        if verdict == "rebuild" or tally is None:
            self._start(place_id)
        elif verdict == "append":
            assert written.digest is not None
            index = self.store.index
            tally.append(index, written.digest)
            self.tallies.move_to_end(place_id)
            await self.store.put(index, place_id, tally.profile(index, place_id))

    async def refresh(self, place_id: int) -> None:
        """Rebuild one publisher's profile from the database (received entries), without blocking the loop."""
        if place_id in self._pending:
            self._pending[place_id].append(FORCE)
        else:
            self._start(place_id)
        await self.settle(place_id)

    async def settle(self, place_id: int | None = None) -> None:
        """Wait for the running rebuilds (of one publisher, or all)."""
        while True:
            tasks = [t for p, t in self._tasks.items() if place_id in (None, p)]
            if not tasks:
                return
            await asyncio.wait([asyncio.shield(t) for t in tasks])

    async def shutdown(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pending.clear()

    def _follow_index(self) -> None:
        if self._index is not self.store.index:  # a full load replaced it: term ids are new
            self.tallies.clear()
            self._index = self.store.index

    def _start(self, place_id: int) -> None:
        self.tallies.pop(place_id, None)
        self._pending[place_id] = []
        self._tasks[place_id] = asyncio.ensure_future(self._rebuild(place_id))

    async def _rebuild(self, place_id: int) -> None:
        try:
            while True:
                index = self.store.index
                if place_id not in index.places:
                    p = await place_for(index, place_id)
                    if p is not None:
                        index.put_place(p)
                tally = await _scan(index, place_id)
                if len(tally):
                    await asyncio.to_thread(tally.rank)  # thousands of terms: off the loop
                async with self.store.lock:  # after any rebuild at once (`ProfileStore.refresh`) of it
                    pending = self._pending[place_id]
                    self._pending[place_id] = []
                    if index is not self.store.index or not self._settle(tally, pending):
                        continue  # read again: the writes meanwhile need it
                    self._follow_index()
                    profile = tally.profile(index, place_id) if len(tally) else None
                    if len(tally) >= self.large:
                        self.tallies[place_id] = tally
                        while len(self.tallies) > self.kept:
                            self.tallies.popitem(last=False)
                    del self._pending[place_id]  # from here on, writes append to the tally
                    await self.store.put(index, place_id, profile)  # (and put after this one)
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # the next write tries again; matching keeps answering with the old profile
            log.exception("rebuilding the matching profile of publisher %s failed", place_id)
            self._pending.pop(place_id, None)
        finally:
            if self._tasks.get(place_id) is asyncio.current_task():
                del self._tasks[place_id]

    def _settle(self, tally: Tally, pending: list[Written]) -> bool:
        """Apply the writes that came during a rebuild; False when one needs another reading."""
        for w in pending:
            verdict = _verdict(tally, w)
            if verdict == "rebuild":
                return False
            if verdict == "append":
                assert w.digest is not None
                tally.append(self.store.index, w.digest)
        return True


async def _written(entry: Entry) -> Written:
    if entry.deleted or entry.visibility != "public":
        return Written(entry.id, entry.version, None)
    topics = await _topics_of([entry.id])
    row = {"id": entry.id, "kind": entry.kind, "status": entry.status, "goals": entry.goals,
           "search_terms": entry.search_terms}
    return Written(entry.id, entry.version, _digest(row, topics.get(entry.id, frozenset())))


async def _scan(index: ProfileIndex, place_id: int) -> Tally:
    """A publisher's public entries counted into a new tally, in id order, yielding as it goes."""
    tally = Tally()
    connection = current_connection()
    last = 0
    while True:
        rows = await connection.execute_query_dict(
            "SELECT id, kind, status, goals, search_terms FROM entry"
            f" WHERE {owner_sql(index, place_id)} AND {PUBLISHED} AND id > {int(last)}"
            f" ORDER BY id LIMIT {SCAN}")
        if not rows:
            return tally
        ids = ", ".join(str(int(r["id"])) for r in rows)
        pairs = await connection.execute_query_dict(
            f"SELECT entry_id, topic_id FROM entry_topic WHERE entry_id IN ({ids})")
        topics = _topic_sets((p["entry_id"], p["topic_id"]) for p in pairs)
        for i, r in enumerate(rows, 1):
            r["goals"] = _goals(r["goals"])
            tally.add(index, _digest(r, topics.get(r["id"], frozenset())))
            if i % STEP == 0:
                await asyncio.sleep(0)
        last = rows[-1]["id"]
        if len(rows) < SCAN:
            return tally
