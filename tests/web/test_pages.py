"""Every page through the in-process client: content, languages, 404 and 400, never a 500."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exchange.db import Database
from tests.web.webkit import KISSELBACH, KISSELBACH_AGS, Content, page_client, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


def _check_html(r: httpx.Response) -> str:
    assert r.headers["content-type"].startswith("text/html")
    assert len(r.content) < 100_000
    html = r.text
    assert html.count("<h1") == 1, "exactly one h1 per page"
    assert 'href="#main"' in html and 'id="main"' in html
    return html


async def test_start_page_in_german(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    html = _check_html(r)
    assert '<html lang="de">' in html
    assert "Katalog durchsuchen" in html and "Partner für meine Kommune finden" in html
    assert "LoRaWAN-Sensornetz im Dorf" in html
    assert "Geheimer Entwurf" not in html  # drafts stay with their publisher
    assert 'href="/topics/digitalisierung"' in html


async def test_language_switch_sets_a_cookie_and_accept_language_is_followed(client: httpx.AsyncClient) -> None:
    r = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in r.text and "Search the catalogue" in r.text
    r = await client.get("/?lang=en")
    assert r.cookies.get("lang") == "en" and '<html lang="en">' in r.text
    r = await client.get("/search")  # the cookie now wins over Accept-Language: de
    assert '<html lang="en">' in r.text
    r = await client.get("/search?lang=de")
    assert '<html lang="de">' in r.text


async def test_search_with_text_facets_and_counts(client: httpx.AsyncClient) -> None:
    r = await client.get("/search", params={"q": "sensoren"})
    html = _check_html(r)
    assert r.status_code == 200
    assert "LoRaWAN-Sensornetz im Dorf" in html and "Sensoren für Zisternen" in html
    assert "Checkliste Open Data" not in html
    r = await client.get("/search", params=[("kind", "project"), ("status", "running")])
    html = r.text
    assert "Sensoren für Zisternen" in html and "LoRaWAN-Sensornetz im Dorf" not in html
    assert "1 Eintrag gefunden" in html
    # the status facet still offers the other statuses with their counts
    for status, n in (("completed", "1"), ("planned", "1"), ("stopped", "0")):
        assert re.search(rf'f-status-{status}".*?\((\d+)\)', html, re.DOTALL).group(1) == n  # type: ignore[union-attr]
    r = await client.get("/search", params={"land": "Bayern"})
    assert "Sensoren für Zisternen" in r.text and "LoRaWAN-Sensornetz im Dorf" not in r.text
    r = await client.get("/search", params={"size": "Landgemeinde", "order": "title"})
    assert "Hostile entry" in r.text and "Sensoren für Zisternen" not in r.text


async def test_search_pages_with_cursors(client: httpx.AsyncClient) -> None:
    r = await client.get("/search", params={"first": "2"})
    next_link = re.search(r'href="([^"]*after=[^"]*)" rel="next"', r.text)
    assert next_link is not None
    first_titles = re.findall(r'class="card-title"><a href="(/entries/[^"]+)"', r.text)
    r2 = await client.get(next_link.group(1).replace("&amp;", "&"))
    assert r2.status_code == 200
    second_titles = re.findall(r'class="card-title"><a href="(/entries/[^"]+)"', r2.text)
    assert len(first_titles) == 2 and second_titles and not set(first_titles) & set(second_titles)


async def test_entry_page_shows_everything(client: httpx.AsyncClient, content: Content) -> None:
    r = await client.get(f"/entries/{content.project}")
    html = _check_html(r)
    assert "<h2 id=\"body-aufbau\">Aufbau</h2>" in html
    assert f'href="/municipalities/{KISSELBACH}"' in html  # publisher
    assert "Bauamt" in html and "mailto:bauamt@example.org" in html  # role contact
    assert 'class="chart"' in html and "46 Anzahl" in html and "24 Anzahl" in html  # chart + numbers as text
    assert "<th scope=\"col\">Ausgangswert</th>" in html
    assert "Was wir über Sensoren gelernt haben" in html  # linked lesson
    assert "Version 1" in html and "http://node-a.test" in html and "CC-BY-4.0" in html
    assert "Ähnliche Einträge" in html and "Sensoren für Zisternen" in html
    r = await client.get(f"/entries/{content.lesson}")
    assert "Das Projekt zu diesem Erfahrungsbericht" in r.text and "Die Gateways." in r.text


async def test_hostile_markdown_is_rendered_without_script(client: httpx.AsyncClient, content: Content) -> None:
    html = (await client.get(f"/entries/{content.hostile}")).text
    body = html.split('class="markdown"', 1)[1].split("</section>", 1)[0]
    assert "Harmless text." in body
    tags = re.findall(r"<[a-zA-Z][^<>]*>", body)
    assert tags, "the body has markup"
    for tag in tags:
        assert not re.search(r"\son\w+\s*=", tag, re.IGNORECASE), tag
        assert "javascript:" not in tag.lower() and not tag.lower().startswith(("<script", "<iframe", "<svg"))
    assert "&lt;script&gt;" in body or "<script" not in body  # shown as text at most
    assert "script-src 'self'" in (await client.get(f"/entries/{content.hostile}")).headers["content-security-policy"]


async def test_municipality_page_with_register_facts_peers_and_map(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/municipalities/{KISSELBACH}")
    html = _check_html(r)
    assert "Kisselbach" in html and "Rhein-Hunsrück-Kreis" in html and "602" in html
    assert "Statistisches Bundesamt (Destatis)" in html and "dl-de/by-2-0" in html
    assert '<svg class="map"' in html and 'class="map-self"' in html
    assert "Wiggensbach" in html and 'class="map-peer"' in html  # a peer, on the map and in the list
    assert "LoRaWAN-Sensornetz im Dorf" in html
    # an organisation with a guide on the same topic, in its own list, linked to its entries
    organisations = html.split('id="org-peers-heading"')[1].split("</section>")[0]
    assert "Organisationen, die an Ähnlichem arbeiten" in organisations
    assert 'href="/organisations/kompetenzzentrum"' in organisations and "Checkliste Open Data" in organisations
    assert "eine Organisation: Größe, Siedlungsdichte, Land und Entfernung werden nicht verglichen" in organisations
    # the 8-digit AGS finds it too
    assert (await client.get(f"/municipalities/{KISSELBACH_AGS}")).status_code == 200


async def test_municipality_page_tries_other_weights_without_changing_the_node(client: httpx.AsyncClient) -> None:
    html = _check_html(await client.get(f"/municipalities/{KISSELBACH}"))
    assert "Andere Gewichte ausprobieren" in html and 'name="topics"' in html and "dieser Anfrage" not in html
    html = _check_html(await client.get(f"/municipalities/{KISSELBACH}",
                                        params={"topics": "1", "experience": "0", "structure": "0"}))
    assert "Partner mit den Gewichten dieser Anfrage: Themen 1, Erfahrung 0, Struktur 0." in html
    assert 'value="1.0"' in html and "Wiggensbach" in html
    for bad in ({"topics": "0.1", "structure": "5"}, {"topics": "viel"}, {"structure": "-2"}):
        r = await client.get(f"/municipalities/{KISSELBACH}", params=bad)
        assert r.status_code == 200 and "Diese Gewichte sind nicht erlaubt" in r.text and "Wiggensbach" in r.text
    assert "Andere Gewichte ausprobieren" in _check_html(await client.get(f"/municipalities/{KISSELBACH}"))


async def test_find_peers_by_name(client: httpx.AsyncClient) -> None:
    r = await client.get("/municipalities", params={"name": "kissel"})
    assert f'href="/municipalities/{KISSELBACH}"' in r.text
    r = await client.get("/municipalities", params={"name": "Kisselbach", "go": "1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/municipalities/{KISSELBACH}"
    r = await client.get("/municipalities", params={"name": "Atlantis"})
    assert r.status_code == 200 and "0 Kommunen gefunden" in r.text


async def test_topic_page_links_its_feed(client: httpx.AsyncClient) -> None:
    r = await client.get("/topics/digitalisierung")
    html = _check_html(r)
    assert 'href="/feeds/topics/digitalisierung.atom"' in html and "application/atom+xml" in html
    assert "Sensoren für Zisternen" in html


async def test_the_topic_tree_with_its_filter_box(client: httpx.AsyncClient) -> None:
    from exchange.models import Topic

    html = _check_html(await client.get("/topics"))
    assert 'href="/topics/digitalisierung"' in html and 'href="/topics/bildung"' in html
    assert 'href="/topics/eu-educ"' not in html  # the EU themes are derived, not a second list
    assert re.search(r'href="/topics/digitalisierung">Digitalisierung</a> <span class="muted">5 Einträge', html)
    # a narrower topic: the filter keeps it with its parent, the pages link both ways
    parent = await Topic.get(slug="digitalisierung")
    await Topic.filter(slug="verkehr").update(parent_id=parent.id)
    html = _check_html(await client.get("/topics", params={"q": "VERK"}))
    tree = html.split('id="tree-heading"')[1]
    assert 'href="/topics/digitalisierung"' in tree and 'href="/topics/verkehr"' in tree
    assert tree.index("/topics/digitalisierung") < tree.index('<ul class="topic-tree"><li data-labels="verkehr')
    assert 'href="/topics/bildung"' not in tree
    html = _check_html(await client.get("/topics", params={"q": "transp", "lang": "en"}))  # English labels too
    assert 'href="/topics/verkehr">Transport</a>' in html and 'href="/topics/bildung"' not in html
    html = _check_html(await client.get("/topics", params={"q": "Atlantis", "lang": "de"}))
    assert "Kein Thema enthält „Atlantis“." in html
    html = _check_html(await client.get("/topics/verkehr"))
    assert 'href="/topics/digitalisierung">Digitalisierung</a>' in html.split("<h1")[1]
    html = _check_html(await client.get("/topics/digitalisierung"))
    assert "Engere Themen:" in html and 'href="/topics/verkehr"' in html
    r = await client.get("/topics", params={"q": "x" * 81})
    assert r.status_code == 400


async def test_matching_page_discloses_weights(client: httpx.AsyncClient) -> None:
    r = await client.get("/matching")
    html = _check_html(r)
    assert "Gewichte auf diesem Knoten" in html and "Datenquellen" in html
    assert "50 %" in html and "20 %" in html and "30 %" in html
    # the rules in plain words, organisations included, and who publishes on this node
    assert "Relevanz zuerst" in html and "Organisationen als Partner" in html
    assert "„Daten“, „Informationen“ oder „Ministerium“" in html
    assert "3 Veröffentlichende, davon 1 Organisationen" in html
    english = _check_html(await client.get("/matching", headers={"Accept-Language": "en"}))
    assert "Relevance first" in english and "Organisations as peers" in english
    assert "3 publishers, 1 of them organisations" in english


async def test_static_files_are_served(client: httpx.AsyncClient) -> None:
    for path in ("/static/site.css", "/static/print.css", "/static/enhance.js"):
        assert (await client.get(path)).status_code == 200


@pytest.mark.parametrize("path", [
    "/entries/00000000-0000-0000-0000-000000000000",
    "/entries/not-a-uuid",
    "/municipalities/999999999999",
    "/municipalities/abc",
    "/topics/no-such-topic",
    "/no/such/page",
])
async def test_unknown_things_are_404_pages(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert "Nicht gefunden" in r.text and "<h1" in r.text


@pytest.mark.parametrize("query", [
    {"first": "abc"}, {"first": "0"}, {"first": "101"}, {"order": "sideways"}, {"kind": "poem"},
    {"status": "dreaming"}, {"language": "fr"}, {"size": "Megacity"}, {"land": "Atlantis"},
    {"after": "garbage"}, {"q": "x" * 201}, {"publisher": "nobody-known"},
])
async def test_bad_search_parameters_are_400_pages(client: httpx.AsyncClient, query: dict[str, str]) -> None:
    r = await client.get("/search", params=query)
    assert r.status_code == 400
    assert "Anfrage nicht möglich" in r.text


async def test_a_cursor_of_another_ordering_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.get("/search", params={"first": "1", "order": "title"})
    cursor = re.search(r"after=([^\"&]+)", r.text).group(1)  # type: ignore[union-attr]
    assert (await client.get(f"/search?first=1&order=newest&after={cursor}")).status_code == 400
    assert (await client.get(f"/topics/digitalisierung?after={cursor}")).status_code == 400


@pytest.mark.parametrize("path", [
    "/search?q=%22%27%3C%3E%28%29NEAR*%5E:", "/search?q=%00", "/search?land=1", "/search?q=AND+OR+NOT",
    "/municipalities?name=%25%27%22", "/search?kind=&status=", "/entries/%00", "/topics/%2e%2e",
])
async def test_hostile_parameters_never_give_a_500(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code in (200, 400, 404)


async def test_unknown_paths_answer_json_to_api_clients(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/page", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"


async def test_drafts_are_hidden_from_anonymous_readers(client: httpx.AsyncClient, content: Content) -> None:
    assert (await client.get(f"/entries/{content.draft}")).status_code == 404
