"""Finding entries: filters, full text, ordering and keyset pages, as SQL.

`build_query` is pure: it turns an `EntryQuery` into SQL and parameters for
one dialect (tested by a parametrised table). `find_entries` runs it and
returns one page; `count_entries` answers `totalCount`, cached per filter
until the next change on this node, so that paging through a large catalogue
does not count the table on every request.

Relevance differs per dialect. SQLite ranks by FTS5's bm25 over the weighted
terms (title three times, keywords and summary twice, then the text). On
PostgreSQL an entry's relevance is its *level*: how prominently it uses the
least prominent of the searched words, counting the same weighted terms —
3: at least three times (in the title, or in the summary or keywords and the
text, or often in the text), 2: twice (in the summary or keywords), 1: once;
newest first within a level. Sorting every match by `ts_rank` cost 150–600 ms
for a common word at 100,000 entries (it reads and decompresses each match's
whole vector); a level is read from small stored vectors (entry_match, 0006):
a few candidates sorted, or a common word's newest entries, never every
match (`build_level_query`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from content import fts5_match, tsquery
from exchange.auth import Actor
from exchange.db import current_connection, dialect_of
from exchange.errors import InvalidInputError
from exchange.models import ENTRY_KINDS, LANGUAGES, PROJECT_STATUSES, Entry

ORDERS = ("newest", "oldest", "title", "relevance", "endorsed")
SIZE_CLASSES = ("Landgemeinde", "Kleinstadt", "Mittelstadt", "Großstadt")
MAX_PAGE = 100
TOP_MARGIN = 200  # relevance: matches ranked beyond a page, for those the viewer may not see
# PostgreSQL relevance levels: entry_match.levels holds the lexemes of search_terms occurring
# at least twice, those at least three times with weight A (0006); search_vector all (0005)
LEVELS = (3, 2, 1)
TOP_LEVEL = 3
LEVEL_CAP = 1000  # a level with more matches than this is read newest first (a window) ...
LEVEL_WINDOW = 2000  # ... of this many entries, before all its matches are gathered

LAENDER = {
    "01": "Schleswig-Holstein", "02": "Hamburg", "03": "Niedersachsen", "04": "Bremen",
    "05": "Nordrhein-Westfalen", "06": "Hessen", "07": "Rheinland-Pfalz", "08": "Baden-Württemberg",
    "09": "Bayern", "10": "Saarland", "11": "Berlin", "12": "Brandenburg",
    "13": "Mecklenburg-Vorpommern", "14": "Sachsen", "15": "Sachsen-Anhalt", "16": "Thüringen",
}


def land_code(value: str) -> str:
    """A Land's two-digit code from its code or (case-insensitive) name."""
    value = value.strip()
    if value in LAENDER:
        return value
    if value.isdigit() and len(value) == 1:
        value = "0" + value
        if value in LAENDER:
            return value
    for code, name in LAENDER.items():
        if name.casefold() == value.casefold():
            return code
    raise InvalidInputError(f"unknown Land {value!r}; use a name such as 'Bayern' or a code 01–16")


@dataclass(frozen=True)
class EntryQuery:
    """What to find. Publisher is already resolved to (kind, id)."""

    kinds: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    publisher: tuple[str, int] | None = None
    land: str | None = None
    size_classes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    text: str | None = None
    origin: str | None = None
    endorsed_by: str | None = None  # organisation slug
    include_deleted: bool = False
    order: str = "newest"

    def validated(self) -> EntryQuery:
        for name, values, allowed in (
            ("kind", self.kinds, ENTRY_KINDS),
            ("status", self.statuses, PROJECT_STATUSES),
            ("language", self.languages, LANGUAGES),
            ("size class", self.size_classes, SIZE_CLASSES),
        ):
            bad = [v for v in values if v not in allowed]
            if bad:
                raise InvalidInputError(f"unknown {name} {', '.join(map(repr, bad))}; known: {', '.join(allowed)}")
        if self.order not in ORDERS:
            raise InvalidInputError(f"order must be one of {', '.join(ORDERS)}")
        if self.text is not None and len(self.text) > 500:
            raise InvalidInputError("the search text is longer than 500 characters")
        return self

    @property
    def effective_order(self) -> str:
        if self.order == "relevance" and not (self.text and self.text.strip()):
            return "newest"
        return self.order


