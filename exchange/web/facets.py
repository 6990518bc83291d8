"""Facet counts of the search page: how many entries each filter value would give.

Two grouped queries answer all six facets. The first groups the entries that
match the text and topics by (kind, status, language, Land, size class); from
those rows `tally` computes, in Python, each facet's counts under every other
selected filter (so a facet shows its alternatives, not only the chosen value)
and the total. The second counts topics under all filters but the topic one.
Both are cached until this node's change feed moves on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from exchange.auth import Actor
from exchange.db import current_connection, dialect_of

# The WHERE builder of search.py, so that facets filter exactly like the results.
from exchange.search import EntryQuery, _Params, _where, land_code, latest_seq

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
    conds, joins = _where(replace(q, topics=()), actor, p)
    sql = (
        f"SELECT t.slug, count(*) AS n FROM {joins} JOIN entry_topic et ON et.entry_id = e.id "
        f"JOIN topic t ON t.id = et.topic_id WHERE {' AND '.join(conds)} GROUP BY t.slug"
    )
    return sql, p.values


class FacetCache:
    """Facets per (query, viewer) until the change feed moves on."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[tuple[Any, ...], tuple[int, Facets]] = OrderedDict()
        self.size = size

    async def facets(self, q: EntryQuery, actor: Actor | None) -> Facets:
        viewer = None if actor is None or actor.publisher is None else (actor.publisher.kind, actor.publisher.id)
        key = (q.kinds, q.topics, q.land, q.size_classes, q.statuses, q.languages,
               (q.text or "").strip(), q.origin, viewer)
        seq = await latest_seq()
        hit = self._items.get(key)
        if hit is not None and hit[0] == seq:
            self._items.move_to_end(key)
            return hit[1]
        result = await compute(q, actor)
        self._items[key] = (seq, result)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return result


async def compute(q: EntryQuery, actor: Actor | None) -> Facets:
    conn = current_connection()
    dialect = dialect_of(conn)
    sql, values = build_facet_sql(q, actor, dialect)
    _, rows = await conn.execute_query(sql, values)
    groups = [tuple(dict(r).values()) for r in rows]
    counts, total = tally(groups, selected(q))
    sql, values = build_topic_sql(q, actor, dialect)
    _, rows = await conn.execute_query(sql, values)
    topics = {str(dict(r)["slug"]): int(dict(r)["n"]) for r in rows}
    return Facets(counts=counts, topics=topics, total=total)
