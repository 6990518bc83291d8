"""GraphiQL is served by the node itself: the page and every asset it loads, no CDN."""

from __future__ import annotations

import re
from pathlib import Path

from exchange.api.graphiql import ASSET_DIR, ASSETS
from exchange.db import Database
from tests.helpers import client_for


async def test_browser_gets_graphiql_with_local_assets_only(db: Database, tmp_path: Path) -> None:
    async with client_for(db, tmp_path) as client:
        r = await client.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        page = r.text
        assert "GraphiQL" in page
        sources = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert len(sources) == 4, sources
        for src in sources:
            assert src.startswith("/graphql/assets/"), f"{src} is not served by the node"
            asset = await client.get(src)
            assert asset.status_code == 200, src
            assert len(asset.content) > 1000
        assert "http://" not in page and "https://" not in page


async def test_assets_are_vendored_with_their_licences() -> None:
    for name in ASSETS:
        assert (ASSET_DIR / name).is_file(), name
    for name in ("LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"):
        assert "MIT License" in (ASSET_DIR / name).read_text(encoding="utf-8")


async def test_unknown_asset_is_404_and_no_path_escape(db: Database, tmp_path: Path) -> None:
    async with client_for(db, tmp_path) as client:
        for name in ("nope.js", "..%2Fgraphiql.py", "README.md"):
            r = await client.get(f"/graphql/assets/{name}")
            assert r.status_code == 404, name


async def test_queries_still_answer_json_for_api_clients(db: Database, tmp_path: Path) -> None:
    async with client_for(db, tmp_path) as client:
        r = await client.get("/graphql", params={"query": "{ node { name } }"},
                             headers={"Accept": "text/html, application/json"})
        assert r.status_code == 200
        assert r.json()["data"]["node"]["name"] == "Test node"


async def test_the_standard_introspection_query_is_answered(db: Database, tmp_path: Path) -> None:
    from graphql import get_introspection_query

    query = get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                                    schema_description=True, input_value_deprecation=True)
    async with client_for(db, tmp_path) as client:
        r = await client.post("/graphql", json={"query": query, "operationName": "IntrospectionQuery"})
        assert r.status_code == 200
        body = r.json()
        assert "errors" not in body, body.get("errors")
        assert {"Query", "Entry"} <= {t["name"] for t in body["data"]["__schema"]["types"]}


async def test_introspection_is_bounded_and_data_queries_keep_their_depth(db: Database, tmp_path: Path) -> None:
    deep_types = "{ __schema { types { " + "ofType { " * 40 + "name" + " }" * 40 + " } } }"
    deep_data = "{ entries(first: 1) { edges { node { " + "publisher { entries(first: 1) { edges { node { " * 3 + "id" + " } } } }" * 3 \
        + " } } } }"
    async with client_for(db, tmp_path) as client:
        for query, message in ((deep_types, "introspection query is nested deeper than 30"),
                               (deep_data, "nested deeper than 12 levels")):
            r = await client.post("/graphql", json={"query": query})
            errors = r.json()["errors"]
            assert errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", errors
            assert message in errors[0]["message"]
