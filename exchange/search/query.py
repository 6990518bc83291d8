"""Finding entries: one page of results, in order, with keyset cursors, and their count.

`build_query` is pure: it turns an `EntryQuery` (`filters`) into SQL and
parameters for one dialect (tested by a parametrised table). `find_entries`
runs it and returns one page; relevance on PostgreSQL is read level by level
(`levels`). `count_entries` answers `totalCount`, cached per filter until the
next change on this node, so that paging through a large catalogue does not
count the table on every request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from content import fts5_match, tsquery
from exchange.auth import Actor
from exchange.db import current_connection, dialect_of
from exchange.errors import InvalidInputError
from exchange.models import Entry
from exchange.search.filters import (
    EntryQuery,
    _entry_columns,
    _false,
    _Params,
    _where,
    only_text,
)
from exchange.search.levels import LEVELS, TOP_LEVEL, _levelled, build_level_ids, build_level_query

MAX_PAGE = 100
TOP_MARGIN = 200  # relevance: matches ranked beyond a page, for those the viewer may not see
LEVEL_CAP = 1000  # a level with more matches than this is read newest first (a window) ...



@dataclass
class Page:
    entries: list[Entry]
    keys: list[tuple[Any, int]]
    has_next: bool
    has_previous: bool = False


def _sort(order: str, dialect: str) -> tuple[str, str]:
    """(sort expression, direction) of an ordering; ties broken by e.id the same way."""
    if order == "oldest":
        return "e.updated_at", "ASC"
    if order == "title":
        return "lower(e.title)", "ASC"
    if order == "relevance":
        return "f.score", "DESC"
    if order == "endorsed":
        return (
            ("(SELECT count(*) FROM endorsement en WHERE en.entry_uid = e.uid "
             f"AND en.deleted = {_false(dialect)})"), "DESC",
        )
    return "e.updated_at", "DESC"


def _topped(q: EntryQuery, dialect: str) -> bool:
    """Whether relevance is ranked among the best matches only (SQLite, text alone)."""
    return dialect == "sqlite" and q.effective_order == "relevance" and only_text(q)


def build_query(
    q: EntryQuery,
    actor: Actor | None,
    *,
    dialect: str,
    first: int,
    after: tuple[Any, int] | None = None,
    top: bool = True,
    leave_out: frozenset[str] = frozenset(),
) -> tuple[str, list[Any]]:
    """SQL and parameters for one page (first + 1 rows, to know whether more follow).

    With `top` (the default), relevance on SQLite without other filters ranks
    only the best matches (see `_where`); `top=False` is the exact full join.
    Relevance on PostgreSQL is read level by level (`find_entries`): this is
    the query of the level the cursor is in (the top level without one) over
    all its candidates.
    """
    if dialect == "postgres" and _levelled(q):
        level = TOP_LEVEL if after is None else int(after[0][0])
        return build_level_query(q, actor, level=level, limit=first + 1, after=after, leave_out=leave_out)
    p = _Params(dialect)
    # relevance needs the text join; the placeholder numbering follows the SQL text order
    order = q.effective_order
    sqlite = dialect == "sqlite"
    conds, joins = _where(
        q, actor, p, scan_order=sqlite and order in ("newest", "oldest"),
        top=(first + 1 + TOP_MARGIN, after) if top and _topped(q, dialect) else None,
    )
    if order == "relevance" and " f ON " not in joins:
        order = "newest"  # the text had no searchable terms left
    expr, direction = _sort(order, dialect)
    if after is not None:
        value, last_id = after
        op = "<" if direction == "DESC" else ">"
        v1, v2, v3 = p.add(value), p.add(value), p.add(last_id)
        conds.append(f"({expr} {op} {v1} OR ({expr} = {v2} AND e.id {op} {v3}))")
    key = f"{expr} AS sort_key"
    # The limit is written into the SQL (an int, never text): a page without filters or cursor then
    # has no parameters, and PostgreSQL plans its prepared statement once instead of on every call
    # (a custom plan of the compiled Catalogue statement took ~0.7 ms of its ~2 ms).
    sql = (
        f"SELECT {_entry_columns(leave_out)}, {key} FROM {joins} WHERE {' AND '.join(conds)} "
        f"ORDER BY {expr} {direction}, e.id {direction} LIMIT {int(first) + 1}"
    )
    return sql, p.values


def build_count(q: EntryQuery, actor: Actor | None, *, dialect: str) -> tuple[str, list[Any]]:
    p = _Params(dialect)
    conds, joins = _where(q, actor, p)
    sql = f"SELECT count(*) AS n FROM {joins} WHERE {' AND '.join(conds)}"
    return sql, p.values


def build_ids(text: str, *, dialect: str) -> tuple[str, list[Any]] | None:
    """SQL for the ids of every entry whose terms match `text`, unordered and unfiltered.

    None when the text leaves no searchable term (it then matches nothing). On
    SQLite only live entries are in the index; on PostgreSQL deleted ones match too.
    The ids come back aggregated in one value (a common word matches tens of
    thousands of entries, and a row per id costs more than the search itself).
    """
    expr = tsquery(text) if dialect == "postgres" else fts5_match(text)
    if expr is None:
        return None
    if dialect == "postgres":
        # through the GIN index (migration 0006): a table scan would read every entry's vector
        return "SELECT entry_ids_at_level(to_tsquery('simple', $1), 1, NULL) AS ids", [expr]
    return "SELECT group_concat(rowid) AS ids FROM entry_fts WHERE entry_fts MATCH ?", [expr]


async def matching_ids(text: str) -> list[int]:
    """Ids of the entries whose terms match `text` (see `build_ids`)."""
    conn = current_connection()
    built = build_ids(text, dialect=dialect_of(conn))
    if built is None:
        return []
    _, rows = await conn.execute_query(*built)
    ids = rows[0][0] if rows else None
    if not ids:
        return []
    return list(map(int, ids.split(","))) if isinstance(ids, str) else list(ids)


def _row_to_entry(row: dict[str, Any]) -> Entry:
    data = dict(row)
    data.pop("sort_key", None)
    return Entry._init_from_db(**data)


def _cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _param_value(value: Any, order: str, dialect: str) -> Any:
    if order in ("newest", "oldest") and dialect == "postgres" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInputError("the cursor does not fit this ordering") from None
    if order == "endorsed" and (not isinstance(value, int) or isinstance(value, bool)):
        raise InvalidInputError("the cursor does not fit this ordering")
    if order == "relevance" and dialect == "postgres":
        # ((level, updated_at), id): see build_level_query
        try:
            level, when = value
            if level not in LEVELS or isinstance(level, bool):
                raise ValueError(level)
            return (level, datetime.fromisoformat(when))
        except (TypeError, ValueError):
            raise InvalidInputError("the cursor does not fit this ordering") from None
    if order == "relevance" and not isinstance(value, (int, float)):
        raise InvalidInputError("the cursor does not fit this ordering")
    if order in ("newest", "oldest", "title") and not isinstance(value, str):
        raise InvalidInputError("the cursor does not fit this ordering")
    return value


async def find_entries(
    q: EntryQuery, actor: Actor | None, *, first: int, after: tuple[Any, int] | None = None,
    leave_out: frozenset[str] = frozenset(),
) -> Page:
    """One page of entries, and the keyset position of each.

    `leave_out`: long texts (`LONG_TEXTS`) the caller does not show, read as ''.
    """
    if not 0 <= first <= MAX_PAGE:
        raise InvalidInputError(f"first must be between 0 and {MAX_PAGE}, not {first}")
    q = q.validated()
    conn = current_connection()
    dialect = dialect_of(conn)
    if after is not None:
        after = (_param_value(after[0], q.effective_order, dialect), int(after[1]))
    if dialect == "postgres" and _levelled(q):
        return await _find_by_level(q, actor, first=first, after=after, leave_out=leave_out)
    sql, values = build_query(q, actor, dialect=dialect, first=first, after=after, leave_out=leave_out)
    _, rows = await conn.execute_query(sql, values)
    if len(rows) <= first and _topped(q, dialect):
        # the best matches were too few once filtered by visibility: rank them all
        sql, values = build_query(q, actor, dialect=dialect, first=first, after=after, top=False,
                                  leave_out=leave_out)
        _, rows = await conn.execute_query(sql, values)
    rows = [dict(r) for r in rows]
    has_next = len(rows) > first
    rows = rows[:first]
    entries = [_row_to_entry(r) for r in rows]
    keys = [(_cursor_value(r["sort_key"]), int(r["id"])) for r in rows]
    return Page(entries=entries, keys=keys, has_next=has_next, has_previous=after is not None)


async def _find_by_level(
    q: EntryQuery, actor: Actor | None, *, first: int, after: tuple[Any, int] | None,
    leave_out: frozenset[str] = frozenset(),
) -> Page:
    """PostgreSQL relevance: the levels from the cursor's down, until first + 1 rows are found.

    Per level: up to `LEVEL_CAP` + 1 candidate ids through its index; if that is
    all of them, they are sorted; else the word is common and a window of the
    newest entries is tried first (see `build_level_query`).
    """
    conn = current_connection()
    found: list[tuple[int, dict[str, Any]]] = []
    start = TOP_LEVEL if after is None else int(after[0][0])
    for level in range(start, 0, -1):
        limit = first + 1 - len(found)
        if limit <= 0:
            break
        cursor = after if after is not None and level == start else None
        ids_sql = build_level_ids(q.text or "", level, LEVEL_CAP + 1)  # one more: are there more?
        assert ids_sql is not None  # _levelled: the text has searchable terms
        _, id_rows = await conn.execute_query(*ids_sql)
        ids = list(id_rows[0][0] or []) if id_rows else []
        rows: Sequence[Any] = []
        if len(ids) > LEVEL_CAP:
            _, rows = await conn.execute_query(*build_level_query(
                q, actor, level=level, limit=limit, after=cursor, window=True, leave_out=leave_out))
            if len(rows) < limit:  # too few in the window: all of the level's candidates
                _, rows = await conn.execute_query(*build_level_query(
                    q, actor, level=level, limit=limit, after=cursor, leave_out=leave_out))
        elif ids:
            _, rows = await conn.execute_query(*build_level_query(
                q, actor, level=level, limit=limit, after=cursor, ids=ids, leave_out=leave_out))
        found += [(level, dict(r)) for r in rows]
    has_next = len(found) > first
    found = found[:first]
    return Page(
        entries=[_row_to_entry(r) for _, r in found],
        keys=[((level, _cursor_value(r["sort_key"])), int(r["id"])) for level, r in found],
        has_next=has_next,
        has_previous=after is not None,
    )


class CountCache:
    """totalCount per (filter, viewer) until this node's change feed moves on."""

    def __init__(self, size: int = 512) -> None:
        self._entries: OrderedDict[tuple[Any, ...], tuple[int, int]] = OrderedDict()
        self.size = size

    def get(self, key: tuple[Any, ...], seq: int) -> int | None:
        hit = self._entries.get(key)
        if hit is None or hit[0] != seq:
            return None
        self._entries.move_to_end(key)
        return hit[1]

    def put(self, key: tuple[Any, ...], seq: int, count: int) -> None:
        self._entries[key] = (seq, count)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


async def latest_seq() -> int:
    _, rows = await current_connection().execute_query("SELECT max(seq) AS s FROM change")
    value = dict(rows[0])["s"] if rows else None
    return int(value or 0)


async def count_entries(q: EntryQuery, actor: Actor | None, cache: CountCache | None = None,
                        seq: int | None = None) -> int:
    """How many entries match; with a cache, `seq` is the change feed's position if already read."""
    q = q.validated()
    conn = current_connection()
    dialect = dialect_of(conn)
    viewer = None if actor is None or actor.publisher is None else (actor.publisher.kind, actor.publisher.id)
    key = (q.kinds, q.topics, q.publisher, q.land, q.size_classes, q.statuses, q.languages,
           (q.text or "").strip(), q.origin, q.include_deleted, viewer, q.endorsed_by)
    if seq is None:
        seq = await latest_seq() if cache is not None else 0
    if cache is not None:
        hit = cache.get(key, seq)
        if hit is not None:
            return hit
    sql, values = build_count(q, actor, dialect=dialect)
    _, rows = await conn.execute_query(sql, values)
    count = int(dict(rows[0])["n"])
    if cache is not None:
        cache.put(key, seq, count)
    return count