@dataclass
class Page:
    entries: list[Entry]
    keys: list[tuple[Any, int]]
    has_next: bool
    has_previous: bool = False


@dataclass
class _Params:
    dialect: str
    values: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.dialect == "postgres" else "?"

    def add_all(self, values: tuple[Any, ...]) -> str:
        return ", ".join(self.add(v) for v in values)


def visibility_clause(actor: Actor | None, p: _Params) -> str:
    if actor is None or actor.publisher is None:
        return "e.visibility = 'public'"
    own = "e.municipality_id" if actor.publisher.kind == "municipality" else "e.organisation_id"
    return f"(e.visibility IN ('public', 'network', 'local') OR {own} = {p.add(actor.publisher.id)})"


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


def _false(dialect: str) -> str:
    return "false" if dialect == "postgres" else "0"


def only_text(q: EntryQuery) -> bool:
    """Whether a query filters by nothing but its text (and visibility)."""
    return not (q.kinds or q.topics or q.publisher or q.land or q.size_classes or q.statuses
                or q.languages or q.origin or q.endorsed_by or q.include_deleted)


def _topped(q: EntryQuery, dialect: str) -> bool:
    """Whether relevance is ranked among the best matches only (SQLite, text alone)."""
    return dialect == "sqlite" and q.effective_order == "relevance" and only_text(q)


def _where(
    q: EntryQuery,
    actor: Actor | None,
    p: _Params,
    *,
    scan_order: bool = False,
    top: tuple[int, tuple[Any, int] | None] | None = None,
) -> tuple[list[str], str]:
    """WHERE conditions and the FROM clause for a query.

    `scan_order` (SQLite, newest/oldest with a text): walk the date index and
    test each entry against the matching ids, instead of fetching every match
    and sorting; a common word then costs a few index steps, not 20,000 rows.
    `top` (SQLite, relevance, no other filter): (n, after) ranks inside FTS5 and
    joins only the best n matches after the cursor; `find_entries` falls back
    to the full join when fewer than a page of them are visible.
    """
    joins = "entry e"
    conds: list[str] = []
    # The text join comes first in the SQL, so its parameter is added first.
    text = (q.text or "").strip()
    if text:
        ranked = q.effective_order == "relevance"
        expr = tsquery(text) if p.dialect == "postgres" else fts5_match(text)
        if expr is None:
            conds.append("1 = 0")
        elif p.dialect == "postgres":
            # search_vector: to_tsvector('simple', search_terms), stored (migration 0005); relevance
            # pages are read level by level (build_level_query), counts need the matches only
            conds.append(f"e.search_vector @@ to_tsquery('simple', {p.add(expr)})")
        elif ranked and top is not None:
            n, after = top
            where = f"entry_fts MATCH {p.add(expr)}"
            if after is not None:
                v1, v2, v3 = p.add(after[0]), p.add(after[0]), p.add(after[1])
                where += f" AND (-rank < {v1} OR (-rank = {v2} AND rowid < {v3}))"
            joins = (
                "entry e JOIN (SELECT rowid AS fid, -rank AS score FROM entry_fts "
                f"WHERE {where} ORDER BY rank, rowid DESC LIMIT {p.add(n)}) f ON f.fid = e.id"
            )
        elif ranked:
            # FTS5's rank is bm25, lower is better; negated so that higher is better everywhere
            joins = (
                "entry e JOIN (SELECT rowid AS fid, -rank AS score FROM entry_fts "
                f"WHERE entry_fts MATCH {p.add(expr)}) f ON f.fid = e.id"
            )
        elif scan_order:
            # "+" keeps the planner from driving the query by the matching ids
            conds.append(f"+e.id IN (SELECT rowid FROM entry_fts WHERE entry_fts MATCH {p.add(expr)})")
        else:
            # without ranking, the index only says which rows match: no scores computed
            conds.append(f"e.id IN (SELECT rowid FROM entry_fts WHERE entry_fts MATCH {p.add(expr)})")
    conds.append(visibility_clause(actor, p))
    if not q.include_deleted:
        conds.append("e.deleted = " + ("false" if p.dialect == "postgres" else "0"))
    if q.kinds:
        conds.append(f"e.kind IN ({p.add_all(q.kinds)})")
    if q.statuses:
        conds.append(f"e.status IN ({p.add_all(q.statuses)})")
    if q.languages:
        conds.append(f"e.language IN ({p.add_all(q.languages)})")
    if q.origin:
        conds.append(f"e.origin_node = {p.add(q.origin)}")
    if q.endorsed_by:
        conds.append(
            "EXISTS (SELECT 1 FROM endorsement en JOIN organisation o ON o.id = en.organisation_id "
            f"WHERE en.entry_uid = e.uid AND en.deleted = {_false(p.dialect)} AND o.slug = {p.add(q.endorsed_by)})"
        )
    if q.publisher is not None:
        kind, pid = q.publisher
        column = "e.municipality_id" if kind == "municipality" else "e.organisation_id"
        conds.append(f"{column} = {p.add(pid)}")
    if q.topics:
        conds.append(
            "EXISTS (SELECT 1 FROM entry_topic et JOIN topic t ON t.id = et.topic_id "
            f"WHERE et.entry_id = e.id AND t.slug IN ({p.add_all(q.topics)}))"
        )
    if q.land or q.size_classes:
        muni = ["m.id = e.municipality_id"]
        if q.land:
            muni.append(f"m.land_code = {p.add(land_code(q.land))}")
        if q.size_classes:
            muni.append(f"m.size_class IN ({p.add_all(q.size_classes)})")
        conds.append(f"EXISTS (SELECT 1 FROM municipality m WHERE {' AND '.join(muni)})")
    return conds, joins


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
    sql = (
        f"SELECT {_entry_columns(leave_out)}, {key} FROM {joins} WHERE {' AND '.join(conds)} "
        f"ORDER BY {expr} {direction}, e.id {direction} LIMIT {p.add(first + 1)}"
    )
    return sql, p.values


