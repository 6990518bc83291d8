"""Every page speaks one language: an English page shows no German interface word and a
German page no English one.

The words come from the catalogues, not from a hand-written list: a German
interface word is a word of a German translation that no English message
uses, an English one a word of an English message that no German translation
uses. What the pages show of the data (titles, summaries, names of places
and publishers, topic labels, the node's URL) is taken out first: it is in the
language its author wrote it in.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from exchange.db import Database
from exchange.models import Entry, Municipality, Organisation, Topic
from exchange.placenames import display_name
from exchange.web.i18n import LOCALE_DIR
from tests.web.test_publish import sign_in
from tests.web.webkit import KISSELBACH, Content, page_client, populate

WORD = re.compile(r"[A-Za-zÄÖÜäöüß]{5,}")


def _words(texts: list[str]) -> set[str]:
    return {w.lower() for text in texts for w in WORD.findall(re.sub(r"%\(\w+\)s", " ", text))}


def interface_words() -> dict[str, set[str]]:
    """{page language: words of the other language that must not appear on it}."""
    with (LOCALE_DIR / "de" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="de")
    english, german = [], []
    for m in catalog:
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        english += list(ids)
        german += [s for s in strings if s]
    en, de = _words(english), _words(german)
    return {"en": de - en, "de": en - de}


class _Text(HTMLParser):
    """The text a reader sees, without parts marked as another language, scripts and styles."""

    def __init__(self, page_language: str) -> None:
        super().__init__()
        self.page_language = page_language
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("meta", "link", "input", "br", "img", "hr", "source"):
            values = dict(attrs)
            if tag == "input" and values.get("placeholder"):
                self.parts.append(values["placeholder"] or "")
            return
        lang = dict(attrs).get("lang")
        other = tag in ("script", "style", "code", "pre", "textarea") or (lang is not None and lang != self.page_language)
        self.stack.append((tag, other))
        for name in ("aria-label", "title", "alt"):
            value = dict(attrs).get(name)
            if value and not self.hidden:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    @property
    def hidden(self) -> bool:
        return any(other for _, other in self.stack)

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


async def data_strings() -> list[str]:
    """What the pages show of the data, longest first (so a name inside a title goes with it)."""
    texts: list[str] = []
    for e in await Entry.all():
        texts += [e.title, e.summary, e.contact_role, e.contact_email, e.funding_programme, e.audience, *e.keywords, *e.partners,
                  *e.checklist, *[str(g.get("goal", "")) for g in e.goals or []],
                  *[str(i.get(k, "")) for g in e.goals or [] for i in g.get("indicators", []) for k in ("name", "unit")]]
    for m in await Municipality.all():
        texts += [m.name, display_name(m.name), m.land_name, m.kreis_name, display_name(m.kreis_name),
                  m.verband_name, display_name(m.verband_name)]
    texts += [o.name for o in await Organisation.all()]
    texts += [t for topic in await Topic.all() for t in (topic.label_de, topic.label_en)]
    return sorted({t for t in texts if t and len(t) > 2}, key=len, reverse=True)


def foreign_words(html: str, language: str, data: list[str], forbidden: set[str]) -> set[str]:
    parser = _Text(language)
    parser.feed(html)
    text = " ".join(parser.parts)
    text = text.replace("&", "&")
    for value in data:
        text = text.replace(value, " ")
    return {w for w in WORD.findall(text) if w.lower() in forbidden}


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


def paths(content: Content) -> list[str]:
    return ["/", "/search?q=Sensor", "/search", f"/entries/{content.project}", f"/entries/{content.lesson}",
            f"/entries/{content.guide}", f"/entries/{content.project}/versions", f"/municipalities/{KISSELBACH}",
            "/municipalities?name=Kiss", "/topics/digitalisierung", "/matching", "/collections", "/signin",
            "/entries/00000000-0000-0000-0000-000000000000", "/publish", "/publish/new?kind=project",
            "/publish/new?kind=guide", "/publish/new?kind=lesson", f"/publish/{content.project}/withdraw",
            "/impressum", "/datenschutz", "/organisations", "/organisations/kompetenzzentrum", "/topics",
            "/topics?q=verk"]


@pytest.mark.parametrize("language", ["en", "de"])
async def test_no_page_shows_a_word_of_the_other_language(
    client: httpx.AsyncClient, content: Content, language: str
) -> None:
    forbidden = interface_words()[language]
    assert len(forbidden) > 100  # the catalogues know many words of each language
    await sign_in(client, content.token)
    data = await data_strings()
    found: dict[str, set[str]] = {}
    for path in paths(content):
        sep = "&" if "?" in path else "?"
        r = await client.get(f"{path}{sep}lang={language}")
        assert r.headers["content-language"] == language
        words = foreign_words(r.text, language, data, forbidden)
        if words:
            found[path] = words
    assert not found, found


def test_the_check_sees_a_foreign_word() -> None:
    forbidden = interface_words()["en"]
    html = '<html lang="en"><p>Published by <span>Kisselbach</span>: Veröffentlicht</p><p lang="de">Zusammenfassung</p></html>'
    assert foreign_words(html, "en", ["Kisselbach"], forbidden) == {"Veröffentlicht"}
