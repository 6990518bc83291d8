"""Completing a list or object subtree of a query from a plan made once per request.

graphql-core completes every field of a result with the same general
machinery: a path, a resolve-info object, argument coercion, a dispatch on the
return type, a check for awaitables and error protection, for each of the
~950 fields of a Catalogue page. For the parts of a query that are plain data
(fields read by getattr and the sync resolvers `execution.prepare_schema`
calls directly) the answer of that machinery is known in advance except for
the values themselves. `compile_field` turns such a subtree into nested
closures once per request: sub-fields collected once, arguments coerced once,
leaf serializers and abstract-type resolution looked up once; running it is
then a few Python calls per field.

A plan only ever produces the answer graphql-core would produce when nothing
goes wrong. Anything unusual while running it (an exception, an awaitable, a
null in a non-null position, a value a serializer refuses, a failed type
check) raises `Bail`, and the executor completes that field again the normal
way, so errors, paths and null propagation are exactly graphql-core's. Plans
are used for queries only: a resolver may run twice after a bail, which is
harmless for reads and not acceptable for writes.

`PlanCache` keeps plans from one request to the next. The endpoint caches
parsed documents by their text, so the nodes of a query are the same objects
each time; a plan is keyed by them and by the values of the variables its
subtree refers to (a Catalogue page's `after` cursor does not make a new plan
for its edges). A running plan reads the current request's executor from its
planner, set just before it runs: a plan runs synchronously, so no other
request can come in between.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from types import CoroutineType
from typing import Any

from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLUnionType,
    Node,
    VariableNode,
)

Step = Callable[[Any, Any], Any]  # (source, parent path) -> completed value
Complete = Callable[[Any, Any, Callable[[Any], GraphQLResolveInfo[Any]]], Any]  # (value, path, make_info)


class Bail(Exception):
    """Running a plan met something only graphql-core's general path handles."""


class Unplannable(Exception):
    """This subtree cannot be planned (async resolver, @defer, meta field, ...)."""


def plannable_resolver(resolve: Any) -> bool:
    """True for the resolvers `execution.prepare_schema` installs: getattr or a direct sync call."""
    return hasattr(resolve, "_exchange_attribute") or getattr(resolve, "_exchange_fast", False)


def _decided_by_class(function: Any, kind: str) -> bool:
    """True for strawberry's own is_type_of / resolve_type, whose answer follows from the
    value's class alone when the value is not `strawberry.cast` (checked per value)."""
    return getattr(function, "__qualname__", "").startswith(f"GraphQLCoreConverter.{kind}.")


def _dispose(value: Any) -> None:
    if isinstance(value, CoroutineType):
        value.close()  # never awaited: close it rather than leak a warning


