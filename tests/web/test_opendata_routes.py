"""The open-data routes of a node, through its in-process client."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import feedparser
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF

from exchange.auth import Actor, find_publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from exchange.models import Entry
from exchange.opendata.exports import COLUMN_NAMES
from federation.identity import NodeKey
from tests.helpers import MUNICIPALITIES, client_for, seed

URL = "http://node-a.test"
WIGGENSBACH = str(MUNICIPALITIES[1]["official_key"])


async def _publish(db: Database, tmp_path: Path, **values: object) -> Entry:
    key = NodeKey.load_or_create(tmp_path / "node.key", URL)
    catalogue = Catalogue(signer=key)
    publisher = await find_publisher(str(values.pop("publisher", WIGGENSBACH)))
    actor = Actor(publisher=publisher, scopes=frozenset({"publish"}))
    data = {
        "kind": "project",
        "title": "Digitale Bauakte",
        "summary": "Bauanträge online.",
        "body_markdown": "# Bauakte\n\nAlles **online**.",
        "topics": ["bau", "digitalisierung"],
        "keywords": ["Bauantrag"],
        "contact_role": "Bauamt",
        "contact_email": "bauamt@example.org",
    }
    data.update(values)
    return await catalogue.publish(actor, EntryInput(**data))  # type: ignore[arg-type]


@pytest.fixture
async def node(db: Database, tmp_path: Path) -> list[Entry]:
    await seed(db)
    return [
        await _publish(db, tmp_path),
        await _publish(
            db,
            tmp_path,
            title="Dorf-WLAN",
            topics=["digitalisierung"],
            language="en",
            summary="Free WiFi in the village.",
            publisher="kompetenzzentrum",
        ),
        await _publish(db, tmp_path, title="Nur im Netz", visibility="network"),
    ]


# rdflib's JSON-LD *parser* (used here to check the answer, not by the node) warns about itself.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    ("accept", "query", "media", "fmt"),
    [
        ("text/turtle", "", "text/turtle", "turtle"),
        ("application/rdf+xml", "", "application/rdf+xml", "xml"),
        ("application/ld+json", "", "application/ld+json", "json-ld"),
        ("text/html,application/ld+json;q=0.9", "", "application/ld+json", "json-ld"),
        ("application/ld+json", "?format=turtle", "text/turtle", "turtle"),
        ("", "?format=rdfxml", "application/rdf+xml", "xml"),
        ("*/*", "", "text/turtle", "turtle"),
    ],
)
async def test_catalog_negotiates_the_format(
    node: list[Entry], db: Database, tmp_path: Path, accept: str, query: str, media: str, fmt: str
) -> None:
    async with client_for(db, tmp_path, URL) as client:
        response = await client.get(
            "/catalog" + query, headers={"accept": accept} if accept else {}
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    graph = Graph().parse(data=response.content, format=fmt)
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == 2  # the network-only entry is not open data
    assert URIRef(f"{URL}/entries/{node[0].uid}#dataset") in datasets


async def test_catalog_pages_with_hydra(
    node: list[Entry], db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("exchange.web.opendata.CATALOG_PAGE", 1)
    async with client_for(db, tmp_path, URL) as client:
        first = await client.get("/catalog?page=1&format=turtle")
        second = await client.get("/catalog?page=2&format=turtle")
        beyond = await client.get("/catalog?page=3")
        bad = await client.get("/catalog?page=zero")
    hydra = "http://www.w3.org/ns/hydra/core#"
    g1 = Graph().parse(data=first.content, format="turtle")
    view = URIRef(f"{URL}/catalog?page=1")
    assert g1.value(view, URIRef(hydra + "next")) == URIRef(f"{URL}/catalog?page=2")
    assert g1.value(view, URIRef(hydra + "last")) == URIRef(f"{URL}/catalog?page=2")
    assert int(g1.value(view, URIRef(hydra + "totalItems"))) == 2
    g2 = Graph().parse(data=second.content, format="turtle")
    assert g2.value(URIRef(f"{URL}/catalog?page=2"), URIRef(hydra + "next")) is None
    assert (
        len(set(g1.subjects(RDF.type, DCAT.Dataset)) | set(g2.subjects(RDF.type, DCAT.Dataset)))
        == 2
    )
    assert beyond.status_code == 404 and beyond.json()["error"]["code"] == "NOT_FOUND"
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BAD_USER_INPUT"


async def test_unknown_format_is_bad_input(node: list[Entry], db: Database, tmp_path: Path) -> None:
    async with client_for(db, tmp_path, URL) as client:
        response = await client.get("/catalog?format=pdf")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_USER_INPUT"


async def test_exports_stream_public_entries(
    node: list[Entry], db: Database, tmp_path: Path
) -> None:
    async with client_for(db, tmp_path, URL) as client:
        as_csv = await client.get("/catalog.csv")
        as_jsonl = await client.get("/catalog.jsonl")
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert tuple(rows[0]) == COLUMN_NAMES
    assert [r["title"] for r in rows] == ["Digitale Bauakte", "Dorf-WLAN"]
    assert rows[0]["topics"] == "bau; digitalisierung"
    assert "Destatis" in rows[0]["attribution"] and rows[1]["attribution"] == ""
    lines = [json.loads(line) for line in as_jsonl.text.splitlines()]
    assert [line["id"] for line in lines] == [str(node[0].uid), str(node[1].uid)]
    assert lines[0]["body_markdown"].startswith("# Bauakte")
    assert lines[0]["license_url"] == "http://dcat-ap.de/def/licenses/cc-by/4.0"


async def test_feeds_parse_without_errors(node: list[Entry], db: Database, tmp_path: Path) -> None:
    async with client_for(db, tmp_path, URL) as client:
        everything = await client.get("/feeds/all.atom")
        topic = await client.get("/feeds/topics/bau.atom")
        publisher = await client.get(f"/feeds/publishers/{WIGGENSBACH}.atom")
        organisation = await client.get("/feeds/publishers/kompetenzzentrum.atom")
        unknown = await client.get("/feeds/topics/nope.atom")
        bad_key = await client.get("/feeds/publishers/123.atom")
    for response, titles in (
        (everything, {"Digitale Bauakte", "Dorf-WLAN"}),
        (topic, {"Digitale Bauakte"}),
        (publisher, {"Digitale Bauakte"}),
        (organisation, {"Dorf-WLAN"}),
    ):
        assert response.headers["content-type"].startswith("application/atom+xml")
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == "atom10"
        assert {e.title for e in parsed.entries} == titles
    assert unknown.status_code == 404
    assert bad_key.status_code == 400


async def test_entry_files(node: list[Entry], db: Database, tmp_path: Path) -> None:
    uid = node[0].uid
    async with client_for(db, tmp_path, URL) as client:
        md = await client.get(f"/entries/{uid}.md")
        page = await client.get(f"/entries/{uid}.html")
        hidden = await client.get(f"/entries/{node[2].uid}.md")
        garbage = await client.get("/entries/not-an-id.md")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert (
        md.text.startswith("---\n") and "# Bauakte" in md.text and "license: CC-BY-4.0" in md.text
    )
    assert page.status_code == 200 and "<strong>online</strong>" in page.text
    assert 'rel="license"' in page.text and "Destatis" in page.text
    assert hidden.status_code == 404
    assert garbage.status_code == 400


async def test_withdrawn_entry_is_gone(node: list[Entry], db: Database, tmp_path: Path) -> None:
    key = NodeKey.load_or_create(tmp_path / "node.key", URL)
    actor = Actor(publisher=await find_publisher(WIGGENSBACH), scopes=frozenset({"publish"}))
    await Catalogue(signer=key).unpublish(actor, str(node[0].uid))
    async with client_for(db, tmp_path, URL) as client:
        md = await client.get(f"/entries/{node[0].uid}.md")
        listed = await client.get("/catalog.jsonl")
    assert md.status_code == 410
    assert str(node[0].uid) not in listed.text
