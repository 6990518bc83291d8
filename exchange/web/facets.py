"""Facet counts of the search page: how many entries each filter value would give.

Two grouped queries answer all six facets. The first groups the entries that
match the text and topics by (kind, status, language, Land, size class); from
those rows `tally` computes, in Python, each facet's counts under every other
selected filter (so a facet shows its alternatives, not only the chosen value)
and the total. The second groups the entries that match the text by the same
five dimensions and topic, and `tally_topics` sums the topic counts under the
other filters. Neither query depends on the five filters, so their grouped
rows are cached per (text, topics, viewer) until this node's change feed moves
on, and every combination of filters is then counted in Python. A node
gives `FacetCache` its in-memory `exchange.search.FacetIndex`, which answers
the same counts without the grouped queries; the SQL path stays for callers
without one and as the reference its tests compare against.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from exchange.auth import Actor
from exchange.db import current_connection, dialect_of
from exchange.search import EntryQuery, FacetIndex, land_code, latest_seq

# The WHERE builder of the search, so that facets filter exactly like the results.
from exchange.search.filters import _Params, _where

DIMENSIONS = ("kind", "status", "language", "land", "size")


@dataclass
class Facets:
    """Counts per value of each dimension, the topic counts and the total."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)
    total: int = 0


def selected(q: EntryQuery) -> dict[str, tuple[str, ...]]:
    """The chosen values of each dimension of a query (empty: no filter)."""
    return {
        "kind": q.kinds,
        "status": q.statuses,
        "language": q.languages,
        "land": (land_code(q.land),) if q.land else (),
        "size": q.size_classes,
    }


def tally(rows: Sequence[tuple[Any, ...]], chosen: dict[str, tuple[str, ...]]) -> tuple[dict[str, dict[str, int]], int]:
    """Per-dimension counts under the other dimensions' filters, and the total (pure).

    `rows` are (kind, status, language, land, size, n) groups.
    """
    counts: dict[str, dict[str, int]] = {d: {} for d in DIMENSIONS}
    total = 0
    for row in rows:
        values, n = row[:5], int(row[5])
        fits = [not chosen[d] or v in chosen[d] for d, v in zip(DIMENSIONS, values)]
        if all(fits):
            total += n
        for i, dim in enumerate(DIMENSIONS):
            value = values[i]
            if value in (None, "") or not all(f for j, f in enumerate(fits) if j != i):
                continue
            counts[dim][value] = counts[dim].get(value, 0) + n
    return counts, total


def build_facet_sql(q: EntryQuery, actor: Actor | None, dialect: str) -> tuple[str, list[Any]]:
    base = EntryQuery(topics=q.topics, text=q.text, origin=q.origin)
    p = _Params(dialect)
    conds, joins = _where(base, actor, p)
    sql = (
        "SELECT e.kind, e.status, e.language, m.land_code, m.size_class, count(*) AS n "
        f"FROM {joins} LEFT JOIN municipality m ON m.id = e.municipality_id "
        f"WHERE {' AND '.join(conds)} GROUP BY e.kind, e.status, e.language, m.land_code, m.size_class"
    )
    return sql, p.values


def build_topic_sql(q: EntryQuery, actor: Actor | None, dialect: str) -> tuple[str, list[Any]]:
    p = _Params(dialect)
    conds, joins = _where(EntryQuery(text=q.text, origin=q.origin), actor, p)
    sql = (
        "SELECT e.kind, e.status, e.language, m.land_code, m.size_class, t.slug, count(*) AS n "
        f"FROM {joins} JOIN entry_topic et ON et.entry_id = e.id JOIN topic t ON t.id = et.topic_id "
        "LEFT JOIN municipality m ON m.id = e.municipality_id "
        f"WHERE {' AND '.join(conds)} GROUP BY e.kind, e.status, e.language, m.land_code, m.size_class, t.slug"
    )
    return sql, p.values


def tally_topics(rows: Sequence[tuple[Any, ...]], chosen: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Topic counts under the five other filters; rows are (kind, …, size, slug, n) (pure)."""
    counts: dict[str, int] = {}
    for row in rows:
        if all(not chosen[d] or v in chosen[d] for d, v in zip(DIMENSIONS, row[:5])):
            counts[str(row[5])] = counts.get(str(row[5]), 0) + int(row[6])
    return counts


class FacetCache:
    """Grouped facet rows per (text, topics, viewer) until the change feed moves on."""

    def __init__(self, index: FacetIndex | None = None, size: int = 256) -> None:
        self.index = index  # the node's in-memory facet index: counts without grouped SQL
        self._items: OrderedDict[tuple[Any, ...], tuple[int, list[tuple[Any, ...]]]] = OrderedDict()
        self.size = size

    async def _rows(self, key: tuple[Any, ...], seq: int, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
        hit = self._items.get(key)
        if hit is not None and hit[0] == seq:
            self._items.move_to_end(key)
            return hit[1]
        _, rows = await current_connection().execute_query(sql, values)
        result = [tuple(dict(r).values()) for r in rows]
        self._items[key] = (seq, result)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return result

    async def facets(self, q: EntryQuery, actor: Actor | None) -> Facets:
        viewer = None if actor is None or actor.publisher is None else (actor.publisher.kind, actor.publisher.id)
        text = (q.text or "").strip()
        if self.index is not None:
            chosen = selected(q)
            groups, topic_counts = await self.index.search_counts(
                text, topics=q.topics, origin=q.origin, viewer=viewer, chosen=[chosen[d] for d in DIMENSIONS])
            counts, total = tally(groups, chosen)
            return Facets(counts=counts, topics=topic_counts, total=total)
        dialect = dialect_of(current_connection())
        seq = await latest_seq()
        groups = await self._rows(("dims", q.topics, text, q.origin, viewer), seq,
                                  *build_facet_sql(q, actor, dialect))
        by_topic = await self._rows(("topics", text, q.origin, viewer), seq, *build_topic_sql(q, actor, dialect))
        chosen = selected(q)
        counts, total = tally(groups, chosen)
        return Facets(counts=counts, topics=tally_topics(by_topic, chosen), total=total)
