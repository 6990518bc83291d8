"""Withdrawing an entry from the browser: a confirmation step, then the content is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exchange.db import Database
from exchange.models import Entry, Revision
from tests.web.test_publish import csrf_of, sign_in
from tests.web.webkit import Content, page_client, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


async def test_withdraw_after_confirming_removes_the_content(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    page = (await client.get(f"/entries/{content.project}")).text
    assert f'href="/publish/{content.project}/withdraw"' in page
    r = await client.get(f"/publish/{content.project}/withdraw")
    assert r.status_code == 200 and "Dies lässt sich nicht rückgängig machen" in r.text
    form = {"csrf": csrf_of(r.text), "version": "1"}
    r = await client.post(f"/publish/{content.project}/withdraw", data=form)  # not confirmed
    assert r.status_code == 400 and 'aria-invalid="true"' in r.text
    assert not (await Entry.get(uid=content.project)).deleted
    r = await client.post(f"/publish/{content.project}/withdraw", data={**form, "confirm": "yes"})
    assert r.status_code == 303 and r.headers["location"].startswith("/publish?withdrawn=")
    assert "zurückgezogen" in (await client.get(r.headers["location"])).text
    entry = await Entry.get(uid=content.project)
    assert entry.deleted and entry.title == "" and entry.summary == "" and entry.contact_email == ""
    page = (await client.get(f"/entries/{content.project}")).text
    assert "LoRaWAN-Sensornetz" not in page and "bauamt@example.org" not in page
    assert all("LoRaWAN" not in str(r.envelope) for r in await Revision.filter(entry_id=entry.id))
    r = await client.get(f"/publish/{content.project}/withdraw")  # once withdrawn, nothing to withdraw
    assert r.status_code == 400
    assert "Versionen vergleichen" in page  # the publisher's own people still compare versions
    client.cookies.clear()  # a reader who is not signed in sees only what a tombstone holds
    page = (await client.get(f"/entries/{content.project}")).text
    assert "<dt>Sprache</dt>" not in page and "<dt>Lizenz</dt>" not in page and "CC-BY" not in page
    assert "Versionen vergleichen" not in page and "<dt>Kennung des Eintrags</dt>" in page


async def test_a_stale_version_is_a_conflict_shown_on_the_page(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    r = await client.get(f"/publish/{content.project}/withdraw", params={"lang": "en"})
    form = {"csrf": csrf_of(r.text), "version": "1", "confirm": "yes"}
    edit = await client.get(f"/publish/{content.project}/edit")
    await client.post(f"/publish/{content.project}/edit", data={
        "csrf": csrf_of(edit.text), "version": "1", "title": "Neuer Titel", "summary": "Neu.", "action": "save"})
    r = await client.post(f"/publish/{content.project}/withdraw", data=form)
    assert r.status_code == 409 and "Someone changed this entry meanwhile" in r.text and 'value="2"' in r.text
    assert not (await Entry.get(uid=content.project)).deleted


async def test_nobody_withdraws_another_publishers_entry(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.other_token)
    assert (await client.get(f"/publish/{content.project}/withdraw")).status_code == 403
    csrf = csrf_of((await client.get("/publish")).text)
    r = await client.post(f"/publish/{content.project}/withdraw", data={"csrf": csrf, "version": "1", "confirm": "yes"})
    assert r.status_code == 403 and not (await Entry.get(uid=content.project)).deleted


async def test_withdrawing_needs_a_sign_in_and_the_forms_token(client: httpx.AsyncClient, content: Content) -> None:
    assert (await client.get(f"/publish/{content.project}/withdraw")).status_code == 401
    await sign_in(client, content.token)
    r = await client.post(f"/publish/{content.project}/withdraw", data={"version": "1", "confirm": "yes"})
    assert r.status_code == 403 and not (await Entry.get(uid=content.project)).deleted