class Planner:
    """Makes plans; `executor` is the graphql-core executor of the request being answered."""

    def __init__(self, is_awaitable: Callable[[Any], bool], executor: Any = None) -> None:
        self.executor = executor
        self.is_awaitable = is_awaitable

    def compile_field(self, parent_type: GraphQLObjectType, response_name: str, details: Any) -> Step:
        """The step that resolves and completes one field of `parent_type`; raises Unplannable."""
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            type_name = parent_type.name
            return lambda source, path: type_name
        if name.startswith("__"):
            raise Unplannable(name)
        ex = self.executor
        field_def: GraphQLField | None = ex.schema.get_field(parent_type, name)
        if field_def is None:
            raise Unplannable(name)
        resolve = field_def.resolve or ex.field_resolver
        if not plannable_resolver(resolve):
            raise Unplannable(name)
        args: dict[str, Any] = {}
        if field_def.args or node.arguments:
            try:
                args = get_argument_values(field_def, node, ex.variable_values,
                                           details[0].fragment_variable_values, ex.hide_suggestions)
            except Exception:  # noqa: BLE001  (graphql-core reports it on the normal path)
                raise Unplannable(name) from None
        nodes = [d.node for d in details]
        return_type = field_def.type
        complete, needs_path = self.compile_type(return_type, details)
        is_awaitable = self.is_awaitable
        planner = self

        def make_info(path: Any) -> GraphQLResolveInfo[Any]:
            return planner.executor.build_resolve_info(  # type: ignore[no-any-return]
                field_def, nodes, parent_type, path)

        attribute = getattr(resolve, "_exchange_attribute", None)
        if attribute is not None and not args:
            if not needs_path:
                def read_leaf(source: Any, path: Any) -> Any:
                    value = getattr(source, attribute)
                    if isinstance(value, Exception) or is_awaitable(value):
                        _dispose(value)
                        raise Bail(name)
                    return complete(value, None, make_info)
                return read_leaf

            def read(source: Any, path: Any) -> Any:
                value = getattr(source, attribute)
                if isinstance(value, Exception) or is_awaitable(value):
                    _dispose(value)
                    raise Bail(name)
                return complete(value, Path(path, response_name, parent_type.name), make_info)
            return read

        wants_info = getattr(resolve, "_exchange_info", True)
        # a resolver that answers from an attribute when it is set (see types.prefetched)
        ready = getattr(resolve, "_exchange_prefetched", None) if not args else None

        def call(source: Any, path: Any) -> Any:
            here = Path(path, response_name, parent_type.name)
            value = getattr(source, ready) if ready is not None else None
            if value is None:
                value = resolve(source, make_info(here) if wants_info else None, **args)
            if isinstance(value, Exception) or is_awaitable(value):
                _dispose(value)
                raise Bail(name)
            return complete(value, here, make_info)
        return call

    def compile_type(self, return_type: GraphQLOutputType, details: Any) -> tuple[Complete, bool]:
        """(complete, needs_path) for values of `return_type`."""
        if isinstance(return_type, GraphQLNonNull):
            inner, needs_path = self.compile_type(return_type.of_type, details)

            def non_null(value: Any, path: Any, make_info: Any) -> Any:
                if value is None:
                    raise Bail("null in a non-null position")
                out = inner(value, path, make_info)
                if out is None:
                    raise Bail("null in a non-null position")
                return out
            return non_null, needs_path
        if isinstance(return_type, (GraphQLScalarType, GraphQLEnumType)):
            serialize = return_type.serialize

            def leaf(value: Any, path: Any, make_info: Any) -> Any:
                if value is None:
                    return None
                out = serialize(value)
                if out is None or out is Undefined:
                    raise Bail("not serializable")
                return out
            return leaf, False
        if isinstance(return_type, GraphQLList):
            item, _ = self.compile_type(return_type.of_type, details)
            is_awaitable = self.is_awaitable

            def many(value: Any, path: Any, make_info: Any) -> Any:
                if value is None:
                    return None
                if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
                    raise Bail("not a list")
                out = []
                for index, x in enumerate(value):
                    if isinstance(x, Exception) or is_awaitable(x):
                        _dispose(x)
                        raise Bail("list item")
                    out.append(item(x, Path(path, index, None), make_info))
                return out
            return many, True
        if isinstance(return_type, GraphQLObjectType):
            return self.compile_object(return_type, details), True
        if isinstance(return_type, (GraphQLInterfaceType, GraphQLUnionType)):
            return self.compile_abstract(return_type, details), True
        raise Unplannable(str(return_type))

    def compile_object(self, object_type: GraphQLObjectType, details: Any) -> Complete:
        grouped, new_defer_usages, _ = self.executor.collect_subfields(object_type, details)
        if new_defer_usages:
            raise Unplannable("@defer")
        steps = [(key, self.compile_field(object_type, key, sub)) for key, sub in grouped.items()]
        is_type_of = object_type.is_type_of
        by_class = _decided_by_class(is_type_of, "from_object")
        passed: set[type] = set()  # classes strawberry's is_type_of accepted
        is_awaitable = self.is_awaitable

        def complete_object(value: Any, path: Any, make_info: Any) -> Any:
            if value is None:
                return None
            if is_type_of is not None and not (
                    type(value) in passed and getattr(value, TYPE_CAST_ATTRIBUTE, None) is None):
                ok = is_type_of(value, make_info(path))
                if is_awaitable(ok):
                    _dispose(ok)
                    raise Bail("async is_type_of")
                if not ok:
                    raise Bail("is_type_of")
                if by_class and getattr(value, TYPE_CAST_ATTRIBUTE, None) is None:
                    passed.add(type(value))
            return {key: step(value, path) for key, step in steps}
        return complete_object

    def compile_abstract(self, abstract_type: GraphQLAbstractType, details: Any) -> Complete:
        resolve_type = abstract_type.resolve_type or self.executor.type_resolver
        by_runtime: dict[str, Complete] = {}
        by_class = _decided_by_class(resolve_type, "from_interface")
        known: dict[type, Complete] = {}  # classes strawberry's resolve_type answered
        is_awaitable = self.is_awaitable

        def complete_abstract(value: Any, path: Any, make_info: Any) -> Any:
            if value is None:
                return None
            uncast = getattr(value, TYPE_CAST_ATTRIBUTE, None) is None
            if uncast:
                complete = known.get(type(value))
                if complete is not None:
                    return complete(value, path, make_info)
            type_name = resolve_type(value, make_info(path), abstract_type)
            if not isinstance(type_name, str):
                if is_awaitable(type_name):
                    _dispose(type_name)
                raise Bail("resolve_type")
            complete = by_runtime.get(type_name)
            if complete is None:
                schema = self.executor.schema
                runtime = schema.get_type(type_name)
                if not isinstance(runtime, GraphQLObjectType) or not schema.is_sub_type(abstract_type, runtime):
                    raise Bail("runtime type")
                try:
                    complete = by_runtime[type_name] = self.compile_object(runtime, details)
                except Unplannable:
                    raise Bail("runtime type not plannable") from None
            definition = getattr(value, "__strawberry_definition__", None)
            if by_class and uncast and definition is not None and not definition.is_graphql_generic \
                    and definition.name == type_name:
                known[type(value)] = complete
            return complete(value, path, make_info)
        return complete_abstract


