"""The publish pages: sign-in with a token, CSRF, preview, publish, revise, conflicts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exchange.db import Database
from exchange.models import ApiToken
from tests.web.webkit import Content, page_client, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "the form carries a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str) -> None:
    r = await client.get("/publish")
    r = await client.post("/publish/signin", data={"csrf": csrf_of(r.text), "token": token})
    assert r.status_code == 303 and r.headers["location"] == "/publish"


async def test_sign_in_form_then_own_entries_including_drafts(client: httpx.AsyncClient, content: Content) -> None:
    r = await client.get("/publish")
    assert 'type="password"' in r.text and 'for="token"' in r.text
    await sign_in(client, content.token)
    r = await client.get("/publish")
    assert "Angemeldet als Kisselbach" in r.text
    assert "Geheimer Entwurf" in r.text and "LoRaWAN-Sensornetz im Dorf" in r.text
    assert (await client.get(f"/entries/{content.draft}")).status_code == 200  # the publisher sees its draft


async def test_a_wrong_token_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.get("/publish")
    r = await client.post("/publish/signin", data={"csrf": csrf_of(r.text), "token": "exg_wrong"})
    assert r.status_code == 401 and "nicht angenommen" in r.text and 'aria-invalid="true"' in r.text


async def test_a_revoked_token_signs_the_browser_out(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    await ApiToken.all().update(revoked=True)
    r = await client.get("/publish")
    assert 'type="password"' in r.text


@pytest.mark.parametrize("csrf", [None, "", "forged"])
async def test_posts_without_the_right_csrf_token_are_403(client: httpx.AsyncClient, content: Content, csrf: str | None) -> None:
    await client.get("/publish")  # a session exists
    data = {"token": content.token} if csrf is None else {"token": content.token, "csrf": csrf}
    r = await client.post("/publish/signin", data=data)
    assert r.status_code == 403 and "Nicht erlaubt" in r.text
    assert (await client.post("/publish/new", data={"title": "x"})).status_code in (401, 403)


async def test_a_csrf_token_of_another_session_is_refused(client: httpx.AsyncClient, content: Content, db: Database) -> None:
    foreign = csrf_of((await client.get("/publish")).text)
    async with page_client(content, db) as other:
        await other.get("/publish")
        r = await other.post("/publish/signin", data={"csrf": foreign, "token": content.token})
        assert r.status_code == 403


async def test_write_preview_publish_revise(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    r = await client.get("/publish/new")
    assert r.status_code == 200 and 'for="f-title"' in r.text
    csrf = csrf_of(r.text)
    form = {"csrf": csrf, "kind": "project", "title": "Digitaler Bauhof", "summary": "Aufträge per App.",
            "body_markdown": "## Ablauf\n\n<script>window.__xss=1</script>Text", "language": "de",
            "visibility": "public", "status": "running", "topics": ["digitalisierung"],
            "keywords": "Bauhof, App", "contact_role": "Bauhof", "license": "CC-BY-4.0"}
    r = await client.post("/publish/new", data={**form, "action": "preview"})
    assert r.status_code == 200 and "Vorschau (noch nicht gespeichert)" in r.text
    assert '<h2 id="body-ablauf">Ablauf</h2>' in r.text and "<script>window" not in r.text
    assert 'value="Digitaler Bauhof"' in r.text  # the form keeps what was typed
    r = await client.post("/publish/new", data={**form, "action": "save"})
    assert r.status_code == 303
    location = r.headers["location"]
    r = await client.get(location)
    assert "Gespeichert" in r.text and "Digitaler Bauhof" in r.text and "Bauhof, App" in r.text
    assert "Digitaler Bauhof" in (await client.get("/publish")).text
    assert "Digitaler Bauhof" in (await client.get("/search", params={"q": "Bauhof"})).text
    uid = location.split("/")[2].split("?")[0]
    r = await client.get(f"/publish/{uid}/edit")
    assert 'name="version" value="1"' in r.text
    edit = {**form, "csrf": csrf_of(r.text), "version": "1", "title": "Digitaler Bauhof 2", "action": "save"}
    r = await client.post(f"/publish/{uid}/edit", data=edit)
    assert r.status_code == 303
    assert "Version 2" in (await client.get(f"/entries/{uid}")).text
    r = await client.post(f"/publish/{uid}/edit", data={**edit, "title": "stale"})  # still says version 1
    assert r.status_code == 409 and "nicht gespeichert" in r.text and 'value="stale"' in r.text


async def test_invalid_input_is_shown_on_the_form(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    csrf = csrf_of((await client.get("/publish/new")).text)
    r = await client.post("/publish/new", data={"csrf": csrf, "kind": "project", "title": "", "summary": "",
                                                 "action": "save", "topics": ["no-such-topic"]})
    assert r.status_code == 400 and 'role="alert"' in r.text
    r = await client.post("/publish/new", data={"csrf": csrf, "kind": "poem", "title": "t", "summary": "s",
                                                 "action": "save"})
    assert r.status_code == 400


async def test_nobody_revises_another_publishers_entry(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.other_token)
    r = await client.get(f"/publish/{content.project}/edit")
    assert r.status_code == 403
    assert (await client.get("/publish/not-a-uuid/edit")).status_code == 404


async def test_the_publish_forms_need_a_sign_in(client: httpx.AsyncClient, content: Content) -> None:
    r = await client.get("/publish/new")
    assert r.status_code == 401 and "Bitte melden Sie sich an" in r.text


async def test_sign_out(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    csrf = csrf_of((await client.get("/publish")).text)
    r = await client.post("/publish/signout", data={"csrf": csrf})
    assert r.status_code == 303
    assert 'type="password"' in (await client.get("/publish")).text


async def test_session_cookie_is_httponly_and_holds_no_token(client: httpx.AsyncClient, content: Content) -> None:
    r = await client.get("/publish")
    r = await client.post("/publish/signin", data={"csrf": csrf_of(r.text), "token": content.token})
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert content.token not in cookie
