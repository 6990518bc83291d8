"""/metrics: requests by route, GraphQL operations by name, entries and peers from the database,
and who may read it (loopback or the allow-list, the token, or nobody when off)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exchange.app import build_node, create_app
from exchange.db import Database
from exchange.errors import InvalidInputError
from exchange.models import Peer
from exchange.settings import load_settings
from tests.helpers import MUNICIPALITIES, seed, settings_for, token_for

PUBLISH = """mutation Publish($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id } } }"""


def client(db: Database, tmp_path: Path, address: str = "127.0.0.1", **settings: object) -> httpx.AsyncClient:
    config = settings_for(db, tmp_path).with_(**settings)
    app = create_app(config, node=build_node(config, database=db), migrate=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://node-a.test")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, metric: str, **labels: str) -> float:
    return samples(text).get((metric, frozenset(labels.items())), 0.0)


async def test_requests_operations_entries_and_peers_are_counted(db: Database, tmp_path: Path) -> None:
    await seed(db)
    token = await token_for(MUNICIPALITIES[0]["official_key"])
    await Peer.create(url="https://peer.example", public_key="A" * 43, key_id="k1", entries_behind=7,
                      failures=2, applied_total=40, last_success=datetime.now(UTC), created_at=datetime.now(UTC))
    async with client(db, tmp_path) as c:
        before = (await c.get("/metrics")).text
        for _ in range(3):
            r = await c.post("/graphql", json={"query": "query Probe { entries(first: 1) { totalCount } }"})
            assert r.status_code == 200
        r = await c.post("/graphql", headers={"Authorization": f"Bearer {token}"}, json={
            "query": PUBLISH, "variables": {"input": {"kind": "PROJECT", "title": "Gezählt", "summary": "S",
                                                      "bodyMarkdown": "B", "topics": [], "visibility": "PUBLIC"}}})
        assert r.json()["data"]["publishEntry"]["entry"]["id"]
        await c.get("/entries/00000000-0000-0000-0000-000000000000")
        r = await c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = r.text

    def grew(metric: str, **labels: str) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert grew("exchange_http_requests_total", route="/graphql", method="POST", status="200") == 4
    assert grew("exchange_graphql_operations_total", type="query", name="Probe") == 3
    assert grew("exchange_graphql_operations_total", type="mutation", name="Publish") == 1
    assert grew("exchange_http_request_duration_seconds_count", route="/graphql") == 4
    assert grew("exchange_http_requests_total", route="/entries/{uid}", method="GET", status="404") == 1
    assert value(after, "exchange_entries", visibility="public", origin="own") == 1
    assert value(after, "exchange_change_sequence") == 1
    assert value(after, "exchange_peer_entries_behind", peer="https://peer.example") == 7
    assert value(after, "exchange_peer_failures", peer="https://peer.example") == 2
    assert value(after, "exchange_peer_applied_entries_total", peer="https://peer.example") == 40
    assert 0 <= value(after, "exchange_peer_seconds_since_success", peer="https://peer.example") < 60
    has_pool = ("exchange_database_pool_connections", frozenset({("state", "max")})) in samples(after)
    assert has_pool == (db.dialect == "postgres")


async def test_the_followers_lag_behind_the_change_feed_is_shown(db: Database, tmp_path: Path) -> None:
    await seed(db)
    config = settings_for(db, tmp_path)
    node = build_node(config, database=db)
    app = create_app(config, node=node, migrate=False)
    follower = node.extra["follower"]
    await follower.catch_up()  # where the feed stands
    await follower.catch_up()  # a complete look
    token = await token_for(MUNICIPALITIES[0]["official_key"])
    other = build_node(config, database=db)  # a second server process on the same database
    other_app = create_app(config, node=other, migrate=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)),
                                 base_url="http://node-a.test") as c, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=other_app), base_url="http://node-a.test") as o:
        quiet = (await c.get("/metrics")).text
        for title in ("Woanders geschrieben", "Noch eins"):
            r = await o.post("/graphql", headers={"Authorization": f"Bearer {token}"}, json={
                "query": PUBLISH, "variables": {"input": {"kind": "PROJECT", "title": title, "summary": "S",
                                                          "bodyMarkdown": "B", "topics": [],
                                                          "visibility": "PUBLIC"}}})
            assert r.json()["data"]["publishEntry"]["entry"]["id"], r.text
        trailing = (await c.get("/metrics")).text
        await follower.catch_up()
        caught_up = (await c.get("/metrics")).text
    assert value(quiet, "exchange_follower_changes_behind") == 0
    assert value(quiet, "exchange_follower_lag_seconds") == 0
    assert 0 <= value(quiet, "exchange_follower_seconds_since_look") < 60
    assert value(trailing, "exchange_follower_changes_behind") == 2
    assert 0 < value(trailing, "exchange_follower_lag_seconds") < 60
    assert value(caught_up, "exchange_follower_changes_behind") == 0
    assert value(caught_up, "exchange_follower_lag_seconds") == 0


async def test_operation_names_cannot_grow_the_series_without_bound(db: Database, tmp_path: Path) -> None:
    async with client(db, tmp_path) as c:
        before = (await c.get("/metrics")).text
        await c.post("/graphql", json={"query": "{ entries(first: 1) { totalCount } }"})
        after = (await c.get("/metrics")).text
    assert value(after, "exchange_graphql_operations_total", type="query", name="anonymous") \
        - value(before, "exchange_graphql_operations_total", type="query", name="anonymous") == 1


async def test_who_may_read_the_metrics(db: Database, tmp_path: Path) -> None:
    async with client(db, tmp_path, address="203.0.113.5") as c:  # from elsewhere, no token configured
        r = await c.get("/metrics")
        assert r.status_code == 403 and "EXCHANGE_METRICS_ALLOW" in r.json()["errors"][0]["message"]
    async with client(db, tmp_path, address="203.0.113.5", metrics_token="s3cret-token") as c:
        assert (await c.get("/metrics")).status_code == 403
        assert (await c.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 403
        assert (await c.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})).status_code == 200
    async with client(db, tmp_path, address="10.1.2.3", metrics_allow="10.0.0.0/8") as c:
        assert (await c.get("/metrics")).status_code == 200
    async with client(db, tmp_path, metrics_allow="") as c:  # the token only: loopback too is refused
        assert (await c.get("/metrics")).status_code == 403
    async with client(db, tmp_path, metrics=False) as c:
        assert (await c.get("/metrics")).status_code == 404


def test_metrics_settings_are_checked() -> None:
    settings = load_settings({"EXCHANGE_METRICS": "off", "EXCHANGE_METRICS_TOKEN": " t ",
                              "EXCHANGE_METRICS_ALLOW": "10.0.0.0/8, ::1"})
    assert (settings.metrics, settings.metrics_token, settings.metrics_allow) == (False, "t", "10.0.0.0/8, ::1")
    with pytest.raises(InvalidInputError, match="EXCHANGE_METRICS_ALLOW: '10.0.0.300'"):
        load_settings({"EXCHANGE_METRICS_ALLOW": "10.0.0.300"})
    with pytest.raises(InvalidInputError, match="EXCHANGE_METRICS must be true or false"):
        load_settings({"EXCHANGE_METRICS": "maybe"})