def _levelled(q: EntryQuery) -> bool:
    """Whether a query is ordered by relevance levels (on PostgreSQL): relevance with searchable terms."""
    return q.effective_order == "relevance" and tsquery(q.text or "") is not None


def weighted(expr: str) -> str:
    """A `content.tsquery` expression with every term restricted to weight A (level 3).

    The expression holds only terms of ``[a-z0-9äöüß]``, ``:*``, operators,
    parentheses and spaces (see `content.tsquery`).
    """
    return re.sub(r"([a-z0-9äöüß]+)(:\*)?", lambda m: m.group(1) + (":*A" if m.group(2) else ":A"), expr)


class _LevelText:
    """The placeholders of a text search by level, added to the parameters when first used.

    PostgreSQL cannot type a placeholder that the SQL never mentions.
    """

    def __init__(self, expr: str, p: _Params) -> None:
        self.expr, self.p = expr, p
        self.placeholders: dict[bool, str] = {}

    def query(self, *, weighted_a: bool) -> str:
        if weighted_a not in self.placeholders:
            self.placeholders[weighted_a] = self.p.add(weighted(self.expr) if weighted_a else self.expr)
        return f"to_tsquery('simple', {self.placeholders[weighted_a]})"

    def at_least(self, level: int) -> str:
        """Whether `entry e` (with its `entry_match m`) is of `level` or above."""
        if level == 1:
            return f"e.search_vector @@ {self.query(weighted_a=False)}"
        return f"m.levels @@ {self.query(weighted_a=level == TOP_LEVEL)}"

    def exactly(self, level: int, *, base: bool = True) -> str:
        """Whether `entry e` is of exactly `level`; without `base`, only that it is not above.

        The test of the higher level comes first: AND stops at the first false,
        and m.levels is small, unlike search_vector.
        """
        parts = [] if level == TOP_LEVEL else [f"NOT {self.at_least(level + 1)}"]
        if base:
            parts.append(self.at_least(level))
        return " AND ".join(parts) or "true"


def build_level_ids(text: str, level: int, limit: int | None) -> tuple[str, list[Any]] | None:
    """PostgreSQL: SQL for the ids of up to `limit` entries (all with None) at `level` or above.

    Through the level's GIN index, unordered and unfiltered (`entry_ids_at_level`,
    migration 0006); None when the text has no searchable terms.
    """
    expr = tsquery(text)
    if expr is None:
        return None
    return "SELECT entry_ids_at_level(to_tsquery('simple', $1), $2, $3) AS ids", [
        weighted(expr) if level == TOP_LEVEL else expr, level, limit]


