"""The five acceptance operations against a live node with the demo content.

Each operation file of `graphql/operations/` is sent as it is, through the
HTTP endpoint of an in-process node, and must return real data; the error
cases must carry the codes the outside contract names.
"""

from __future__ import annotations

import pytest

from exchange.auth import create_token
from tests.contract.conftest import DemoNode, operation
from tests.helpers import NOW

pytestmark = pytest.mark.asyncio(loop_scope="module")

MUNICIPALITY = "160750134134"  # a demo publisher with entries
OTHER = "092785248151"  # another demo publisher
NEW_ENTRY = {
    "kind": "PROJECT", "title": "Digitale Bürgersprechstunde", "summary": "Sprechstunde per Video.",
    "bodyMarkdown": "# Ziel\n\nWeniger Wege ins Rathaus.", "topics": [], "language": "de",
    "visibility": "PUBLIC",
}
REVISE = """mutation Revise($input: ReviseEntryInput!) {
  reviseEntry(input: $input) { entry { id version title } } }"""


async def _token(node: DemoNode, key: str) -> str:
    with node.db.bound():
        token, _ = await create_token(key, ["publish"], now=NOW)
    return token


def _code(body: dict) -> str:
    assert body.get("errors"), body
    return str(body["errors"][0]["extensions"]["code"])


async def test_catalogue_returns_a_page_of_demo_entries(demo_node: DemoNode) -> None:
    body = await demo_node.gql(operation("Catalogue"), {"first": 10})
    assert "errors" not in body, body
    page = body["data"]["entries"]
    assert page["totalCount"] >= 40
    assert len(page["edges"]) == 10 and page["pageInfo"]["hasNextPage"]
    node = page["edges"][0]["node"]
    assert node["title"] and node["publisher"]["name"] and node["publisher"]["__typename"] in ("Municipality", "Organisation")
    assert any(e["node"]["topics"] for e in page["edges"])
    second = await demo_node.gql(operation("Catalogue"), {"first": 10, "after": page["pageInfo"]["endCursor"]})
    first_ids = {e["node"]["id"] for e in page["edges"]}
    assert not first_ids & {e["node"]["id"] for e in second["data"]["entries"]["edges"]}


async def test_catalogue_filters(demo_node: DemoNode) -> None:
    body = await demo_node.gql(operation("Catalogue"), {"first": 50, "filter": {"kinds": ["GUIDE"]}})
    kinds = {e["node"]["kind"] for e in body["data"]["entries"]["edges"]}
    assert kinds == {"GUIDE"}
    body = await demo_node.gql(operation("Catalogue"), {"first": 50, "filter": {"publisher": MUNICIPALITY}})
    edges = body["data"]["entries"]["edges"]
    assert edges and body["data"]["entries"]["totalCount"] == len(edges)
    body = await demo_node.gql(operation("Catalogue"), {"first": 5, "filter": {"text": "Digitalisierung"}})
    assert "errors" not in body, body


async def test_entry_returns_the_whole_entry(demo_node: DemoNode) -> None:
    page = await demo_node.gql(operation("Catalogue"), {"first": 50, "filter": {"kinds": ["LESSON"]}})
    lesson_id = page["data"]["entries"]["edges"][0]["node"]["id"]
    body = await demo_node.gql(operation("Entry"), {"id": lesson_id})
    assert "errors" not in body, body
    entry = body["data"]["entry"]
    assert entry["id"] == lesson_id and entry["kind"] == "LESSON"
    assert entry["bodyHtml"].strip() and entry["bodyMarkdown"].strip()
    assert entry["project"] is not None and entry["project"]["title"]


async def test_unknown_entry_is_null_and_bad_id_is_bad_user_input(demo_node: DemoNode) -> None:
    body = await demo_node.gql(operation("Entry"), {"id": "00000000-0000-4000-8000-000000000000"})
    assert body == {"data": {"entry": None}}
    body = await demo_node.gql(operation("Entry"), {"id": "not-a-uuid"})
    assert _code(body) == "BAD_USER_INPUT"


async def test_municipality_by_ars_and_ags(demo_node: DemoNode) -> None:
    body = await demo_node.gql(operation("Municipality"), {"officialKey": MUNICIPALITY})
    assert "errors" not in body, body
    m = body["data"]["municipality"]
    assert m["officialKey"] == MUNICIPALITY and m["name"] and m["population"] > 0 and m["state"] == "Thüringen"
    assert m["entries"]["totalCount"] >= 1 and m["entries"]["edges"]
    assert body["data"]["municipalities"]["totalCount"] > 10_000
    ags = MUNICIPALITY[:5] + MUNICIPALITY[-3:]
    body = await demo_node.gql(operation("Municipality"), {"officialKey": ags})
    assert body["data"]["municipality"]["officialKey"] == MUNICIPALITY
    body = await demo_node.gql(operation("Municipality"), {"officialKey": "999999999999"})
    assert body["data"]["municipality"] is None


