"""Ticking a guide's checklist in the browser: a municipality's progress, kept on its node."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.models import ChecklistProgress, Revision
from tests.web.test_publish import sign_in
from tests.web.webkit import Content, page_client, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    content = await populate(db, tmp_path)
    org = Actor(publisher=await find_publisher("kompetenzzentrum"), scopes=frozenset({"publish"}))
    await content.node.catalogue.revise(org, content.guide, 1, EntryInput(
        checklist=["Ziele klären", "Gateways zählen", "Förderung beantragen"]))
    return content


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


def csrf_in(html: str) -> str:
    found = re.search(r'action="/entries/[^"]+/checklist"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"', html)
    assert found, "the checklist form is shown"
    return found.group(1)


async def test_a_municipality_ticks_items_and_sees_its_progress(client: httpx.AsyncClient, content: Content) -> None:
    assert 'name="done"' not in (await client.get(f"/entries/{content.guide}")).text  # anonymous: a plain list
    await sign_in(client, content.token)
    html = (await client.get(f"/entries/{content.guide}")).text
    assert "0 von 3 erledigt" in html
    r = await client.post(f"/entries/{content.guide}/checklist", data={"csrf": csrf_in(html), "done": ["0", "2"]})
    assert r.status_code == 303
    html = (await client.get(r.headers["location"])).text
    assert "2 von 3 erledigt" in html and "gespeichert" in html
    assert 'value="0" checked' in html and 'value="1">' in html and 'value="2" checked' in html
    r = await client.post(f"/entries/{content.guide}/checklist", data={"csrf": csrf_in(html), "done": ["1"]})
    assert "1 von 3 erledigt" in (await client.get(r.headers["location"])).text
    assert await ChecklistProgress.filter(done=True).count() == 1
    # local to the node: nothing of it in any signed version
    assert all("done" not in str(rev.envelope) for rev in await Revision.all())


async def test_ticking_needs_a_municipality_and_the_forms_token(client: httpx.AsyncClient, content: Content) -> None:
    r = await client.post(f"/entries/{content.guide}/checklist", data={"done": ["0"]})
    assert r.status_code in (401, 403)
    await sign_in(client, content.token)
    r = await client.post(f"/entries/{content.guide}/checklist", data={"csrf": "forged", "done": ["0"]})
    assert r.status_code == 403 and await ChecklistProgress.all().count() == 0
