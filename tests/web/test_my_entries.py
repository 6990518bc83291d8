"""The publish page lists a publisher's own entries by where they stand: drafts, in review,
published, withdrawn, each with its version and the ways to revise, compare and withdraw it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.db import Database
from tests.web.test_publish import sign_in
from tests.web.webkit import KISSELBACH, Content, page_client, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


def section(html: str, state: str) -> str:
    start = html.find(f'id="mine-{state}"')
    if start < 0:
        return ""
    return html[start:html.find("</ul>", start)]


async def test_own_entries_by_state_with_versions(client: httpx.AsyncClient, content: Content) -> None:
    me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
    await content.node.catalogue.revise(me, content.project, 1, EntryInput(summary="Jetzt mit Dashboard."))
    await content.node.catalogue.unpublish(me, content.hostile)
    await sign_in(client, content.token)
    html = (await client.get("/publish")).text
    assert "Geheimer Entwurf" in section(html, "draft") and "LoRaWAN" not in section(html, "draft")
    published = section(html, "published")
    assert "LoRaWAN-Sensornetz im Dorf" in published and "Version 2" in published
    assert f'href="/entries/{content.project}/versions"' in published
    assert f'href="/publish/{content.project}/withdraw"' in published
    withdrawn = section(html, "withdrawn")
    assert content.hostile in withdrawn and "zurückgezogen am" in withdrawn and "/withdraw\"" not in withdrawn
    english = (await client.get("/publish", params={"lang": "en"})).text
    assert "Drafts" in english and "Withdrawn" in english and "Entwürfe" not in english


async def test_nobody_sees_another_publishers_entries_there(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.other_token)
    html = (await client.get("/publish")).text
    assert "Geheimer Entwurf" not in html and "LoRaWAN-Sensornetz im Dorf" not in html
