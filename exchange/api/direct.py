"""Answering a query without graphql-core's executor when the compiler knows all of it.

When every root field of a query (after @include/@skip and fragments) is one
the compiler answers with one SQL statement each (`exchange.api.compile`),
there is nothing left for the executor to do but call those statements and
wrap their answers: `answer_directly` does just that. The variables are
coerced once (graphql-core's own coercion, as the executor would), the root
fields are collected as the executor collects them, each compiled statement
runs, and the response body is written in one `orjson.dumps`.

It answers only when everything went the compiled way: anything else (a
variable that does not coerce, a root field the compiler does not know, a
statement that falls back, an error) returns None, and the endpoint executes
the document as before, errors and all. The endpoint checks the limits (depth,
cost, body size) before, and bounds the time of both paths alike.
tests/contract/test_plans.py compares the bytes of both paths.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from graphql.execution.collect_fields import collect_fields

from exchange.api.compile import ANSWERS, Compiled, compiled_field, run_compiled
from exchange.api.execution import FastExecutor, is_awaitable
from graphql import DocumentNode, GraphQLSchema, OperationType

log = logging.getLogger("exchange.api.direct")


async def answer_directly(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                          variables: dict[str, Any] | None, context: Any) -> bytes | None:
    """The response body `{"data": ...}` of a query answered by compiled statements only, or None."""
    ex = FastExecutor.build(schema, document, context_value=context, raw_variable_values=variables,
                            operation_name=operation_name, is_awaitable=is_awaitable)
    if isinstance(ex, list) or ex.operation.operation != OperationType.QUERY:
        return None  # variables that do not coerce: the executor reports them
    root_type = schema.query_type
    if root_type is None:
        return None
    try:
        grouped, defers, _ = collect_fields(schema, ex.fragments, ex.variable_values, root_type,
                                            ex.operation, ex.hide_suggestions)
    except Exception:  # noqa: BLE001  (e.g. selections nested too deeply: the executor reports it)
        return None
    if defers or not grouped:
        return None
    plan: list[tuple[str, str, Compiled | None]] = []
    for key, details in grouped.items():
        name = details[0].node.name.value
        if name == "__typename":
            plan.append((key, name, None))
            continue
        compiled = compiled_field(ex, root_type, details)
        if compiled is None:
            return None
        plan.append((key, name, compiled))
    data: dict[str, Any] = {}
    for key, name, compiled in plan:
        if compiled is None:
            data[key] = root_type.name
            continue
        try:
            data[key] = await run_compiled(ex, name, compiled, grouped[key][0].node)
        except Exception as exc:  # noqa: BLE001  (the executor answers, errors and all)
            log.debug("%s answered by the executor: %r", name, exc)
            ANSWERS["direct fell back"] += 1
            return None
    ANSWERS["direct"] += 1
    return orjson.dumps({"data": data})
