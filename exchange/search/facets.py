"""An in-memory facet index: what the search page counts, per entry, kept in step with the change feed.

For every live entry the index holds two small codes: its *group* (kind,
status, language, Land, size class, visibility, origin node and, for drafts
only, the owning publisher) and its *topic set* (sorted topic slugs). Both are
interned, so 100,000 entries share a few hundred groups and a few thousand
topic sets, and the facets of a search are counted with `Counter` over the
codes of the matching ids; Python loops only over the distinct codes.
`facet_counts` answers what the search page's grouped SQL queries answered:
rows per (kind, status, language, Land, size class), which the page tallies
per facet, and the topic counts under the chosen filters.

The index follows the node's change feed rather than in-process listeners:
before answering it reads the latest change sequence and reloads the entries
changed since the last one it saw. Writes by other processes on the same
database (a CLI sync, a second server) are therefore seen too; a long gap
reloads everything. The full load runs as a startup hook, or on first use.
A municipality's Land or size class is read at load: a register re-import
that changes them shows in the facets after the next restart.
"""

from __future__ import annotations

import asyncio
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from itertools import compress
from typing import Any

from exchange.db import current_connection, dialect_of
from exchange.search.query import latest_seq, matching_ids

Group = tuple[Any, ...]  # (kind, status, language, land, size, visibility, origin, draft owner)
Row = tuple[Any, ...]
Chosen = Sequence[tuple[str, ...]]  # selected kinds, statuses, languages, Länder, size classes
# Visibilities any signed-in publisher sees; drafts only their owner (search.visibility_clause).
NETWORK_VISIBLE = ("public", "network", "local")
RELOAD_AFTER = 5_000  # more changes than this since the last look: reload everything
LOAD_SLICE = 5_000  # entries read per query while loading
MATCH_CACHE = 32  # search texts whose matching ids are kept (as arrays, ~8 bytes per id)


def group_of(row: Mapping[str, Any]) -> Group:
    """The group of one entry row (pure)."""
    owner = None
    if row["visibility"] not in NETWORK_VISIBLE:
        owner = ("municipality", row["municipality_id"]) if row["municipality_id"] is not None \
            else ("organisation", row["organisation_id"])
    return (row["kind"], row["status"], row["language"], row["land_code"], row["size_class"],
            row["visibility"], row["origin_node"], owner)


def visible(group: Group | None, viewer: tuple[str, int] | None, origin: str | None = None) -> bool:
    """Whether a viewer (None: anonymous) sees entries of a group, as search.visibility_clause (pure)."""
    if group is None or (origin is not None and group[6] != origin):
        return False
    if viewer is None:
        return bool(group[5] == "public")
    return group[5] in NETWORK_VISIBLE or group[7] == viewer


def fits(group: Group | None, chosen: Chosen) -> bool:
    """Whether a group has one of the chosen values in each of the five dimensions (pure)."""
    return group is not None and all(not values or group[i] in values for i, values in enumerate(chosen))


_COLUMNS = (
    "SELECT e.id, e.kind, e.status, e.language, e.visibility, e.origin_node, e.deleted, "
    "e.municipality_id, e.organisation_id, m.land_code, m.size_class "
    "FROM entry e LEFT JOIN municipality m ON m.id = e.municipality_id"
)
_TOPICS = "SELECT et.entry_id, t.slug FROM entry_topic et JOIN topic t ON t.id = et.topic_id"
_CHANGED = "SELECT e.id FROM entry e WHERE e.uid IN (SELECT c.entry_uid FROM change c WHERE c.seq > {p})"


