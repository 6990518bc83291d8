"""What a search asks for, as SQL conditions: filters, visibility and the text match.

`EntryQuery` is what a reader asks for (publisher already resolved);
`_where` turns it into the WHERE conditions and the FROM clause that every
search query of one dialect shares: the pages of results (`query`), the
relevance levels (`levels`), the counts, and the facets beside the results.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from content import fts5_match, tsquery
from exchange.auth import Actor
from exchange.errors import InvalidInputError
from exchange.models import ENTRY_KINDS, LANGUAGES, PROJECT_STATUSES, Entry

ORDERS = ("newest", "oldest", "title", "relevance", "endorsed")
SIZE_CLASSES = ("Landgemeinde", "Kleinstadt", "Mittelstadt", "Großstadt")

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
class _Params:
    dialect: str
    values: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.dialect == "postgres" else "?"

    def add_all(self, values: tuple[Any, ...]) -> str:
        return ", ".join(self.add(v) for v in values)


def visibility_clause(actor: Actor | None, p: _Params | None, alias: str = "e") -> str:
    """Which entries (`alias`) the actor may see (`access.may_see` in SQL).

    Without `p` the publisher's id is written into the SQL (an integer of this
    node's own database), for statements compiled once for every viewer.
    """
    if actor is None or actor.publisher is None:
        return f"{alias}.visibility = 'public'"
    own = f"{alias}.municipality_id" if actor.publisher.kind == "municipality" else f"{alias}.organisation_id"
    value = str(int(actor.publisher.id)) if p is None else p.add(actor.publisher.id)
    return f"({alias}.visibility IN ('public', 'network', 'local') OR {own} = {value})"


def _false(dialect: str) -> str:
    return "false" if dialect == "postgres" else "0"


def only_text(q: EntryQuery) -> bool:
    """Whether a query filters by nothing but its text (and visibility)."""
    return not (q.kinds or q.topics or q.publisher or q.land or q.size_classes or q.statuses
                or q.languages or q.origin or q.endorsed_by or q.include_deleted)


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


# Long texts a listing may leave out (read as ''): a page of 50 then moves ~17 KB, not ~340 KB
LONG_TEXTS = frozenset({"body_markdown", "body_html", "search_terms", "what_worked", "what_did_not",
                        "transfer_preconditions", "costs_staffing"})


@functools.lru_cache(maxsize=64)  # the model's columns do not change while the process runs
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
