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

from dataclasses import dataclass, field
from typing import Any

import orjson

from exchange.api.compile import sql
from exchange.api.compile.selection import Compiler, Unknown, named, plain
from exchange.db import current_connection, dialect_of
from exchange.search import LONG_TEXTS, count_entries
from exchange.search.query import _param_value, _sort, build_query

CONNECTION_FIELDS = ("totalCount", "edges", "pageInfo", "__typename")
EDGE_FIELDS = ("cursor", "node", "__typename")
PAGE_FIELDS = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename")


class Fallback(Exception):
    """This request is answered by the general execution (e.g. relevance order)."""


@dataclass
class Connection:
    dialect: str
    parts: list[tuple[str, str]] = field(default_factory=list)  # (response key, field) of the connection
    edge: list[tuple[str, str]] = field(default_factory=list)
    page_info: list[tuple[str, str]] = field(default_factory=list)
    node: str = "NULL"
    leave_out: frozenset[str] = LONG_TEXTS

    @property
    def wants_count(self) -> bool:
        return any(f == "totalCount" for _, f in self.parts)

    def statement(self, page: str, order: str, direction: str) -> str:
        """The whole answer in one value: {"seq": change feed, "rows": [[sort key, id, node], ...]}."""
        d = self.dialect
        key = sql.timestamp(d, "p.sort_key") if d == "postgres" and order in ("newest", "oldest") else "p.sort_key"
        seq = "(SELECT max(seq) FROM change)" if self.wants_count else "NULL"
        if d == "sqlite":
            rows = f"(SELECT json_group_array(json_array(p.sort_key, p.id, {self.node})) FROM ({page}) p)"
            return f"SELECT json_object('seq', {seq}, 'rows', json({rows})) AS page"
        rows = (f"(SELECT coalesce(json_agg(json_build_array({key}, p.id, {self.node}) "
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
        out: dict[str, Any] = {}
        for key, name in self.parts:
            if name == "totalCount":
                out[key] = await count_entries(q, ctx.actor, ctx.services.counts, seq=int(answer["seq"] or 0))
            elif name == "__typename":
                out[key] = "EntryConnection"
            elif name == "edges":
                out[key] = [self._edge(cursor, row[2]) for cursor, row in zip(cursors, found, strict=True)]
            else:
                out[key] = self._page_info(cursors, has_next, position is not None)
        return out

    def _edge(self, cursor: str, node: Any) -> dict[str, Any]:
        return {key: cursor if name == "cursor" else node if name == "node" else "EntryEdge"
                for key, name in self.edge}

    def _page_info(self, cursors: list[str], has_next: bool, has_previous: bool) -> dict[str, Any]:
        values = {"hasNextPage": has_next, "hasPreviousPage": has_previous, "__typename": "PageInfo",
                  "startCursor": cursors[0] if cursors else None, "endCursor": cursors[-1] if cursors else None}
        return {key: values[name] for key, name in self.page_info}


def compile_entries(ex: Any, connection_type: Any, details: Any, dialect: str) -> Connection:
    """The compiled selection of an `entries` field; raises Unknown for what it cannot compile."""
    compiler = Compiler(ex, dialect)
    out = Connection(dialect)
    for key, sub in compiler.collect(connection_type.name, details).items():
        name = sub[0].node.name.value
        if name not in CONNECTION_FIELDS:
            raise Unknown(f"{connection_type.name}.{name}")
        plain(sub)
        if name in ("edges", "pageInfo") and any(n == name for _, n in out.parts):
            raise Unknown(f"{name} twice")
        out.parts.append((key, name))
        if name == "edges":
            edge_type = named(connection_type.fields["edges"].type)
            for edge_key, edge_sub in compiler.collect(edge_type.name, sub).items():
                edge_name = edge_sub[0].node.name.value
                if edge_name not in EDGE_FIELDS:
                    raise Unknown(f"{edge_type.name}.{edge_name}")
                plain(edge_sub)
                out.edge.append((edge_key, edge_name))
                if edge_name == "node":
                    if out.node != "NULL":
                        raise Unknown("node twice")
                    out.node = compiler.entry(edge_sub, "p")
        elif name == "pageInfo":
            for page_key, page_sub in compiler.collect("PageInfo", sub).items():
                page_name = page_sub[0].node.name.value
                if page_name not in PAGE_FIELDS:
                    raise Unknown(f"PageInfo.{page_name}")
                plain(page_sub)
                out.page_info.append((page_key, page_name))
    out.leave_out = LONG_TEXTS - compiler.texts
    return out
