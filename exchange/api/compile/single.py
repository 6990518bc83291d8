"""`entry(id)` as one SQL statement: the entry's JSON if the viewer may see it, else nothing.

`queries.Query.entry` loads the row by its uid and answers null when it is
unknown or `access.may_see` refuses it; the statement asks for the row with
the search's visibility clause instead, so the answer is the same. A malformed
id raises in the general path, which then answers with its error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from exchange.api.compile import sql
from exchange.api.compile.selection import Compiler, plain
from exchange.catalogue import parse_uid
from exchange.db import current_connection, dialect_of


class Fallback(Exception):
    """This request is answered by the general execution."""


@dataclass
class SingleEntry:
    dialect: str
    node: str

    async def run(self, ctx: Any, args: dict[str, Any]) -> Any:
        uid = parse_uid(str(args["id"]))
        conn = current_connection()
        if dialect_of(conn) != self.dialect:
            raise Fallback("dialect")
        mark = "?" if self.dialect == "sqlite" else "$1"
        value: Any = str(uid) if self.dialect == "sqlite" else uid
        statement = sql.for_viewer(
            f"SELECT {self.node} AS node FROM entry e WHERE e.uid = {mark} AND {sql.viewer('e')}", ctx.actor)
        if self.dialect == "postgres":
            statement = f"SELECT node::text FROM ({statement}) x"
        _, rows = await conn.execute_query(statement, [value])
        return orjson.loads(rows[0][0]) if rows else None


def compile_entry(ex: Any, details: Any, dialect: str) -> SingleEntry:
    """The compiled selection of an `entry` field; raises Unknown for what it cannot compile."""
    plain(details, arguments=True)
    return SingleEntry(dialect, Compiler(ex, dialect).entry(details, "e"))
