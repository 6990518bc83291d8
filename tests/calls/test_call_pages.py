"""Calls for partners in the web pages: the form (without JavaScript), the call page, closing, search."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exchange.db import Database
from exchange.models import Entry
from tests.web.test_publish import csrf_of, sign_in
from tests.web.webkit import Content, page_client, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


def field_error(html: str, name: str) -> str:
    """The message shown next to the field `name` (empty when none)."""
    found = re.search(rf'<p class="field-error" id="err-f-{re.escape(name.replace(".", "-"))}">([^<]*)</p>', html)
    return found.group(1) if found else ""


async def test_a_call_written_in_the_form_shows_its_terms_and_closes(
    client: httpx.AsyncClient, content: Content
) -> None:
    await sign_in(client, content.token)
    r = await client.get("/publish/new", params={"kind": "call"})
    assert r.status_code == 200 and 'name="call.deadline"' in r.text and "Form der Zusammenarbeit" in r.text
    form = {"csrf": csrf_of(r.text), "kind": "call", "title": "Gemeinsame Ausschreibung Ratsinformationssystem",
            "summary": "Wir suchen zwei Gemeinden.", "language": "de", "visibility": "public",
            "topics": ["digitalisierung"], "license": "CC-BY-4.0", "action": "save",
            "call.form": "joint_procurement", "call.deadline": "2001-02-03", "call.partners_wanted": "zwei",
            "call.radius_km": "10000", "call.size_classes": ["Landgemeinde"], "call.region": "Hunsrück",
            "call.replicates": f"http://node-a.test/entries/{content.project}"}
    r = await client.post("/publish/new", data=form)
    assert r.status_code == 400
    assert field_error(r.text, "call.partners_wanted") == "Bitte geben Sie eine ganze Zahl an, nicht zwei."
    r = await client.post("/publish/new", data={**form, "call.partners_wanted": "2"})
    assert r.status_code == 400
    assert field_error(r.text, "call.radius_km") == "Der Umkreis muss zwischen 1 und 1000 km liegen, nicht 10000."
    assert 'value="Hunsrück"' in r.text  # what was typed is kept
    r = await client.post("/publish/new", data={**form, "call.partners_wanted": "2", "call.radius_km": "30"})
    assert field_error(r.text, "call.deadline") == "Die Frist 2001-02-03 liegt in der Vergangenheit."
    r = await client.post("/publish/new", data={**form, "call.partners_wanted": "2", "call.radius_km": "30",
                                                 "call.deadline": "2099-03-31"})
    assert r.status_code == 303, r.text
    uid = r.headers["location"].split("/")[2].split("?")[0]
    entry = await Entry.get(uid=uid)
    assert entry.call is not None and entry.call["radius_km"] == 30 and entry.call["partners_wanted"] == 2
    assert entry.links == [{"relation": "replicates", "target": content.project}]
    page = (await client.get(f"/entries/{uid}")).text
    assert "Gemeinsame Beschaffung" in page and "offen für Antworten" in page and "im Umkreis von 30 km" in page
    assert "Landgemeinde" in page and 'action="/entries/' + uid + '/close"' in page
    english = (await client.get(f"/entries/{uid}", headers={"Accept-Language": "en"})).text
    assert "Joint procurement" in english and "open for answers" in english
    found = (await client.get("/search", params={"kind": "call"})).text
    assert "Gemeinsame Ausschreibung Ratsinformationssystem" in found and "Antworten bis 2099-03-31" in found
    assert "LoRaWAN-Sensornetz" not in found
    csrf = csrf_of(page)
    r = await client.post(f"/entries/{uid}/close", data={"csrf": csrf, "version": "1", "state": "filled",
                                                         "reason": "Zwei Gemeinden sind dabei."})
    assert r.status_code == 303
    page = (await client.get(r.headers["location"])).text
    assert "beendet: Partner gefunden" in page and "Zwei Gemeinden sind dabei." in page
    assert 'action="/entries/' + uid + '/close"' not in page
    r = await client.post(f"/entries/{uid}/close", data={"csrf": csrf, "state": "withdrawn"})
    assert r.status_code == 409


async def test_only_the_owner_may_close_a_call(client: httpx.AsyncClient, content: Content, db: Database) -> None:
    await sign_in(client, content.token)
    r = await client.get("/publish/new", params={"kind": "call"})
    r = await client.post("/publish/new", data={
        "csrf": csrf_of(r.text), "kind": "call", "title": "Bauhof teilen", "summary": "Ein Bauhof für zwei.",
        "language": "de", "visibility": "public", "license": "CC-BY-4.0", "action": "save",
        "call.form": "shared_service", "call.deadline": "2099-01-01", "call.partners_wanted": "1"})
    uid = r.headers["location"].split("/")[2].split("?")[0]
    async with page_client(content, db) as other:
        await sign_in(other, content.other_token)
        page = (await other.get(f"/entries/{uid}")).text
        assert "/close" not in page
        csrf = csrf_of((await other.get("/publish")).text)
        r = await other.post(f"/entries/{uid}/close", data={"csrf": csrf, "state": "withdrawn"})
        assert r.status_code == 403
    assert (await Entry.get(uid=uid)).call["state"] == "open"  # type: ignore[index]
