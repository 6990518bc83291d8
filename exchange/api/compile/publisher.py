"""`municipality(officialKey)` as one SQL statement, with its own entries (`Publisher.entries`).

`queries.Query.municipality` finds the municipality as `auth.find_municipality`
does (12-digit ARS or 5-digit Kreis key in the register, or an 8-digit AGS of a
Gemeinde, active ones first) and answers null when there is none. The compiled
statement makes the same lookup and returns the municipality's JSON with its
id; each `entries` below it is then answered by the compiled entries
connection (`entries.Connection`) for that publisher, one statement each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql.execution.values import get_argument_values
from strawberry.types.arguments import convert_arguments

from exchange.api.compile import sql
from exchange.api.compile.connection import compile_shape
from exchange.api.compile.entries import Connection
from exchange.api.compile.selection import KREIS, MUNICIPALITY, Compiler, Unknown, named, plain
from exchange.api.entryquery import check_first, entry_query
from exchange.api.enums import EntryOrder
from exchange.db import current_connection, dialect_of
from exchange.search import LONG_TEXTS


class Fallback(Exception):
    """This request is answered by the general execution."""


@dataclass
class PublisherEntries:
    key: str  # response key
    node: Any  # the field's node (its arguments are read per request)
    connection: Connection


@dataclass
class SingleMunicipality:
    dialect: str
    body: str
    entries: list[PublisherEntries] = field(default_factory=list)

    async def run(self, ex: Any, args: dict[str, Any]) -> Any:
        key = str(args["official_key"]).strip()
        if not key.isdigit() or len(key) not in (5, 8, 12):
            raise Fallback("not an official key")  # the general path names the problem
        conn = current_connection()
        if dialect_of(conn) != self.dialect:
            raise Fallback("dialect")
        mark = "?" if self.dialect == "sqlite" else "$1"
        if len(key) == 8:
            where = f"p.ags = {mark} AND p.level = 'gemeinde' ORDER BY p.active DESC LIMIT 1"
        else:
            where = f"p.scheme = 'de-ars' AND p.official_key = {mark}"
        array = "json_array" if self.dialect == "sqlite" else "json_build_array"
        statement = f"SELECT {array}(p.id, {self.body}) AS found FROM municipality p WHERE {where}"
        if self.dialect == "postgres":
            statement = f"SELECT found::text FROM ({statement}) x"
        _, rows = await conn.execute_query(statement, [key])
        if not rows:
            return None
        ident, out = orjson.loads(rows[0][0])
        for part in self.entries:
            out[part.key] = await self._entries(ex, part, ident)
        return out

    async def _entries(self, ex: Any, part: PublisherEntries, ident: int) -> dict[str, Any]:
        field_def = ex.schema.get_type("Municipality").fields["entries"]
        definition = field_def.extensions["strawberry-definition"]
        strawberry_schema = ex.schema._strawberry_schema
        raw = get_argument_values(field_def, part.node, ex.variable_values, None, ex.hide_suggestions)
        args = convert_arguments(raw, definition.arguments,
                                 scalar_registry=strawberry_schema.schema_converter.scalar_registry,
                                 config=strawberry_schema.config)
        first = args.get("first", 20)
        check_first(first)
        q = await entry_query(args.get("filter"), EntryOrder.NEWEST, ("municipality", ident))
        return await part.connection.run(ex.context_value, first, args.get("after"), q)


def compile_municipality(ex: Any, details: Any, dialect: str) -> SingleMunicipality:
    """The compiled selection of a `municipality` field; raises Unknown for what it cannot compile."""
    plain(details, arguments=True)
    compiler = Compiler(ex, dialect)
    out = SingleMunicipality(dialect, "NULL")

    def nested(name: str, sub: Any) -> str:
        if name == "kreis":
            plain(sub)
            body = compiler.fields("Kreis", sub, KREIS, "p")
            return sql.as_json(dialect, f"CASE WHEN coalesce(p.kreis_key, '') <> '' AND p.level = 'gemeinde' "
                                        f"THEN {body} END")
        if name == "entries" and len(sub) == 1:
            plain(sub, arguments=True)
            own = Compiler(ex, dialect)
            connection_type = named(ex.schema.get_type("Municipality").fields["entries"].type)
            shape = compile_shape(own, connection_type, sub, lambda s: own.entry(s, "p"))
            key = sub[0].node.alias.value if sub[0].node.alias else name
            out.entries.append(PublisherEntries(key, sub[0].node, Connection(dialect, shape, LONG_TEXTS - own.texts)))
            return "NULL"  # filled in by `run`
        raise Unknown(f"Municipality.{name}")

    out.body = compiler.fields("Municipality", details, MUNICIPALITY, "p", nested)
    return out