def build_level_query(
    q: EntryQuery,
    actor: Actor | None,
    *,
    level: int,
    limit: int,
    after: tuple[Any, int] | None = None,
    ids: list[int] | None = None,
    window: bool = False,
    leave_out: frozenset[str] = frozenset(),
) -> tuple[str, list[Any]]:
    """PostgreSQL: SQL for the newest `limit` entries of one relevance level, after a cursor.

    The cursor is ((level, updated_at), id); rows carry `updated_at` as their
    sort key. The planner is not left to choose between walking the date index
    and gathering the matches through a GIN index: its estimates of a level's
    share are poor (a lower level excludes the higher ones with `NOT … @@`,
    which it takes to be independent of its own matches, and a word absent
    from a level is still guessed at 0.5 %), and a wrong walk reads the whole
    table (70–300 ms at 100,000 entries). Instead:

    - by default, the candidates are the ids at the level or above, `ids` when
      the caller fetched them already (`build_level_ids`), else all of them;
      they are filtered and sorted behind an `OFFSET 0` fence, so that no walk
      of the date index is planned around them;
    - with `window`, only the `LEVEL_WINDOW` newest entries after the cursor
      that pass the filters are looked at: cheap for a common word, and exact
      when it yields `limit` rows (the level's entries outside the window are
      older than all inside).
    """
    expr = tsquery(q.text or "")
    if expr is None:
        raise ValueError("a relevance level needs a text with searchable terms")
    p = _Params("postgres")
    text = _LevelText(expr, p)
    conds, _ = _where(replace(q, text=None), actor, p)
    if after is not None:
        (_, when), last_id = after
        conds.append(f"(e.updated_at, e.id) < ({p.add(when)}, {p.add(last_id)})")
    columns = f"{_entry_columns(leave_out)}, e.updated_at AS sort_key"
    if window:
        inner = (
            f"SELECT e.id, e.updated_at, {text.exactly(level)} AS hit FROM entry e "
            f"JOIN entry_match m ON m.id = e.id WHERE {' AND '.join(conds)} "
            f"ORDER BY e.updated_at DESC, e.id DESC LIMIT {p.add(LEVEL_WINDOW)}"
        )
        return (
            f"SELECT {columns} FROM ({inner}) w JOIN entry e ON e.id = w.id WHERE w.hit "
            f"ORDER BY w.updated_at DESC, w.id DESC LIMIT {p.add(limit)}"
        ), p.values
    if ids is None:
        candidates = f"entry_ids_at_level({text.query(weighted_a=level == TOP_LEVEL)}, {p.add(level)}, NULL)"
    else:
        candidates = f"{p.add(ids)}::integer[]"
    where = " AND ".join([text.exactly(level, base=False), *conds])
    return (
        f"SELECT * FROM (SELECT {columns} FROM unnest({candidates}) AS c(id) JOIN entry e ON e.id = c.id "
        f"JOIN entry_match m ON m.id = c.id WHERE {where} OFFSET 0) s "
        f"ORDER BY s.sort_key DESC, s.id DESC LIMIT {p.add(limit)}"
    ), p.values


# Long texts a listing may leave out (read as ''): a page of 50 then moves ~17 KB, not ~340 KB
LONG_TEXTS = frozenset({"body_markdown", "body_html", "search_terms", "what_worked", "what_did_not",
                        "transfer_preconditions", "costs_staffing"})


def _entry_columns(leave_out: frozenset[str] = frozenset()) -> str:
    """The model's columns of `entry e` (not `e.*`: PostgreSQL also stores the search vector).

    Columns in `leave_out` (some of `LONG_TEXTS`) are read as empty strings.
    """
    if not leave_out <= LONG_TEXTS:
        raise ValueError(f"only long texts can be left out, not {sorted(leave_out - LONG_TEXTS)}")
    meta = Entry._meta
    sources = [meta.fields_map[name].source_field for name in meta.fk_fields]
    columns = set(meta.db_fields) | {source for source in sources if source}
    return ", ".join(f"'' AS {column}" if column in leave_out else f"e.{column}" for column in sorted(columns))


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


async def count_entries(q: EntryQuery, actor: Actor | None, cache: CountCache | None = None) -> int:
    q = q.validated()
    conn = current_connection()
    dialect = dialect_of(conn)
    viewer = None if actor is None or actor.publisher is None else (actor.publisher.kind, actor.publisher.id)
    key = (q.kinds, q.topics, q.publisher, q.land, q.size_classes, q.statuses, q.languages,
           (q.text or "").strip(), q.origin, q.include_deleted, viewer, q.endorsed_by)
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
