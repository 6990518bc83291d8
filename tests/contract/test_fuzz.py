"""Fuzzing the endpoint: generated queries, variables and bodies never get a 5xx.

Queries are generated from the schema itself: a random walk over its types
picks fields, aliases, inline fragments and argument literals, mostly of the
right type and sometimes of a wrong one; variables are arbitrary JSON sent
with the Catalogue operation; bodies are arbitrary bytes. Every answer must
be below 500, and every error must carry `extensions.code`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.api.schema import schema
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)
from tests.contract.conftest import DemoNode, operation
from tests.contract.test_bad_input import check_answer

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCHEMA = schema._schema
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
JUNK = st.one_of(
    st.integers(-(2**40), 2**40).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=30).map(json.dumps),
    st.sampled_from(["null", "true", "[]", "{}", "NEWEST", '"00000000-0000-4000-8000-000000000000"']),
)


def _unwrap(t: Any) -> Any:
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        t = t.of_type
    return t


@st.composite
def literal(draw: st.DrawFn, t: Any, depth: int = 0) -> str:
    """A literal for input type t: usually valid, sometimes junk."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JUNK)
    if isinstance(t, GraphQLNonNull):
        return draw(literal(t.of_type, depth))
    if draw(st.integers(0, 7)) == 0:
        return "null"
    if isinstance(t, GraphQLList):
        items = draw(st.lists(literal(t.of_type, depth + 1), max_size=3))
        return "[" + ", ".join(items) + "]"
    if isinstance(t, GraphQLEnumType):
        return draw(st.sampled_from(sorted(t.values)))
    if isinstance(t, GraphQLInputObjectType):
        if depth > 2:
            return "{}"
        names = draw(st.lists(st.sampled_from(sorted(t.fields)), max_size=4, unique=True))
        return "{" + ", ".join(f"{n}: {draw(literal(t.fields[n].type, depth + 1))}" for n in names) + "}"
    name = t.name if isinstance(t, GraphQLScalarType) else ""
    if name == "Int":
        return str(draw(st.one_of(st.integers(-5, 120), st.integers(-(2**31), 2**31 - 1))))
    if name == "Float":
        return repr(draw(st.floats(-1e6, 1e6, allow_nan=False)))
    if name == "Boolean":
        return draw(st.sampled_from(["true", "false"]))
    if name == "_Any":
        typename = draw(st.sampled_from(["Municipality", "Organisation", "Guide", "ProjectDescription", "LessonLearned", "Nope"]))
        key = draw(st.sampled_from(["officialKey", "slug", "id", "other"]))
        return f'{{__typename: "{typename}", {key}: {json.dumps(draw(st.text(max_size=20)))}}}'
    return json.dumps(draw(st.one_of(
        st.text(max_size=40), st.uuids().map(str), st.sampled_from(["160750134134", "09", "Bayern", "de", "en", ""])
    )))


@st.composite
def selection(draw: st.DrawFn, t: Any, depth: int) -> str:
    t = _unwrap(t)
    if isinstance(t, (GraphQLUnionType, GraphQLInterfaceType)):
        parts = ["__typename"]
        if isinstance(t, GraphQLInterfaceType) and depth < 4:
            parts.append(draw(fields_of(t, depth)))
        for possible in draw(st.lists(st.sampled_from(list(SCHEMA.get_possible_types(t))), max_size=2, unique_by=lambda x: x.name)):
            parts.append(f"... on {possible.name} {{ {draw(fields_of(possible, depth))} }}")
        return " ".join(parts)
    return draw(fields_of(t, depth))


@st.composite
def fields_of(draw: st.DrawFn, t: GraphQLObjectType | GraphQLInterfaceType, depth: int) -> str:
    names = [n for n in t.fields if depth < 4 or not isinstance(_unwrap(t.fields[n].type), (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType))]
    if not names:
        return "__typename"
    chosen = draw(st.lists(st.sampled_from(sorted(names)), min_size=1, max_size=4))
    out = []
    for i, name in enumerate(chosen):
        field = t.fields[name]
        args = [a for a in field.args if isinstance(field.args[a].type, GraphQLNonNull) or draw(st.booleans())]
        text = (f"a{i}: " if draw(st.integers(0, 4)) == 0 else "") + name
        if args:
            text += "(" + ", ".join(f"{a}: {draw(literal(field.args[a].type))}" for a in args) + ")"
        inner = _unwrap(field.type)
        if isinstance(inner, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)):
            text += " { " + draw(selection(inner, depth + 1)) + " }"
        out.append(text)
    return " ".join(out)


@st.composite
def documents(draw: st.DrawFn) -> str:
    root = SCHEMA.mutation_type if draw(st.integers(0, 5)) == 0 else SCHEMA.query_type
    assert root is not None
    keyword = "mutation" if root is SCHEMA.mutation_type else "query"
    return f"{keyword} Fuzz {{ {draw(fields_of(root, 0))} }}"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(query=documents())
async def test_generated_queries_never_fail_the_server(demo_node: DemoNode, query: str) -> None:
    r = await demo_node.client.post("/graphql", json={"query": query})
    check_answer(r)


@FUZZ
@given(variables=st.dictionaries(st.sampled_from(["first", "after", "filter", "x"]), JSON_VALUES, max_size=4))
async def test_generated_variables_never_fail_the_server(demo_node: DemoNode, variables: dict[str, Any]) -> None:
    r = await demo_node.client.post("/graphql", json={"query": operation("Catalogue"), "variables": variables})
    check_answer(r)


@FUZZ
@given(filter=st.fixed_dictionaries({}, optional={
    "kinds": st.lists(st.sampled_from(["PROJECT", "GUIDE", "LESSON"])),
    "topics": st.lists(st.text(max_size=20), max_size=3),
    "text": st.text(max_size=80),
    "publisher": st.text(max_size=15),
    "state": st.text(max_size=15),
    "sizeClasses": st.lists(st.sampled_from(["Kleinstadt", "Landgemeinde", "x"]), max_size=2),
    "languages": st.lists(st.sampled_from(["de", "en", "fr"]), max_size=2),
}), first=st.integers(-2, 120))
async def test_generated_filters_never_fail_the_server(demo_node: DemoNode, filter: dict[str, Any], first: int) -> None:
    r = await demo_node.client.post("/graphql", json={"query": operation("Catalogue"),
                                                      "variables": {"first": first, "filter": filter}})
    check_answer(r)


@FUZZ
@given(body=st.binary(max_size=300), ctype=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""]))
async def test_generated_bodies_never_fail_the_server(demo_node: DemoNode, body: bytes, ctype: str) -> None:
    r = await demo_node.client.post("/graphql", content=body, headers={"content-type": ctype} if ctype else {})
    check_answer(r)


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["query", "variables", "operationName", "extensions"]), st.text(max_size=60), max_size=4))
async def test_generated_get_requests_never_fail_the_server(demo_node: DemoNode, params: dict[str, str]) -> None:
    r = await demo_node.client.get("/graphql", params=params, headers={"accept": "application/json"})
    check_answer(r)
