"""The web pages on the read paths: odd characters refused in the form, revisions
shown only as far as the reader may see them, withdrawn entries gone."""

from __future__ import annotations

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


async def test_the_form_refuses_a_nul_byte_naming_the_field(client: httpx.AsyncClient, content: Content) -> None:
    await sign_in(client, content.token)
    csrf = csrf_of((await client.get("/publish/new")).text)
    before = await Entry.all().count()
    r = await client.post("/publish/new", data={
        "csrf": csrf, "kind": "project", "title": "Bau\x00hof", "summary": "Kurz.", "language": "de",
        "visibility": "public", "action": "save"})
    assert r.status_code == 400 and 'role="alert"' in r.text
    assert "title contains U+0000 (NUL)" in r.text
    assert await Entry.all().count() == before
