"""Bad input at the HTTP endpoint: always a 4xx or a GraphQL error with a code.

Each request below is wrong in one way; the node must answer with a status
below 500, an `errors` list whose every item has `extensions.code`, and no
traceback. The table is the contract: status and code per case, for clients
that accept `application/json` (the default).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.contract.conftest import DemoNode

pytestmark = pytest.mark.asyncio(loop_scope="module")

CATALOGUE = "query C($first: Int!, $after: String) { entries(first: $first, after: $after) { totalCount edges { cursor node { id } } } }"
JSON_HEADERS = {"content-type": "application/json"}


def _nested(depth: int) -> str:
    inner = "id"
    for _ in range(depth):
        inner = f"publisher {{ entries(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"
    return f"{{ entries(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"


# (name, method, kwargs for httpx, expected status, expected code)
CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("malformed JSON", "POST", {"content": b"{\"query\": ", "headers": JSON_HEADERS}, 400, "BAD_REQUEST"),
    ("JSON array body", "POST", {"content": b"[1, 2]", "headers": JSON_HEADERS}, 400, "BAD_REQUEST"),
    ("invalid UTF-8", "POST", {"content": b"{\"query\": \"\xff\xfe\"}", "headers": JSON_HEADERS}, 400, "BAD_REQUEST"),
    ("empty body", "POST", {"content": b"", "headers": JSON_HEADERS}, 400, "BAD_REQUEST"),
    ("text/plain", "POST", {"content": b"{ node { name } }", "headers": {"content-type": "text/plain"}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("form", "POST", {"data": {"query": "{ node { name } }"}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("no content type", "POST", {"content": b"{\"query\": \"{ node { name } }\"}"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("query missing", "POST", {"json": {"variables": {}}}, 400, "BAD_REQUEST"),
    ("query not a string", "POST", {"json": {"query": 42}}, 400, "BAD_REQUEST"),
    ("variables not an object", "POST", {"json": {"query": "{ node { name } }", "variables": [1]}}, 400, "BAD_REQUEST"),
    ("operationName not a string", "POST", {"json": {"query": "{ node { name } }", "operationName": 1}}, 400, "BAD_REQUEST"),
    ("unknown operation", "POST", {"json": {"query": "query A { node { name } }", "operationName": "B"}}, 400, "OPERATION_NOT_FOUND"),
    ("two operations, none named", "POST", {"json": {"query": "query A { node { name } } query B { node { id } }"}}, 400, "OPERATION_NOT_FOUND"),
    ("syntax error", "POST", {"json": {"query": "{ node { name }"}}, 200, "GRAPHQL_PARSE_FAILED"),
    ("unknown field", "POST", {"json": {"query": "{ nope }"}}, 200, "GRAPHQL_VALIDATION_FAILED"),
    ("wrong variable type", "POST", {"json": {"query": CATALOGUE, "variables": {"first": "ten"}}}, 200, "BAD_USER_INPUT"),
    ("missing variable", "POST", {"json": {"query": CATALOGUE}}, 200, "BAD_USER_INPUT"),
    ("page too large", "POST", {"json": {"query": CATALOGUE, "variables": {"first": 1000}}}, 200, "BAD_USER_INPUT"),
    ("negative page", "POST", {"json": {"query": CATALOGUE, "variables": {"first": -1}}}, 200, "BAD_USER_INPUT"),
    ("never-issued cursor", "POST", {"json": {"query": CATALOGUE, "variables": {"first": 5, "after": "bm90LWEtY3Vyc29y"}}}, 200, "BAD_USER_INPUT"),
    ("cursor garbage", "POST", {"json": {"query": CATALOGUE, "variables": {"first": 5, "after": "%%%"}}}, 200, "BAD_USER_INPUT"),
    ("deeply nested", "POST", {"json": {"query": _nested(8)}}, 200, "QUERY_TOO_COMPLEX"),
    ("too many aliases", "POST", {"json": {"query": "{ " + " ".join(f"a{i}: node {{ name }}" for i in range(60)) + " }"}}, 200, "QUERY_TOO_COMPLEX"),
    ("too many tokens", "POST", {"json": {"query": "{ " + " ".join("node { name }" for _ in range(3000)) + " }"}}, 200, "GRAPHQL_PARSE_FAILED"),
    ("nested pages too costly", "POST", {"json": {"query": "{ entries(first: 100) { edges { node { publisher { entries(first: 100) { totalCount } } } } } }"}}, 200, "QUERY_TOO_COMPLEX"),
    ("oversized body", "POST", {"content": b"{\"query\": \"" + b" " * 1_100_000 + b"{ node { name } }\"}", "headers": JSON_HEADERS}, 413, "PAYLOAD_TOO_LARGE"),
    ("mutation over GET", "GET", {"params": {"query": "mutation { unpublishEntry(id: \"x\") { entry { id } } }"}}, 405, "METHOD_NOT_ALLOWED"),
    ("GET without query", "GET", {"params": {}}, 400, "BAD_REQUEST"),
    ("JSON nested 100,000 deep", "POST", {"content": b'{"query": "{ node { name } }", "variables": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", "headers": JSON_HEADERS}, 400, "BAD_REQUEST"),
    ("JSON objects nested 100 deep", "POST", {"content": b'{"query": "{ node { name } }", "variables": ' + b'{"a": ' * 100 + b"1" + b"}" * 101, "headers": JSON_HEADERS}, 400, "BAD_REQUEST"),
    ("GET variables nested 3,000 deep", "GET", {"params": {"query": CATALOGUE, "variables": '{"first": 1, "x": ' + "[" * 3000 + "]" * 3000 + "}"}}, 400, "BAD_REQUEST"),
    ("GET bad variables", "GET", {"params": {"query": CATALOGUE, "variables": "{nope"}}, 400, "BAD_REQUEST"),
    ("PUT", "PUT", {"json": {"query": "{ node { name } }"}}, 405, "METHOD_NOT_ALLOWED"),
    ("Accept nothing we speak", "POST", {"json": {"query": "{ node { name } }"}, "headers": {"accept": "text/plain"}}, 406, "NOT_ACCEPTABLE"),
    ("malformed Authorization", "POST", {"json": {"query": "{ node { name } }"}, "headers": {"authorization": "Basic abc"}}, 401, "UNAUTHENTICATED"),
    ("unknown token", "POST", {"json": {"query": "{ node { name } }"}, "headers": {"authorization": "Bearer nope"}}, 401, "UNAUTHENTICATED"),
    ("bad entry id", "POST", {"json": {"query": "{ entry(id: \"x\") { id } }"}}, 200, "BAD_USER_INPUT"),
    ("unknown publisher filter", "POST", {"json": {"query": "{ entries(first: 1, filter: {publisher: \"nobody\"}) { totalCount } }"}}, 200, "NOT_FOUND"),
    ("unknown Land", "POST", {"json": {"query": "{ entries(first: 1, filter: {state: \"Atlantis\"}) { totalCount } }"}}, 200, "BAD_USER_INPUT"),
    ("search text too long", "POST", {"json": {"query": "query($t: String) { entries(first: 1, filter: {text: $t}) { totalCount } }", "variables": {"t": "x" * 600}}}, 200, "BAD_USER_INPUT"),
    ("hostile search text", "POST", {"json": {"query": "query($t: String) { entries(first: 1, filter: {text: $t}) { totalCount } }", "variables": {"t": "\" OR 1=1 -- NEAR( * ^"}}}, 200, ""),
]


def check_answer(r: httpx.Response, expected_status: int | None = None, expected_code: str | None = None) -> None:
    """The invariant for every request: < 500, codes on every error, no traceback."""
    assert r.status_code < 500, r.text[:500]
    assert "Traceback" not in r.text and 'File "' not in r.text
    body = json.loads(r.text)
    assert isinstance(body, dict)
    for error in body.get("errors", []):
        assert error["message"] and error["extensions"]["code"], error
    if expected_status is not None:
        assert r.status_code == expected_status, r.text[:500]
    if expected_code:
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        assert expected_code in codes, body
    elif expected_code == "":
        assert "errors" not in body, body


@pytest.fixture
def client(demo_node: DemoNode) -> httpx.AsyncClient:
    return demo_node.client


async def test_page_sizes_in_variables_are_checked_on_every_request(client: httpx.AsyncClient) -> None:
    """The same document passes the cost limit with small pages and is refused with large ones, in any order."""
    query = ("query($n: Int!) { entries(first: $n) { edges { node { publisher { "
             "entries(first: $n) { totalCount } } } } } }")
    for n, code in ((5, ""), (100, "QUERY_TOO_COMPLEX"), (5, ""), (100, "QUERY_TOO_COMPLEX")):
        r = await client.post("/graphql", json={"query": query, "variables": {"n": n}})
        check_answer(r, 200, code)


@pytest.mark.parametrize("name, method, kwargs, status, code", CASES, ids=[c[0] for c in CASES])
async def test_bad_request(client: httpx.AsyncClient, name: str, method: str, kwargs: dict[str, Any],
                           status: int, code: str) -> None:
    r = await client.request(method, "/graphql", **kwargs)
    check_answer(r, status, code)


@pytest.mark.parametrize("name, method, kwargs, status, code", [c for c in CASES if c[3] == 200 and c[4]],
                         ids=[c[0] for c in CASES if c[3] == 200 and c[4]])
async def test_request_errors_are_400_in_graphql_response_json(
    client: httpx.AsyncClient, name: str, method: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    """Clients speaking application/graphql-response+json get 400 when nothing ran, 200 otherwise."""
    headers = {**kwargs.get("headers", {}), "accept": "application/graphql-response+json"}
    r = await client.request(method, "/graphql", **{**kwargs, "headers": headers})
    check_answer(r, None, code)
    assert r.headers["content-type"].startswith("application/graphql-response+json")
    body = r.json()
    assert r.status_code == (400 if "data" not in body else 200), (r.status_code, body)
