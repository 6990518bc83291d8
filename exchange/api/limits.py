"""Protection against expensive queries: depth, aliases and page cost.

Pure functions over the parsed document (and the variables, for page
sizes). A query whose nested pages could return more objects than
`max_cost` is refused before it runs: `entries(first: 100) { ... publisher {
entries(first: 100) } }` asks for up to 10,100 entries.

Introspection (`__schema`, `__type`) reads the schema, never data, and its
standard query (GraphiQL's, graphql-js' `getIntrospectionQuery`) nests a type
reference nine `ofType` levels deep: below an introspection field the depth
bound is `max_introspection_depth` instead, generous but still finite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

PAGED_FIELDS = {"entries": 20, "municipalities": 20, "changes": 100, "peerMatches": 10, "publisherMatches": 10}
INTROSPECTION_FIELDS = {"__schema", "__type"}


# a selection set, its depth, the page multiplier, fragments on the path, below introspection
_Frame = tuple[SelectionSetNode, int, int, frozenset[str], bool]


class QueryTooComplex(Exception):
    """The query exceeds a limit; the message names which."""


def _first(field: FieldNode, variables: Mapping[str, Any], default: int) -> int:
    for arg in field.arguments or ():
        if arg.name.value != "first":
            continue
        value = arg.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            raw = variables.get(value.name.value, default)
            return raw if isinstance(raw, int) else default
    return default


def check_limits(
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    *,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_cost: int = 5_000,
    max_introspection_depth: int = 30,
) -> None:
    """Raise QueryTooComplex when the chosen operation is too deep, aliased or costly."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    variables = variables or {}
    aliases = 0
    for op in chosen[:1]:
        stack: list[_Frame] = [(op.selection_set, 1, 1, frozenset(), False)]
        cost = 0
        while stack:
            selection_set, depth, multiplier, seen, schema = stack.pop()
            if schema and depth > max_introspection_depth:
                raise QueryTooComplex(f"the introspection query is nested deeper than {max_introspection_depth} "
                                      "levels")
            if not schema and depth > max_depth:
                raise QueryTooComplex(f"the query is nested deeper than {max_depth} levels")
            for sel in selection_set.selections:
                if isinstance(sel, FieldNode):
                    if sel.alias is not None:
                        aliases += 1
                        if aliases > max_aliases:
                            raise QueryTooComplex(f"the query uses more than {max_aliases} aliases")
                    m = multiplier
                    name = sel.name.value
                    if name in PAGED_FIELDS:
                        m = multiplier * max(1, _first(sel, variables, PAGED_FIELDS[name]))
                        cost += m
                        if cost > max_cost:
                            raise QueryTooComplex(
                                f"the query could return up to {cost} objects; at most {max_cost} "
                                "are allowed (ask for smaller pages, or fewer nested lists)"
                            )
                    if sel.selection_set is not None:
                        stack.append((sel.selection_set, depth + 1, m, seen, schema or name in INTROSPECTION_FIELDS))
                elif isinstance(sel, InlineFragmentNode):
                    stack.append((sel.selection_set, depth, multiplier, seen, schema))
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    if name in seen or name not in fragments:
                        continue  # cycles and unknown fragments are the validator's business
                    stack.append((fragments[name].selection_set, depth, multiplier, seen | {name}, schema))
