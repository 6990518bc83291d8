"""The versions page: any two versions compared field by field, text line by line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.versiondiff import field_changes
from tests.web.webkit import KISSELBACH, Content, page_client, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    content = await populate(db, tmp_path)
    me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
    cat = content.node.catalogue
    await cat.revise(me, content.project, 1, EntryInput(
        summary="Zwölf Sensoren messen Pegel.", body_markdown="## Aufbau\n\nVier Gateways auf dem Rathaus.\n\nNeu: ein Dashboard.",
        budget_eur=30000, goals=[{"goal": "Pegel kennen", "indicators": [
            {"name": "Messpunkte", "baseline": 0, "target": 12, "measurements": [{"date": "2024-05-01", "value": 9}]}]}]))
    await cat.revise(me, content.project, 2, EntryInput(title="LoRaWAN-Sensornetz im Dorf (Phase 2)"))
    return content


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


async def test_the_last_two_versions_by_default_and_any_two_on_request(client: httpx.AsyncClient, content: Content) -> None:
    r = await client.get(f"/entries/{content.project}/versions")
    assert r.status_code == 200 and "Was hat sich von Version 2 zu Version 3 geändert?" in r.text
    assert "(Phase 2)</ins>" in r.text and "Budget" not in r.text.split("changes-heading")[1].split("list-heading")[0]
    r = await client.get(f"/entries/{content.project}/versions", params={"from": "1", "to": "2", "lang": "en"})
    section = r.text.split('id="changes-heading"')[1].split('id="list-heading"')[0]
    assert "<h3>Budget <span" in section and "Goals and indicators" in section and "Text" in section
    assert "Neu: ein Dashboard.</ins>" in section and "2024-05-01: 9" in section
    assert "Vier Gateways auf dem Rathaus.</span>" in section  # an unchanged line stays as context
    assert "Title" not in section  # the title did not change between 1 and 2


@pytest.mark.parametrize("params", [{"from": "1", "to": "9"}, {"from": "0", "to": "2"}, {"from": "x", "to": "2"},
                                    {"from": "99999999999999", "to": "1"}])
async def test_versions_that_do_not_exist_are_named(client: httpx.AsyncClient, content: Content, params: dict[str, str]) -> None:
    r = await client.get(f"/entries/{content.project}/versions", params=params)
    assert r.status_code == 404 and 'role="alert"' in r.text and "gibt es nicht" in r.text
    assert (await client.get("/entries/not-a-uuid/versions")).status_code == 404


async def test_a_draft_version_stays_hidden_from_anonymous_readers(client: httpx.AsyncClient, content: Content) -> None:
    r = await client.get(f"/entries/{content.draft}/versions")
    assert r.status_code == 404 and "Geheimer Entwurf" not in r.text


def test_field_changes_compare_lists_and_values() -> None:
    old = {"visibility": "public", "entry": {"title": "A", "checklist": ["eins", "zwei"], "status": "planned"}}
    new = {"visibility": "network", "entry": {"title": "A", "checklist": ["zwei", "drei"], "status": "running"}}
    changes = {c.name: [(line.op, line.text) for line in c.lines] for c in field_changes(old, new)}
    assert changes == {"checklist": [("-", "eins"), (" ", "zwei"), ("+", "drei")],
                       "status": [("-", "planned"), ("+", "running")],
                       "visibility": [("-", "public"), ("+", "network")]}
