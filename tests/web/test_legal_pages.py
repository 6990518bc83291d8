"""The legal notice and the privacy statement: the operator's texts from the legal folder, in
the page's language (or the other one, said so), a clear note where none is written yet, what
the node stores about persons, and links to both from every page's footer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exchange.app import build_node, create_app
from exchange.db import Database
from tests.helpers import seed, settings_for


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    await seed(db)
    settings = settings_for(db, tmp_path).with_(legal_dir=str(tmp_path / "legal"))
    app = create_app(settings, node=build_node(settings, database=db), migrate=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node-a.test",
                                 headers={"Accept": "text/html"}) as c:
        yield c


async def test_without_texts_the_pages_say_so_and_the_privacy_facts_stand(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    r = await client.get("/impressum?lang=de")
    assert r.status_code == 200 and "<h1>Impressum</h1>" in r.text
    assert "hat noch kein Impressum veröffentlicht" in r.text and "impressum.de.md" in r.text
    r = await client.get("/datenschutz?lang=en")
    assert r.status_code == 200 and "<h1>Privacy</h1>" in r.text
    assert "has not yet written who is responsible" in r.text
    for fact in ("Sessions:", "The audit log:", "keeps no list of who subscribes", "Nothing of the above is ever federated"):
        assert fact in r.text
    assert str(tmp_path) not in r.text  # where the folder is stays with the operator


async def test_the_operators_text_in_the_pages_language_or_the_other_said_so(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    legal = tmp_path / "legal"
    legal.mkdir()
    (legal / "impressum.de.md").write_text("# Impressum\n\nLandkreis Beispiel, Amt 10\n\n<script>x()</script>",
                                           encoding="utf-8")
    (legal / "datenschutz.en.md").write_text("Controller: **Landkreis Beispiel**", encoding="utf-8")
    r = await client.get("/impressum?lang=de")
    assert "Landkreis Beispiel, Amt 10" in r.text and "noch kein Impressum" not in r.text
    assert "<script>x()" not in r.text  # rendered like entry texts: no raw HTML
    assert "nur auf Deutsch" not in r.text
    r = await client.get("/impressum?lang=en")
    assert "Landkreis Beispiel, Amt 10" in r.text and "in German only" in r.text and 'lang="de"' in r.text
    r = await client.get("/datenschutz?lang=de")
    assert "<strong>Landkreis Beispiel</strong>" in r.text and "nur auf Englisch" in r.text
    assert "Nichts davon wird je föderiert" in r.text
    (legal / "datenschutz.de.md").write_text("Verantwortlich: Landkreis Beispiel", encoding="utf-8")
    r = await client.get("/datenschutz?lang=de")  # an edit shows at once
    assert "Verantwortlich: Landkreis Beispiel" in r.text and "nur auf Englisch" not in r.text


@pytest.mark.parametrize("path", ["/", "/search", "/matching", "/impressum", "/nowhere"])
async def test_every_page_links_both_from_its_footer(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, params={"lang": "en"})
    footer = r.text.split('<footer class="site-footer">')[1]
    assert '<a href="/impressum">Legal notice</a>' in footer and '<a href="/datenschutz">Privacy</a>' in footer
