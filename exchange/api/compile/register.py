"""`municipalities` (the register, by name) as one SQL statement.

`queries.Query.municipalities` filters the register with a tortoise queryset
and pages by (name, id). The compiled statement wraps the very SQL of those
querysets (the page and, when totalCount is selected, the count), so filters
and ordering are the database's own in both paths; the cursors are made in
Python from each row's name and id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from tortoise.expressions import Q

from exchange.api.compile import sql
from exchange.api.compile.connection import Shape, assemble, compile_shape
from exchange.api.compile.selection import KREIS, MUNICIPALITY, Compiler, Unknown, plain
from exchange.api.entryquery import check_first
from exchange.api.inputs import MunicipalityFilter
from exchange.api.queries import _municipality_queryset
from exchange.db import current_connection, dialect_of
from exchange.errors import InvalidInputError

_NUMBERED = re.compile(r"\$(\d+)")


class Fallback(Exception):
    """This request is answered by the general execution."""


def _parameterized(query: Any) -> tuple[str, list[Any]]:
    """The SQL and parameters tortoise would run for a queryset (or a count of one)."""
    query._choose_db_if_not_chosen()
    query._make_query()
    text, values = query.query.get_parameterized_sql()
    return text, list(values or [])


@dataclass
class Register:
    dialect: str
    shape: Shape

    async def run(self, ctx: Any, first: int, after: str | None, filter: MunicipalityFilter | None) -> dict[str, Any]:
        check_first(first)
        codec = ctx.services.extra["cursors"]
        qs = _municipality_queryset(filter or MunicipalityFilter())
        page_qs = qs
        if after:
            name, ident = codec.decode(after, "municipalities")
            if not isinstance(name, str):
                raise InvalidInputError("the cursor does not fit this list")
            page_qs = qs.filter(Q(name__gt=name) | Q(name=name, id__gt=ident))
        conn = current_connection()
        if dialect_of(conn) != self.dialect:
            raise Fallback("dialect")
        page, values = _parameterized(page_qs.order_by("name", "id").limit(first + 1))
        count = "NULL"
        if self.shape.wants_count:
            count, count_values = _parameterized(qs.count())
            count = f"({count})"
            if self.dialect == "postgres":  # the page's placeholders follow the count's
                shift = len(count_values)
                page = _NUMBERED.sub(lambda m: f"${int(m.group(1)) + shift}", page)
            values = count_values + values
        node = self.shape.node
        if self.dialect == "sqlite":
            rows = f"(SELECT json_group_array(json_array(p.name, p.id, {node})) FROM ({page}) p)"
            statement = f"SELECT json_object('count', {count}, 'rows', json({rows})) AS page"
        else:
            rows = (f"(SELECT coalesce(json_agg(json_build_array(p.name, p.id, {node}) ORDER BY p.name, p.id), "
                    f"'[]'::json) FROM ({page}) p)")
            statement = f"SELECT json_build_object('count', {count}, 'rows', {rows})::text AS page"
        _, result = await conn.execute_query(statement, values)
        answer = orjson.loads(result[0][0])
        found = answer["rows"]
        has_next = len(found) > first
        found = found[:first]
        cursors = [codec.encode("municipalities", name, ident) for name, ident, _ in found]
        total = int(answer["count"]) if self.shape.wants_count else None
        return assemble(self.shape, cursors, [row[2] for row in found], has_next, after is not None, total)


def compile_municipalities(ex: Any, connection_type: Any, details: Any, dialect: str) -> Register:
    """The compiled selection of a `municipalities` field; raises Unknown for what it cannot compile."""
    compiler = Compiler(ex, dialect)

    def nested(name: str, sub: Any) -> str:
        if name != "kreis":
            raise Unknown(f"Municipality.{name}")
        plain(sub)
        body = compiler.fields("Kreis", sub, KREIS, "p")
        # types.Municipality.from_model: a Kreis for a Gemeinde with a Kreis key
        return sql.as_json(dialect, f"CASE WHEN coalesce(p.kreis_key, '') <> '' AND p.level = 'gemeinde' "
                                    f"THEN {body} END")

    shape = compile_shape(compiler, connection_type, details,
                          lambda sub: compiler.fields("Municipality", sub, MUNICIPALITY, "p", nested))
    return Register(dialect, shape)