class FacetIndex:
    """Group and topic-set codes per entry id, for counting facets in Python."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._reset()

    def _reset(self) -> None:
        self._group: list[int] = []  # entry id -> group code (0: no live entry)
        self._topics: list[int] = []  # entry id -> topic-set code
        self._groups: list[Group | None] = [None]
        self._topic_sets: list[tuple[str, ...]] = [()]
        self._group_codes: dict[Group | None, int] = {None: 0}
        self._topic_codes: dict[tuple[str, ...], int] = {(): 0}
        self.seq: int | None = None  # the change sequence the index reflects
        self._matches: OrderedDict[str, tuple[int | None, array[int]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._group) - self._group.count(0)

    # -- keeping it current ----------------------------------------------------

    async def startup(self) -> None:
        """Load every entry (a startup hook of the node)."""
        async with self._lock:
            await self._load_all()

    async def refresh(self) -> None:
        """Catch up with the change feed: reload the entries changed since the last look."""
        seq = await latest_seq()
        if seq == self.seq:
            return
        async with self._lock:
            if self.seq is None or seq - self.seq > RELOAD_AFTER:
                await self._load_all()
            elif seq > self.seq:  # (another request may have caught up meanwhile)
                await self._load_changed(self.seq, seq)

    async def _load_all(self) -> None:
        seq = await latest_seq()
        conn = current_connection()
        p = ("$1", "$2") if dialect_of(conn) == "postgres" else ("?", "?")
        fresh = FacetIndex()
        last = 0
        while True:  # in slices by id, so that loading never holds every row at once
            _, rows = await conn.execute_query(
                f"{_COLUMNS} WHERE e.id > {p[0]} ORDER BY e.id LIMIT {p[1]}", [last, LOAD_SLICE])
            if not rows:
                break
            top = int(rows[-1]["id"])
            _, links = await conn.execute_query(
                f"{_TOPICS} WHERE et.entry_id > {p[0]} AND et.entry_id <= {p[1]}", [last, top])
            fresh._store(rows, links)
            last = top
        # swapped in only now: requests counting meanwhile still saw the previous index
        self._group, self._topics = fresh._group, fresh._topics
        self._groups, self._topic_sets = fresh._groups, fresh._topic_sets
        self._group_codes, self._topic_codes = fresh._group_codes, fresh._topic_codes
        self._matches.clear()
        self.seq = seq

    async def _load_changed(self, since: int, seq: int) -> None:
        conn = current_connection()
        p = "$1" if dialect_of(conn) == "postgres" else "?"
        changed = _CHANGED.format(p=p)
        _, rows = await conn.execute_query(f"{_COLUMNS} WHERE e.id IN ({changed})", [since])
        _, links = await conn.execute_query(f"{_TOPICS} WHERE et.entry_id IN ({changed})", [since])
        self._store(rows, links)
        self.seq = seq

    def _store(self, rows: Sequence[Any], links: Sequence[Any]) -> None:
        """Take in entry rows and their (entry_id, slug) rows (mappings by column name)."""
        slugs: dict[int, list[str]] = {}
        for link in links:
            slugs.setdefault(int(link["entry_id"]), []).append(str(link["slug"]))
        top = max((int(r["id"]) for r in rows), default=-1)
        if top >= len(self._group):
            grow = top + 1 - len(self._group)
            self._group.extend([0] * grow)
            self._topics.extend([0] * grow)
        for row in rows:
            entry_id = int(row["id"])
            if row["deleted"]:
                self._group[entry_id] = self._topics[entry_id] = 0
                continue
            self._group[entry_id] = self._code(self._group_codes, self._groups, group_of(row))
            self._topics[entry_id] = self._code(
                self._topic_codes, self._topic_sets, tuple(sorted(slugs.get(entry_id, ()))))

    @staticmethod
    def _code(codes: dict[Any, int], values: list[Any], value: Any) -> int:
        code = codes.get(value)
        if code is None:
            code = codes[value] = len(values)
            values.append(value)
        return code

    async def matches(self, text: str) -> array[int]:
        """Ids matching a search text, cached until the index moves on (call `refresh` first)."""
        hit = self._matches.get(text)
        if hit is not None and hit[0] == self.seq:
            self._matches.move_to_end(text)
            return hit[1]
        seq = self.seq
        ids = array("l", await matching_ids(text))
        self._matches[text] = (seq, ids)
        while len(self._matches) > MATCH_CACHE:
            self._matches.popitem(last=False)
        return ids

    async def search_counts(
        self,
        text: str | None,
        *,
        topics: Sequence[str] = (),
        origin: str | None = None,
        viewer: tuple[str, int] | None = None,
        chosen: Chosen = ((), (), (), (), ()),
    ) -> tuple[list[Row], dict[str, int]]:
        """`facet_counts` of the entries matching `text` (all when empty), after catching up."""
        await self.refresh()
        text = (text or "").strip()
        ids = await self.matches(text) if text else None
        return self.facet_counts(ids, topics=topics, origin=origin, viewer=viewer, chosen=chosen)

    # -- counting --------------------------------------------------------------

    def codes(self, ids: Iterable[int] | None) -> tuple[list[int], list[int]]:
        """Group codes and topic-set codes of `ids` (None: every entry), in step."""
        if ids is None:
            return self._group, self._topics
        group, topics = self._group, self._topics
        ids = list(ids)
        if ids and max(ids) >= len(group):  # written after the last refresh: counted next time
            ids = [i for i in ids if i < len(group)]
        return list(map(group.__getitem__, ids)), list(map(topics.__getitem__, ids))

    def facet_counts(
        self,
        ids: Iterable[int] | None,
        *,
        topics: Sequence[str] = (),
        origin: str | None = None,
        viewer: tuple[str, int] | None = None,
        chosen: Chosen = ((), (), (), (), ()),
    ) -> tuple[list[Row], dict[str, int]]:
        """Facet counts of the entries among `ids` (None: all) that `viewer` may see.

        Returns the rows (kind, status, language, land, size, n) of the entries
        with any of `topics` (all when empty), which the page tallies per facet
        under the other filters, and the count per topic slug of the entries
        that pass the five `chosen` filters (whatever their topics). Counting is
        `Counter` over codes; Python loops only over the few distinct codes.
        """
        groups, topic_sets = self._groups, self._topic_sets
        gs, ts = self.codes(ids)
        if topics:
            wanted = set(topics)
            has = [not wanted.isdisjoint(s) for s in topic_sets]
            per_group = Counter(compress(gs, map(has.__getitem__, ts)))
        else:
            per_group = Counter(gs)
        rows: Counter[Row] = Counter()
        for code, n in per_group.items():
            group = groups[code]
            if group is not None and visible(group, viewer, origin):
                rows[group[:5]] += n
        passes = [visible(g, viewer, origin) and fits(g, chosen) for g in groups]
        per_set = Counter(compress(ts, map(passes.__getitem__, gs)))
        by_slug: Counter[str] = Counter()
        for code, n in per_set.items():
            for slug in topic_sets[code]:
                by_slug[slug] += n
        return [(*five, n) for five, n in rows.items()], dict(by_slug)
