"""The parts of a Relay connection every compiled connection shares: what was selected, and the answer.

A connection's selection (totalCount, pageInfo, edges with cursor and node,
__typename at each level) is compiled into a `Shape`: where each part goes
in the answer, and the JSON expression of a node (by the caller's
`node` function). `assemble` builds the answer from the rows a statement
returned, with the cursors made in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from exchange.api.compile.selection import Compiler, Unknown, named, plain

CONNECTION_FIELDS = ("totalCount", "edges", "pageInfo", "__typename")
EDGE_FIELDS = ("cursor", "node", "__typename")
PAGE_FIELDS = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename")


@dataclass
class Shape:
    connection_type: str
    edge_type: str
    parts: list[tuple[str, str]] = field(default_factory=list)  # (response key, field) of the connection
    edge: list[tuple[str, str]] = field(default_factory=list)
    page_info: list[tuple[str, str]] = field(default_factory=list)
    node: str = "NULL"

    @property
    def wants_count(self) -> bool:
        return any(f == "totalCount" for _, f in self.parts)


def compile_shape(compiler: Compiler, connection_type: Any, details: Any,
                  node: Callable[[Any], str]) -> Shape:
    """The selection of a connection field; raises Unknown for what it cannot compile."""
    edge_type = named(connection_type.fields["edges"].type)
    out = Shape(connection_type.name, edge_type.name)
    for key, sub in compiler.collect(connection_type.name, details).items():
        name = sub[0].node.name.value
        if name not in CONNECTION_FIELDS:
            raise Unknown(f"{connection_type.name}.{name}")
        plain(sub)
        if name in ("edges", "pageInfo") and any(n == name for _, n in out.parts):
            raise Unknown(f"{name} twice")
        out.parts.append((key, name))
        if name == "edges":
            for edge_key, edge_sub in compiler.collect(edge_type.name, sub).items():
                edge_name = edge_sub[0].node.name.value
                if edge_name not in EDGE_FIELDS:
                    raise Unknown(f"{edge_type.name}.{edge_name}")
                plain(edge_sub)
                out.edge.append((edge_key, edge_name))
                if edge_name == "node":
                    if out.node != "NULL":
                        raise Unknown("node twice")
                    out.node = node(edge_sub)
        elif name == "pageInfo":
            for page_key, page_sub in compiler.collect("PageInfo", sub).items():
                page_name = page_sub[0].node.name.value
                if page_name not in PAGE_FIELDS:
                    raise Unknown(f"PageInfo.{page_name}")
                plain(page_sub)
                out.page_info.append((page_key, page_name))
    return out


def assemble(shape: Shape, cursors: list[str], nodes: list[Any], has_next: bool, has_previous: bool,
             count: int | None) -> dict[str, Any]:
    """The connection's answer, keys in the order of the selection."""
    out: dict[str, Any] = {}
    for key, name in shape.parts:
        if name == "totalCount":
            out[key] = count
        elif name == "__typename":
            out[key] = shape.connection_type
        elif name == "edges":
            out[key] = [{k: cursor if n == "cursor" else node if n == "node" else shape.edge_type
                         for k, n in shape.edge} for cursor, node in zip(cursors, nodes, strict=True)]
        else:
            values = {"hasNextPage": has_next, "hasPreviousPage": has_previous, "__typename": "PageInfo",
                      "startCursor": cursors[0] if cursors else None,
                      "endCursor": cursors[-1] if cursors else None}
            out[key] = {k: values[n] for k, n in shape.page_info}
    return out