def _variables_of(nodes: Iterable[Node], fragments: Any) -> frozenset[str]:
    """Names of the variables used anywhere below `nodes` (fragments followed)."""
    names: set[str] = set()
    seen: set[str] = set()
    stack: list[Any] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, VariableNode):
            names.add(node.name.value)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            seen.add(node.name.value)
            fragment = fragments.get(node.name.value) if fragments else None
            if fragment is not None:
                stack.append(getattr(fragment, "definition", fragment))
        if isinstance(node, Node):
            for key in node.keys:
                value = getattr(node, key, None)
                if isinstance(value, Node):
                    stack.append(value)
                elif isinstance(value, (list, tuple)):
                    stack.extend(v for v in value if isinstance(v, Node))
    return frozenset(names)


class PlanCache:
    """Plans kept across requests (see the module's docstring), the most recent `size` of them."""

    def __init__(self, is_awaitable: Callable[[Any], bool], size: int = 512) -> None:
        self.planner = Planner(is_awaitable)
        self.size = size
        self._plans: OrderedDict[tuple[Any, ...], tuple[tuple[FieldNode, ...], Step | None]] = OrderedDict()
        self._names: OrderedDict[tuple[int, ...], tuple[tuple[FieldNode, ...], frozenset[str]]] = OrderedDict()

    def step(self, executor: Any, parent_type: GraphQLObjectType, details: Any, response_name: str) -> Step | None:
        """The plan of this field for this request (made now if new), None when it has none."""
        self.planner.executor = executor
        if any(d.fragment_variable_values is not None for d in details):
            return self._compile(parent_type, details, response_name)  # fragment arguments: not kept
        nodes = tuple(d.node for d in details)
        ids = tuple(map(id, nodes))
        known = self._names.get(ids)
        if known is None or any(a is not b for a, b in zip(known[0], nodes, strict=True)):
            known = self._remember(self._names, ids, (nodes, _variables_of(nodes, executor.fragments)))
        coerced = executor.variable_values.coerced if executor.variable_values is not None else {}
        key = (parent_type.name, response_name, ids, repr([(n, coerced.get(n, Undefined)) for n in sorted(known[1])]))
        plan = self._plans.get(key)
        if plan is None or any(a is not b for a, b in zip(plan[0], nodes, strict=True)):
            plan = self._remember(self._plans, key, (nodes, self._compile(parent_type, details, response_name)))
        else:
            self._plans.move_to_end(key)
        return plan[1]

    def _compile(self, parent_type: GraphQLObjectType, details: Any, response_name: str) -> Step | None:
        try:
            return self.planner.compile_field(parent_type, response_name, details)
        except Unplannable:
            return None

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> Any:
        # the nodes are kept with the entry: their ids cannot be reused while it lives
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self.size:
            cache.popitem(last=False)
        return value
