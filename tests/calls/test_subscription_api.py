"""Subscriptions to calls over GraphQL: a person subscribes and unsubscribes by the feed's address."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.calls import Subscription
from exchange.db import Database
from tests.web.accountkit import staff
from tests.web.webkit import Content, page_client, populate

SUBSCRIBE = """mutation { subscribeToCalls(topics: ["digitalisierung"], frequency: "daily") }"""
UNSUBSCRIBE = """mutation($feed: String!) { unsubscribeFromCalls(feed: $feed) }"""


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


async def ask(client: httpx.AsyncClient, token: str | None, query: str, **variables: Any) -> dict[str, Any]:
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    r = await client.post("/graphql", headers=headers, json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def code(answer: dict[str, Any]) -> str:
    return str(answer["errors"][0]["extensions"]["code"])


async def test_a_person_unsubscribes_by_the_feed_address_and_nobody_else_can(content: Content,
                                                                             db: Database) -> None:
    people = await staff()
    async with page_client(content, db) as client:
        feed = (await ask(client, people.tokens["editor"], SUBSCRIBE))["data"]["subscribeToCalls"]
        path = "/calls/feed/" + feed.rsplit("/", 1)[-1]
        assert (await client.get(path)).status_code == 200
        other = await ask(client, people.tokens["other editor"], UNSUBSCRIBE, feed=feed)
        assert code(other) == "NOT_FOUND" and await Subscription.all().count() == 1
        assert code(await ask(client, content.token, UNSUBSCRIBE, feed=feed)) == "FORBIDDEN"  # a service token
        assert code(await ask(client, people.tokens["editor"], UNSUBSCRIBE, feed="")) == "NOT_FOUND"
        done = await ask(client, people.tokens["editor"], UNSUBSCRIBE, feed=feed)
        assert done == {"data": {"unsubscribeFromCalls": True}}
        assert await Subscription.all().count() == 0 and (await client.get(path)).status_code == 404
        again = await ask(client, people.tokens["editor"], UNSUBSCRIBE, feed=feed.rsplit("/", 1)[-1])
        assert code(again) == "NOT_FOUND"
