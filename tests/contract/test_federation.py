"""Apollo Federation 2: the exported SDL composes, and a node answers as a subgraph.

Composition runs `@theguild/federation-composition` (MIT, npm) over
`graphql/schema.graphql` alone and beside a small integrator subgraph that
extends our entities by their keys, the way a Land portal would. Over HTTP,
`_service { sdl }` returns the SDL and `_entities` resolves municipalities
(officialKey), organisations (slug) and each entry type (id).
"""

from __future__ import annotations

import json

import pytest

from tests.contract.conftest import REPO, DemoNode, operation, run_node_script

pytestmark = pytest.mark.asyncio(loop_scope="module")

COMPOSE = """
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { composeServices, compositionHasErrors } from '@theguild/federation-composition';
const services = [{ name: 'exchange', typeDefs: parse(readFileSync(process.argv[2], 'utf8')), url: 'http://exchange.test/graphql' }];
if (process.argv[3]) services.push({ name: 'portal', typeDefs: parse(process.argv[3]), url: 'http://portal.test/graphql' });
const result = composeServices(services);
if (compositionHasErrors(result)) {
  console.log(JSON.stringify({ errors: result.errors.map((e) => e.message) }));
} else {
  console.log(JSON.stringify({ supergraph: result.supergraphSdl }));
}
"""

PORTAL = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Municipality @key(fields: "officialKey") { officialKey: String! broadbandCoverage: Float }
type Organisation @key(fields: "slug") { slug: String! memberCount: Int }
type ProjectDescription @key(fields: "id") { id: ID! portalRating: Int }
type Query { portalHealth: String }
"""

ENTITIES = """query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Municipality { officialKey name }
    ... on Organisation { slug name }
    ... on ProjectDescription { id title }
    ... on Guide { id title }
    ... on LessonLearned { id title }
  }
}"""


def _compose(*extra: str) -> dict:
    done = run_node_script(COMPOSE, str(REPO / "graphql" / "schema.graphql"), *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


async def test_schema_composes_as_a_subgraph() -> None:
    result = _compose()
    assert "errors" not in result, "\n".join(result["errors"])
    supergraph = result["supergraph"]
    assert "join__type(graph: EXCHANGE, key: \"officialKey\")" in supergraph
    assert "join__type(graph: EXCHANGE, key: \"id\")" in supergraph


async def test_schema_composes_with_an_integrator_subgraph() -> None:
    result = _compose(PORTAL)
    assert "errors" not in result, "\n".join(result["errors"])
    assert "broadbandCoverage" in result["supergraph"] and "portalRating" in result["supergraph"]


async def test_service_sdl_over_http(demo_node: DemoNode) -> None:
    body = await demo_node.gql("{ _service { sdl } }")
    sdl = body["data"]["_service"]["sdl"]
    assert '@key(fields: "officialKey"' in sdl and '@key(fields: "slug"' in sdl and '@key(fields: "id"' in sdl
    assert "type Municipality" in sdl


async def test_entities_over_http(demo_node: DemoNode) -> None:
    representations: list[dict] = [
        {"__typename": "Municipality", "officialKey": "160750134134"},
        {"__typename": "Organisation", "slug": "kompetenzzentrum-digitale-kommune-demo"},
    ]
    expected = ["Municipality", "Organisation"]
    for kind, typename in (("PROJECT", "ProjectDescription"), ("GUIDE", "Guide"), ("LESSON", "LessonLearned")):
        page = await demo_node.gql(operation("Catalogue"), {"first": 1, "filter": {"kinds": [kind]}})
        representations.append({"__typename": typename, "id": page["data"]["entries"]["edges"][0]["node"]["id"]})
        expected.append(typename)
    body = await demo_node.gql(ENTITIES, {"representations": representations})
    assert "errors" not in body, body
    found = body["data"]["_entities"]
    assert [e["__typename"] for e in found] == expected
    assert found[0]["officialKey"] == "160750134134" and found[0]["name"]
    assert found[1]["slug"] == "kompetenzzentrum-digitale-kommune-demo"
    for rep, entity in zip(representations[2:], found[2:]):
        assert entity["id"] == rep["id"] and entity["title"]


async def test_unknown_entities_are_null_not_errors(demo_node: DemoNode) -> None:
    body = await demo_node.gql(ENTITIES, {"representations": [
        {"__typename": "Municipality", "officialKey": "999999999999"},
        {"__typename": "Organisation", "slug": "nobody"},
        {"__typename": "Guide", "id": "00000000-0000-4000-8000-000000000000"},
    ]})
    assert body.get("data", {}).get("_entities") == [None, None, None], body


async def test_a_bad_representation_leaves_no_lookup_unawaited(demo_node: DemoNode) -> None:
    """A representation of an unknown type ends the whole `_entities` field; the lookups made
    for the representations before it must not be left behind as never-awaited coroutines."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body = await demo_node.gql(ENTITIES, {"representations": [
            {"__typename": "Organisation", "slug": "nobody"},
            {"__typename": "Guide", "id": "00000000-0000-4000-8000-000000000000"},
            {"__typename": "NoSuchType", "id": "1"},
        ]})
        gc.collect()
    assert body.get("errors"), body
