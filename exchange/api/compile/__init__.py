"""Known selections compiled into one SQL statement per root field.

A Catalogue page answered field by field costs some 950 completed fields of
Python; the database can build the same JSON in one statement, as
PostGraphile does. `compiled_root` is asked by the executor
(`execution.FastExecutor`) for each root field of a query: for the fields it
knows (`entries`) and a selection it can compile entirely, it returns the
answer of a compiled statement; for anything else None, and the field is
executed as before. The compiled path answers exactly what the general one
answers (tests/contract/test_plans.py compares both, byte for byte, for
every kind of viewer on both databases): whatever goes wrong while running
it (a cursor that does not fit, an unknown publisher, relevance order) makes
the field run the general way, errors and all. Root fields compiled:
`entries` (`entries.py`), `entry(id)` (`single.py`), `municipalities`
(`register.py`) and `municipality(officialKey)` with its entries (`publisher.py`).

Limits (depth, cost, time) are checked by the endpoint before execution, so
before anything is compiled. Compiled selections are kept per (parsed
document's nodes, database dialect, values of the variables the selection
set uses); the field's own arguments (filter, first, after) are read per
request and go into the page query as parameters.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from graphql.execution.values import get_argument_values
from graphql.pyutils import Undefined
from strawberry.types.arguments import convert_arguments

from exchange.api.compile.entries import Connection, compile_entries
from exchange.api.compile.publisher import SingleMunicipality, compile_municipality
from exchange.api.compile.register import Register, compile_municipalities
from exchange.api.compile.selection import Unknown, named
from exchange.api.compile.single import SingleEntry, compile_entry
from exchange.api.entryquery import check_first, entry_query
from exchange.api.enums import EntryOrder
from exchange.api.plans import _variables_of
from exchange.db import current_connection, dialect_of

log = logging.getLogger("exchange.api.compile")
CACHE_SIZE = 256
# How root fields were answered since start: "compiled" (and "compiled <field>"), "general"
# after a compiled attempt, "not compiled" when the selection has something the compiler does not know
ANSWERS: Counter[str] = Counter()
Compiled = Connection | SingleEntry | Register | SingleMunicipality
ROOTS = ("entries", "entry", "municipalities", "municipality")
_compiled: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Compiled | None]] = OrderedDict()
_variables: OrderedDict[tuple[int, ...], tuple[tuple[Any, ...], frozenset[str]]] = OrderedDict()
_converted: OrderedDict[tuple[int, str], tuple[Any, dict[str, Any]]] = OrderedDict()


class _Root(NamedTuple):
    name: str
    type: Any


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> Any:
    cache[key] = value  # the nodes are kept with the value: their ids are not reused while it lives
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return value


def compiled_selection(ex: Any, root: Any, details: Any, dialect: str) -> Compiled | None:
    """The compiled selection of this field (compiled now if new), None when it cannot be compiled."""
    nodes = tuple(d.node for d in details)
    ids = tuple(map(id, nodes))
    known = _variables.get(ids)
    if known is None or any(a is not b for a, b in zip(known[0], nodes, strict=True)):
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        known = _remember(_variables, ids, (nodes, _variables_of(sets, ex.fragments)))
    coerced = ex.variable_values.coerced if ex.variable_values is not None else {}
    key = (dialect, ids, repr([(n, coerced.get(n, Undefined)) for n in sorted(known[1])]))
    hit = _compiled.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], nodes, strict=True)):
        _compiled.move_to_end(key)
        return hit[1]
    try:
        name = root.name
        compiled: Compiled | None
        if name == "entries":
            compiled = compile_entries(ex, named(root.type), details, dialect)
        elif name == "municipalities":
            compiled = compile_municipalities(ex, named(root.type), details, dialect)
        elif name == "municipality":
            compiled = compile_municipality(ex, details, dialect)
        else:
            compiled = compile_entry(ex, details, dialect)
    except Unknown as exc:
        log.debug("%s answered field by field: %s", root.name, exc)
        compiled = None
    _remember(_compiled, key, (nodes, compiled))
    return compiled


def _arguments(ex: Any, field_def: Any, node: Any) -> dict[str, Any]:
    """The field's arguments as its resolver gets them (strawberry's inputs), kept per (node, variables):
    the conversion costs more than the statement's Python side. They are only read, never changed."""
    coerced = ex.variable_values.coerced if ex.variable_values is not None else {}
    key = (id(node), repr(coerced))
    hit = _converted.get(key)
    if hit is not None and hit[0] is node:
        _converted.move_to_end(key)
        return hit[1]
    definition = field_def.extensions["strawberry-definition"]
    strawberry_schema = ex.schema._strawberry_schema
    raw = get_argument_values(field_def, node, ex.variable_values, None, ex.hide_suggestions)
    args = convert_arguments(raw, definition.arguments,
                             scalar_registry=strawberry_schema.schema_converter.scalar_registry,
                             config=strawberry_schema.config)
    _remember(_converted, key, (node, args))
    return args


async def run_compiled(ex: Any, name: str, compiled: Compiled, node: Any) -> Any:
    """The answer of the root field `name` (its `node`) by its compiled statement, for the
    request of the executor `ex`; raises whatever makes the general execution answer instead."""
    args = _arguments(ex, ex.schema.query_type.fields[name], node)
    if isinstance(compiled, SingleEntry):
        out = await compiled.run(ex.context_value, args)
    elif isinstance(compiled, SingleMunicipality):
        out = await compiled.run(ex, args)
    elif isinstance(compiled, Register):
        out = await compiled.run(ex.context_value, args.get("first", 20), args.get("after"), args.get("filter"))
    else:
        first = args.get("first", 20)
        check_first(first)
        q = await entry_query(args.get("filter"), args.get("order_by", EntryOrder.NEWEST), None)
        out = await compiled.run(ex.context_value, first, args.get("after"), q)
    ANSWERS["compiled"] += 1
    ANSWERS[f"compiled {name}"] += 1
    return out


def compiled_field(ex: Any, parent_type: Any, details: Any) -> Compiled | None:
    """The compiled selection of this root field for this request, None when it is not compiled."""
    node = details[0].node
    name = node.name.value
    if name not in ROOTS or parent_type is not ex.schema.query_type:
        return None
    if any(d.fragment_variable_values is not None or d.defer_usage is not None for d in details):
        return None
    field_def = parent_type.fields[name]
    if (field_def.extensions or {}).get("strawberry-definition") is None \
            or getattr(ex.schema, "_strawberry_schema", None) is None:
        return None
    try:
        dialect = dialect_of(current_connection())
    except Exception:  # noqa: BLE001  (no database bound: the general path reports it)
        return None
    return compiled_selection(ex, _Root(name, field_def.type), details, dialect)


def compiled_root(ex: Any, parent_type: Any, details: Any, general: Callable[[], Any],
                  is_awaitable: Callable[[Any], bool]) -> Any:
    """An awaitable answer of this root field from a compiled statement, or None."""
    compiled = compiled_field(ex, parent_type, details)
    if compiled is None:
        if details[0].node.name.value in ROOTS:
            ANSWERS["not compiled"] += 1
        return None
    node = details[0].node
    name = node.name.value

    async def answer() -> Any:
        try:
            return await run_compiled(ex, name, compiled, node)
        except Exception as exc:  # noqa: BLE001  (answered the general way, errors and all)
            log.debug("%s answered field by field: %r", name, exc)
        ANSWERS["general"] += 1
        out = general()
        return await out if is_awaitable(out) else out

    return answer()
