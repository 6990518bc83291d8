"""Sessions of the publish pages end on the server: sign-out, idling, lifetime, a revoked token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from exchange.app import build_node, create_app
from exchange.db import Database
from exchange.models import ApiToken, Entry, WebSession
from exchange.sessions import IDLE, LIFETIME, hash_session_id
from exchange.tokens import find_token, revoke
from exchange.web.forms import COOKIE, SessionCodec
from tests.helpers import settings_for, token_for
from tests.web.test_publish import csrf_of, sign_in
from tests.web.webkit import KISSELBACH, Content, page_client, populate

NEW_ENTRY = {"kind": "project", "title": "Gestohlene Sitzung", "summary": "Darf nicht erscheinen.",
             "language": "de", "visibility": "public", "status": "planned", "action": "save"}


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


async def test_a_cookie_copied_before_sign_out_is_refused_after_it(
    client: httpx.AsyncClient, content: Content, db: Database
) -> None:
    await sign_in(client, content.token)
    copied = client.cookies[COOKIE]
    csrf = csrf_of((await client.get("/publish/new")).text)  # what a thief of the cookie could also fetch
    r = await client.post("/publish/signout", data={"csrf": csrf_of((await client.get("/publish")).text)})
    assert r.status_code == 303
    async with page_client(content, db) as thief:
        thief.cookies.set(COOKIE, copied)
        assert 'type="password"' in (await thief.get("/publish")).text  # the sign-in form, not the entries
        assert (await thief.get("/publish/new")).status_code == 401
        r = await thief.post("/publish/new", data={**NEW_ENTRY, "csrf": csrf})
        assert r.status_code == 401
    assert await Entry.filter(title="Gestohlene Sitzung").count() == 0
    ended = await WebSession.get()
    assert ended.ended_at is not None and ended.end_reason == "signed out"


async def test_the_server_keeps_only_the_hash_of_the_session_id(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    sid = client_session_id(client)
    row = await WebSession.get()
    assert row.sid_hash == hash_session_id(sid) and sid not in row.sid_hash
    token = await ApiToken.get(id=row.token_id)
    assert row.expires_at - row.created_at == LIFETIME and token.last_used_at is not None


def client_session_id(client: httpx.AsyncClient) -> str:
    session = client_codec(client).loads(client.cookies[COOKIE])
    assert session is not None
    return session.sid


def client_codec(client: httpx.AsyncClient) -> SessionCodec:
    app = client._transport.app  # type: ignore[attr-defined]
    codec: SessionCodec = app.state.node.extra["web"].sessions
    return codec


async def test_signing_in_again_replaces_the_session(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    first = client.cookies[COOKIE]
    await sign_in(client, content.other_token)
    assert client.cookies[COOKIE] != first
    assert await WebSession.filter(ended_at=None).count() == 1  # the first one ended


@pytest.mark.parametrize("after, reason", [(IDLE + timedelta(minutes=1), "idle"),
                                           (LIFETIME + timedelta(minutes=1), "lifetime over")])
async def test_idle_and_old_sessions_end(
    client: httpx.AsyncClient, content: Content, after: timedelta, reason: str
) -> None:
    await sign_in(client, content.token)
    past = datetime.now(UTC) - after
    if reason == "idle":
        await WebSession.all().update(created_at=past, last_seen_at=past)
    else:  # busy all along, but signed in a working day ago
        await WebSession.all().update(created_at=past, expires_at=past + LIFETIME)
    assert 'type="password"' in (await client.get("/publish")).text
    row = await WebSession.get()
    assert row.ended_at is not None and row.end_reason == reason


async def test_revoking_the_token_ends_its_sessions_at_once(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    assert "Angemeldet als Kisselbach" in (await client.get("/publish")).text
    await revoke(await find_token(str((await WebSession.get()).token_id)), now=datetime.now(UTC))
    row = await WebSession.get()
    assert row.ended_at is not None and row.end_reason == "token ended"
    assert 'type="password"' in (await client.get("/publish")).text


@pytest.mark.parametrize("url, secure", [("http://node-a.test", False), ("https://node-a.test", True)])
async def test_session_cookie_flags(db: Database, tmp_path: Path, content: Content, url: str, secure: bool) -> None:
    node = build_node(settings_for(db, tmp_path, url), database=db)
    app = create_app(node.settings, node=node, migrate=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=url,
                                 headers={"Accept": "text/html"}) as c:
        r = await c.get("/publish")
        r = await c.post("/publish/signin", data={"csrf": csrf_of(r.text), "token": content.token})
        header = r.headers["set-cookie"].lower()
    assert r.status_code == 303
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header
    assert ("; secure" in header) is secure


@pytest.mark.parametrize("lang, revoked, expired, unknown", [
    ("de", "wurde widerrufen", "ist abgelaufen", "Dieser Knoten kennt es nicht"),
    ("en", "it has been revoked", "it has expired", "this node does not know it"),
])
async def test_sign_in_says_why_a_token_was_refused(
    client: httpx.AsyncClient, content: Content, lang: str, revoked: str, expired: str, unknown: str
) -> None:
    expiring = await token_for(KISSELBACH)
    await ApiToken.filter(token_hash=(await find_token(expiring[:12])).token_hash).update(
        expires_at=datetime.now(UTC) - timedelta(days=1))
    await revoke(await find_token(content.token[:12]), now=datetime.now(UTC))
    curator = await token_for(KISSELBACH, ("curate",))
    for token, words in ((content.token, revoked), (expiring, expired), ("exg_wrong", unknown),
                         (curator, "Veröffentlichen" if lang == "de" else "lacks the publish scope")):
        r = await client.get("/publish", params={"lang": lang})
        r = await client.post("/publish/signin", data={"csrf": csrf_of(r.text), "token": token})
        assert r.status_code == 401 and words in r.text, (token, words)
    assert await WebSession.all().count() == 0
