"""Suggested partners of a call: the peer matcher's ranking for the call's text, filtered by its terms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.auth import Actor, find_publisher
from exchange.calls import PartnerCache
from exchange.catalogue import EntryInput
from exchange.db import Database
from tests.web.webkit import Content, page_client, populate

PUBLISH = """mutation($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id } } }"""
PARTNERS = """query($id: ID!) { entry(id: $id) { ... on Call { suggestedPartners(first: 5, language: "en") {
  publisher { __typename ... on Municipality { officialKey } ... on Organisation { slug } }
  score distanceKm reasons { signal explanation } } } } }"""
KISSELBACH, WIGGENSBACH, FLENSBURG = "071405008068", "097800146146", "010010000000"


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


async def post_call(client: httpx.AsyncClient, token: str, **terms: Any) -> str:
    r = await client.post("/graphql", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}, json={"query": PUBLISH,
        "variables": {"input": {"kind": "CALL", "title": "LoRaWAN-Sensoren für Pegel gemeinsam beschaffen",
                                "summary": "Wir suchen Gemeinden, die Sensoren und Gateways mit uns ausschreiben.",
                                "topics": ["digitalisierung"],
                                "call": {"form": "JOINT_PROCUREMENT", "deadline": "2099-01-01", **terms}}}})
    assert "errors" not in r.json(), r.json()
    return str(r.json()["data"]["publishEntry"]["entry"]["id"])


async def partners(client: httpx.AsyncClient, uid: str) -> list[dict[str, Any]]:
    r = await client.post("/graphql", headers={"Accept": "application/json"}, json={"query": PARTNERS, "variables": {"id": uid}})
    assert "errors" not in r.json(), r.json()
    return r.json()["data"]["entry"]["suggestedPartners"]  # type: ignore[no-any-return]


def keys(found: list[dict[str, Any]]) -> list[str]:
    return [p["publisher"].get("officialKey") or p["publisher"]["slug"] for p in found]


async def test_the_municipality_with_sensor_experience_is_suggested_with_reasons(
    client: httpx.AsyncClient, content: Content
) -> None:
    uid = await post_call(client, content.other_token)  # Wiggensbach calls
    found = await partners(client, uid)
    assert keys(found)[0] == KISSELBACH  # its sensor project and lesson match the call
    assert WIGGENSBACH not in keys(found)  # never the caller itself
    assert any("sensor" in r["explanation"].lower() or "lorawan" in r["explanation"].lower()
               for r in found[0]["reasons"]), found[0]["reasons"]


async def test_size_classes_and_radius_filter_the_suggestions(client: httpx.AsyncClient, content: Content) -> None:
    wide = await partners(client, await post_call(client, content.other_token, sizeClasses=["Landgemeinde"]))
    assert keys(wide) == [KISSELBACH]  # the only Landgemeinde; organisations have no size
    towns = await partners(client, await post_call(client, content.other_token, sizeClasses=["Großstadt"]))
    assert KISSELBACH not in keys(towns)
    # Kisselbach is about 330 km from Wiggensbach
    near = await partners(client, await post_call(client, content.other_token, radiusKm=100))
    assert KISSELBACH not in keys(near)
    far = await partners(client, await post_call(client, content.other_token, radiusKm=400))
    assert keys(far)[0] == KISSELBACH and far[0]["distanceKm"] < 400


async def test_the_call_page_shows_suggested_partners(client: httpx.AsyncClient, content: Content) -> None:
    uid = await post_call(client, content.other_token)
    page = (await client.get(f"/entries/{uid}")).text
    assert "Vorgeschlagene Partner" in page and "/municipalities/" + KISSELBACH in page


async def test_suggestions_are_kept_until_a_profile_or_the_call_changes(client: httpx.AsyncClient,
                                                                        content: Content) -> None:
    cache = content.node.extra["call_partners"]
    uid = await post_call(client, content.other_token)
    first = await partners(client, uid)
    assert (await client.get(f"/entries/{uid}")).status_code == 200  # German, five: its own result
    hits = cache.hits
    assert await partners(client, uid) == first and cache.hits == hits + 1  # nothing changed: not ranked again
    # Flensburg publishes what the call asks for: its profile changes, and so do the suggestions
    flensburg = await find_publisher(FLENSBURG)
    await content.node.catalogue.publish(Actor(publisher=flensburg, scopes=frozenset({"publish"})), EntryInput(
        kind="project", title="LoRaWAN-Sensoren für Pegel und Parkplätze", language="de", visibility="public",
        summary="Sensoren und Gateways für Pegel, gemeinsam ausgeschrieben.", topics=["digitalisierung"],
        body_markdown="LoRaWAN Sensoren Gateways Pegel Parkplätze Ausschreibung"))
    await content.node.services.matcher.settle()
    hits = cache.hits
    after = await partners(client, uid)
    assert cache.hits == hits and keys(after)[0] == FLENSBURG and keys(first)[0] != FLENSBURG  # ranked again


def test_the_partner_cache_forgets_after_its_time_and_beyond_its_size() -> None:
    now = [0.0]
    cache = PartnerCache(size=2, ttl=60, clock=lambda: now[0])
    cache.put(("a",), 1, ["A"])
    assert cache.get(("a",), 1) == ["A"] and cache.get(("a",), 2) is None  # a profile changed
    cache.put(("a",), 1, ["A"])
    now[0] = 61
    assert cache.get(("a",), 1) is None  # too old
    for key in "abc":
        cache.put((key,), 1, [key])
    assert cache.get(("a",), 1) is None and cache.get(("c",), 1) == ["c"]  # the oldest made room