async def test_peer_matches(demo_node: DemoNode) -> None:
    body = await demo_node.gql(operation("PeerMatches"), {"officialKey": MUNICIPALITY, "first": 5})
    assert "errors" not in body, body
    matches = body["data"]["peerMatches"]
    assert matches, "no peer matches for a demo municipality"
    for match in matches:
        assert match["municipality"]["officialKey"] != MUNICIPALITY
        assert match["reasons"] and all(r["explanation"] for r in match["reasons"])


async def test_publish_with_a_token_then_read_it(demo_node: DemoNode) -> None:
    token = await _token(demo_node, MUNICIPALITY)
    body = await demo_node.gql(operation("Publish"), {"input": NEW_ENTRY}, token=token)
    assert "errors" not in body, body
    entry = body["data"]["publishEntry"]["entry"]
    assert entry["version"] == 1 and entry["visibility"] == "PUBLIC" and "<h1" in entry["bodyHtml"]
    read = await demo_node.gql(operation("Entry"), {"id": entry["id"]})
    assert read["data"]["entry"]["title"] == NEW_ENTRY["title"]


async def test_publish_without_token_is_unauthenticated(demo_node: DemoNode) -> None:
    body = await demo_node.gql(operation("Publish"), {"input": NEW_ENTRY})
    assert _code(body) == "UNAUTHENTICATED"
    assert body["data"] is None


async def test_publish_with_a_bad_token_is_unauthenticated(demo_node: DemoNode) -> None:
    r = await demo_node.client.post("/graphql", json={"query": operation("Publish"), "variables": {"input": NEW_ENTRY}},
                                    headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert _code(r.json()) == "UNAUTHENTICATED"


async def test_publish_for_another_publisher_is_forbidden(demo_node: DemoNode) -> None:
    token = await _token(demo_node, MUNICIPALITY)
    body = await demo_node.gql(operation("Publish"), {"input": {**NEW_ENTRY, "publisher": OTHER}}, token=token)
    assert _code(body) == "FORBIDDEN"


async def test_revise_another_publishers_entry_is_forbidden(demo_node: DemoNode) -> None:
    mine = await demo_node.gql(operation("Publish"), {"input": NEW_ENTRY}, token=await _token(demo_node, MUNICIPALITY))
    entry = mine["data"]["publishEntry"]["entry"]
    body = await demo_node.gql(REVISE, {"input": {"id": entry["id"], "expectedVersion": 1, "title": "Fremd"}},
                               token=await _token(demo_node, OTHER))
    assert _code(body) == "FORBIDDEN"


async def test_revise_with_a_stale_version_is_a_conflict(demo_node: DemoNode) -> None:
    token = await _token(demo_node, MUNICIPALITY)
    entry = (await demo_node.gql(operation("Publish"), {"input": NEW_ENTRY}, token=token))["data"]["publishEntry"]["entry"]
    ok = await demo_node.gql(REVISE, {"input": {"id": entry["id"], "expectedVersion": 1, "title": "Neu"}}, token=token)
    assert ok["data"]["reviseEntry"]["entry"]["version"] == 2
    stale = await demo_node.gql(REVISE, {"input": {"id": entry["id"], "expectedVersion": 1, "title": "Alt"}}, token=token)
    assert _code(stale) == "CONFLICT"
    assert "version" in stale["errors"][0]["message"]


async def test_revise_unknown_entry_is_not_found(demo_node: DemoNode) -> None:
    token = await _token(demo_node, MUNICIPALITY)
    body = await demo_node.gql(REVISE, {"input": {"id": "00000000-0000-4000-8000-000000000000",
                                                  "expectedVersion": 1, "title": "x"}}, token=token)
    assert _code(body) == "NOT_FOUND"


@pytest.mark.parametrize("change", [
    {"title": ""},
    {"language": "klingon"},
    {"topics": ["no-such-topic"]},
    {"title": "x" * 1000},
])
async def test_publish_bad_input(demo_node: DemoNode, change: dict) -> None:
    token = await _token(demo_node, MUNICIPALITY)
    body = await demo_node.gql(operation("Publish"), {"input": {**NEW_ENTRY, **change}}, token=token)
    assert _code(body) == "BAD_USER_INPUT", body
    assert body["errors"][0]["message"]


async def test_publish_with_a_variable_of_the_wrong_type_is_bad_user_input(demo_node: DemoNode) -> None:
    token = await _token(demo_node, MUNICIPALITY)
    r = await demo_node.client.post("/graphql", json={"query": operation("Publish"),
                                    "variables": {"input": {**NEW_ENTRY, "kind": "POEM"}}},
                                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200  # application/json: request errors keep 200
    assert _code(r.json()) == "BAD_USER_INPUT"
    assert "data" not in r.json()
