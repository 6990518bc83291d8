"""The `entries` connection as one SQL statement per request.

`compile_entries` turns the selection set of the field (totalCount, pageInfo,
edges with cursor and node) into a `Connection`: the JSON expression of a
node, which long texts the page must read, and where each part of the answer
goes. `Connection.run` answers one request with it: the page query of the
search (`search.query.build_query`: the same filters, visibility clause and
keyset condition as `find_entries`) wrapped in one statement that returns
every node's JSON with its sort key and the change feed's position; the
cursors (an HMAC with the node's secret) are made in Python, and totalCount
comes from the per-change count cache, counted only when that misses.

Relevance order (read level by level on PostgreSQL, ranked among the best
matches on SQLite) is left to the general execution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from exchange.api.compile import sql
from exchange.api.compile.connection import Shape, assemble, compile_shape
from exchange.api.compile.selection import Compiler
from exchange.db import current_connection, dialect_of
from exchange.search import LONG_TEXTS, count_entries
from exchange.search.query import _param_value, _sort, build_query


class Fallback(Exception):
    """This request is answered by the general execution (e.g. relevance order)."""


@dataclass
class Connection:
    dialect: str
    shape: Shape
    leave_out: frozenset[str] = LONG_TEXTS

    def statement(self, page: str, order: str, direction: str) -> str:
        """The whole answer in one value: {"seq": change feed, "rows": [[sort key, id, node], ...]}."""
        d = self.dialect
        node = self.shape.node
        key = sql.timestamp(d, "p.sort_key") if d == "postgres" and order in ("newest", "oldest") else "p.sort_key"
        seq = "(SELECT max(seq) FROM change)" if self.shape.wants_count else "NULL"
        if d == "sqlite":
            rows = f"(SELECT json_group_array(json_array(p.sort_key, p.id, {node})) FROM ({page}) p)"
            return f"SELECT json_object('seq', {seq}, 'rows', json({rows})) AS page"
        rows = (f"(SELECT coalesce(json_agg(json_build_array({key}, p.id, {node}) "
                f"ORDER BY p.sort_key {direction}, p.id {direction}), '[]'::json) FROM ({page}) p)")
        return f"SELECT json_build_object('seq', {seq}, 'rows', {rows})::text AS page"

    async def run(self, ctx: Any, first: int, after: str | None, q: Any) -> dict[str, Any]:
        """The answer of one request (`q`: the validated EntryQuery of its filter and order)."""
        order = q.effective_order
        if order == "relevance":
            raise Fallback(order)
        codec = ctx.services.extra["cursors"]
        what = "entries:" + order
        position = codec.decode(after, what) if after else None
        conn = current_connection()
        if dialect_of(conn) != self.dialect:
            raise Fallback("dialect")
        keyset = None
        if position is not None:
            keyset = (_param_value(position[0], order, self.dialect), int(position[1]))
        page, values = build_query(q, ctx.actor, dialect=self.dialect, first=first, after=keyset,
                                   leave_out=self.leave_out)
        _, direction = _sort(order, self.dialect)
        statement = sql.for_viewer(self.statement(page, order, direction), ctx.actor)
        _, rows = await conn.execute_query(statement, values)
        answer = orjson.loads(rows[0][0])
        found = answer["rows"]
        has_next = len(found) > first
        found = found[:first]
        cursors = [codec.encode(what, value, ident) for value, ident, _ in found]
        count = None
        if self.shape.wants_count:
            count = await count_entries(q, ctx.actor, ctx.services.counts, seq=int(answer["seq"] or 0))
        return assemble(self.shape, cursors, [row[2] for row in found], has_next, position is not None, count)


def compile_entries(ex: Any, connection_type: Any, details: Any, dialect: str) -> Connection:
    """The compiled selection of an `entries` field; raises Unknown for what it cannot compile."""
    compiler = Compiler(ex, dialect)
    shape = compile_shape(compiler, connection_type, details, lambda sub: compiler.entry(sub, "p"))
    return Connection(dialect, shape, LONG_TEXTS - compiler.texts)
