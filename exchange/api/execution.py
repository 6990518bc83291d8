"""Executing a page of the API fast: graphql-core with the strawberry wrappers taken out.

A Catalogue page of 50 entries has some 950 fields. Strawberry wraps each of
them in a few Python calls (Info object, argument conversion, extension chain)
that end in a plain getattr or a plain method call, and graphql-core builds a
resolve-info object, checks for an awaitable and dispatches on the type for
each. This module removes that per-field work without changing what a field
returns:

- `prepare_schema` gives plain fields a one-line getattr resolver and plain
  sync methods with scalar arguments a direct call (same function, same
  arguments);
- `FastExecutor` answers leaf fields read by getattr (strings, numbers,
  enums, timestamps) with one getattr and the type's own `serialize`, and
  `__typename` with the type's name; anything else, and any null or error,
  takes graphql-core's normal path, so error handling is unchanged;
- `is_awaitable` answers graphql-core's awaitable check once per type;
- list and object subtrees of queries that are plain data are completed
  from plans (`exchange.api.plans`), graphql-core answering again whenever
  anything is unusual;
- root fields whose selection the compiler knows are answered by one SQL
  statement each (`exchange.api.compile`), and executed as above otherwise.

Measured on a page of 50 entries, this and the per-page prefetch in
`types.prefetch_page` halve the CPU time of a Catalogue request
(bench/api_http.py prints the figures).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from types import CoroutineType
from typing import Any, TypeGuard

from graphql.execution.incremental.incremental_executor import IncrementalExecutor
from graphql.pyutils import Undefined
from strawberry.types.info import Info as StrawberryInfo

from exchange.api.compile import compiled_root
from exchange.api.plans import PlanCache, plannable_resolver
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationType,
)

_AWAITABLE_TYPES: dict[type, bool] = {}
_SCALARS = (str, int, float, bool)
# (object type name, field name) -> (attribute, serialize) for leaf fields read by getattr
_LEAVES: dict[tuple[str, str], tuple[str, Callable[[Any], Any]]] = {}
# id(schema) -> (schema, its plans across requests); the schema is kept so that its id stays its own
_PLAN_CACHES: dict[int, tuple[GraphQLSchema, PlanCache]] = {}


def _named(kind: Any) -> Any:
    while isinstance(kind, (GraphQLNonNull, GraphQLList)):
        kind = kind.of_type
    return kind


def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """graphql-core's awaitable check, answered once per type (it runs for every field)."""
    kind = type(value)
    known = _AWAITABLE_TYPES.get(kind)
    if known is None:
        known = _AWAITABLE_TYPES[kind] = isinstance(value, CoroutineType) or hasattr(kind, "__await__")
    return known


def _attribute_resolver(name: str) -> Callable[..., Any]:
    def resolve(source: Any, info: Any, **_: Any) -> Any:
        return getattr(source, name)

    resolve._exchange_attribute = name  # type: ignore[attr-defined]
    return resolve


def _method_resolver(definition: Any) -> Callable[..., Any] | None:
    """A direct call of a plain sync resolver with scalar arguments, or None when it needs strawberry."""
    resolver = definition.base_resolver
    if resolver is None or resolver.is_async or definition.extensions or resolver.parent_parameter \
            or resolver.root_parameter:
        return None
    for argument in definition.arguments:
        kind = getattr(argument.type, "of_type", argument.type)
        if kind not in _SCALARS or "_" in argument.python_name:
            return None
    function = resolver.wrapped_func
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    with_self = resolver.self_parameter is not None

    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        if info_name is not None:
            kwargs[info_name] = StrawberryInfo(_raw_info=info, _field=definition)
        return function(source, **kwargs) if with_self else function(**kwargs)

    resolve._exchange_fast = True  # type: ignore[attr-defined]
    resolve._exchange_info = info_name is not None  # type: ignore[attr-defined]
    resolve._exchange_prefetched = getattr(function, "_exchange_prefetched", None)  # type: ignore[attr-defined]
    return resolve


def prepare_schema(schema: GraphQLSchema) -> GraphQLSchema:
    """Swap strawberry's per-field wrappers for direct resolvers where nothing is lost. Idempotent."""
    for gql_type in schema.type_map.values():
        if not isinstance(gql_type, GraphQLObjectType) or gql_type.name.startswith("__"):
            continue
        for name, field in gql_type.fields.items():
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is None:
                continue
            if getattr(field.resolve, "_is_default", False):
                field.resolve = _attribute_resolver(definition.python_name)
            elif not getattr(field.resolve, "_exchange_fast", False) and \
                    not hasattr(field.resolve, "_exchange_attribute"):
                fast = _method_resolver(definition)
                if fast is not None:
                    field.resolve = fast
            attribute = getattr(field.resolve, "_exchange_attribute", None)
            leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if attribute is not None and isinstance(leaf, (GraphQLScalarType, GraphQLEnumType)) and not field.args:
                _LEAVES[(gql_type.name, name)] = (attribute, leaf.serialize)
    _PLAN_CACHES.setdefault(id(schema), (schema, PlanCache(is_awaitable)))
    return schema


class FastExecutor(IncrementalExecutor):
    """graphql-core's executor with a short path for leaf fields read by getattr, and plans
    (`plans.PlanCache`, one per prepared schema) for the list and object subtrees of queries
    that are plain data."""

    def _plan(self, parent_type: GraphQLObjectType, field_details_list: Any, response_name: str) -> Any:
        """The plan of this field, None when it has none (plans are made for queries only)."""
        plans = _PLAN_CACHES.get(id(self.schema))
        if plans is None or self.operation.operation != OperationType.QUERY or self.middleware_manager is not None:
            return None
        field = parent_type.fields.get(field_details_list[0].node.name.value)
        if field is None or isinstance(_named(field.type), (GraphQLScalarType, GraphQLEnumType)) \
                or not plannable_resolver(field.resolve):
            return None
        return plans[1].step(self, parent_type, field_details_list, response_name)

    def execute_field(
        self, parent_type: GraphQLObjectType, source: Any, field_details_list: Any, path: Any,
        position_context: Any,
    ) -> Any:
        if path.prev is None and self.operation.operation == OperationType.QUERY and self.middleware_manager is None:
            compiled = compiled_root(
                self, parent_type, field_details_list, is_awaitable=is_awaitable,
                general=lambda: super(FastExecutor, self).execute_field(
                    parent_type, source, field_details_list, path, position_context))
            if compiled is not None:
                return compiled
        step = self._plan(parent_type, field_details_list, path.key)
        if step is not None:
            # Bail or a resolver's error: graphql-core's general path answers the field
            # again below, errors and all
            with contextlib.suppress(Exception):
                return step(source, path.prev)
        if len(field_details_list) == 1:
            node = field_details_list[0].node
            name = node.name.value
            if name == "__typename":
                return parent_type.name
            leaf = _LEAVES.get((parent_type.name, name))
            if leaf is not None and not node.arguments:
                value = getattr(source, leaf[0], None)
                if value is not None:
                    try:
                        out = leaf[1](value)
                    except Exception:  # noqa: BLE001  (the normal path reports it)
                        out = None
                    if out is not None and out is not Undefined:
                        return out
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
