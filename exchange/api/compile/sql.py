"""SQL that builds JSON, for SQLite (json_object, json_group_array) and PostgreSQL (json_build_object, json_agg).

Every function returns an SQL expression whose value is what the GraphQL
field would serialize to: the same strings, numbers, booleans and nulls, so
that the JSON a compiled statement returns, once parsed, equals the answer of
the general execution. Expressions take no parameters: names of keys are
GraphQL response names (letters, digits, underscores) and enum names come
from the schema, so they are written into the SQL as literals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from exchange.search.filters import visibility_clause

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def literal(text: str) -> str:
    """A GraphQL name or enum name as an SQL string literal (nothing else is ever written in)."""
    if not _NAME.fullmatch(text):
        raise ValueError(f"not a GraphQL name: {text!r}")
    return f"'{text}'"


def as_json(dialect: str, expr: str) -> str:
    """Mark an expression that holds JSON text as JSON (SQLite loses that across subqueries)."""
    return f"json({expr})" if dialect == "sqlite" else expr


def obj(dialect: str, pairs: Sequence[tuple[str, str]]) -> str:
    """A JSON object with keys in this order (PostgreSQL's json keeps order and duplicates)."""
    inner = ", ".join(f"{literal(key)}, {value}" for key, value in pairs)
    return f"json_object({inner})" if dialect == "sqlite" else f"json_build_object({inner})"


def array(dialect: str, item: str, source: str, order: str) -> str:
    """A JSON array of `item` over `source` (FROM ... WHERE ...) in `order`, [] when empty.

    SQLite before 3.44 has no ORDER BY inside an aggregate: the rows come from an
    ordered subquery with a LIMIT, which SQLite never flattens into the aggregate.
    """
    if dialect == "sqlite":
        return (f"(SELECT json_group_array(json(x.v)) FROM (SELECT {item} AS v FROM {source} "
                f"ORDER BY {order} LIMIT -1) x)")
    return f"(SELECT coalesce(json_agg({item} ORDER BY {order}), '[]'::json) FROM {source})"


def boolean(dialect: str, expr: str) -> str:
    if dialect == "sqlite":
        return f"json(CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} THEN 'true' ELSE 'false' END)"
    return expr


def text_list(dialect: str, expr: str) -> str:
    """A JSON column holding a list of strings, [] when empty or null."""
    if dialect == "sqlite":
        return f"json(coalesce({expr}, '[]'))"
    return f"coalesce({expr}, '[]'::jsonb)"


def timestamp(dialect: str, expr: str) -> str:
    """A stored timestamp as Python's isoformat() writes it (what the DateTime scalar serializes).

    SQLite stores isoformat(' ') text; PostgreSQL's timestamptz is written in UTC
    with microseconds only when there are any, as Python does.
    """
    if dialect == "sqlite":
        return f"replace({expr}, ' ', 'T')"
    utc = f"({expr} AT TIME ZONE 'UTC')"
    return (f"CASE WHEN {expr} IS NULL THEN NULL ELSE to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            f"CASE WHEN extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
            f"ELSE to_char({utc}, '.US') END || '+00:00' END")


def uuid_text(dialect: str, expr: str) -> str:
    return expr if dialect == "sqlite" else f"{expr}::text"


def enum_name(expr: str, default: str | None = None) -> str:
    """An enum stored as its lower-case value, answered by its name (upper case)."""
    value = f"coalesce({expr}, '{default}')" if default is not None else expr
    return f"upper({value})"


def order_by_slug(dialect: str, expr: str) -> str:
    """Code-point order of a text, as Python's sort (PostgreSQL's default collation differs)."""
    return expr if dialect == "sqlite" else f'{expr} COLLATE "C"'


_VIEWER = re.compile(r"@@viewer:([a-z]+)@@")


def viewer(alias: str) -> str:
    """A mark for the visibility clause of the entry `alias`, filled in per request (`for_viewer`)."""
    return f"@@viewer:{alias}@@"


def for_viewer(statement: str, actor: Any) -> str:
    """The statement with each mark replaced by the search's visibility clause for this actor."""
    if "@@" not in statement:
        return statement
    return _VIEWER.sub(lambda m: visibility_clause(actor, None, m.group(1)), statement)
