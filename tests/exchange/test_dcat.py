"""The pure DCAT-AP.de builder: mapping decisions, paging, negotiation, licences."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from exchange.errors import InvalidInputError
from exchange.opendata import dcat
from exchange.opendata.records import EntryRecord, PublisherRecord, TopicRecord

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GEMEINDE = PublisherRecord("municipality", "097800146146", "Wiggensbach, M", "gemeinde", "20251130")
KREIS = PublisherRecord("municipality", "07233", "Vulkaneifel", "kreis", "20251130")
ORG = PublisherRecord(
    "organisation", "kompetenzzentrum", "Kompetenzzentrum", website="https://k.example.org/"
)
BAU = TopicRecord(
    "bau", "Bau", "Construction", "REGI", "https://musterdatenkatalog.de/def/musterdatensatz/bau"
)
SONST = TopicRecord("sonstiges", "Sonstiges", "Miscellaneous", "", "")


def record(n: int = 1, **changes: object) -> EntryRecord:
    base = EntryRecord(
        id=n,
        uid=f"00000000-0000-4000-8000-{n:012d}",
        kind="project",
        origin="http://a.test",
        version=1,
        title=f"Eintrag {n}",
        summary="Kurz.",
        language="de",
        license="CC-BY-4.0",
        keywords=("OZG",),
        topics=(BAU, SONST),
        publisher=GEMEINDE,
        contact_role="Bauamt",
        contact_email="bauamt@example.org",
        status="running",
        period_start="2024-03",
        period_end="2025-12-31",
        created_at=T0,
        updated_at=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


INFO = dcat.CatalogInfo("http://a.test", "Knoten A")


def test_an_entry_becomes_a_dataset_with_two_distributions() -> None:
    g = dcat.build_catalog(INFO, [record()])
    ds = URIRef("http://a.test/entries/00000000-0000-4000-8000-000000000001#dataset")
    assert (URIRef("http://a.test/catalog"), DCAT.dataset, ds) in g
    assert set(g.objects(ds, DCAT.theme)) == {
        URIRef(dcat.EU_THEME + "/REGI")
    }  # "sonstiges" has none
    assert Literal("Projektbeschreibung", lang="de") in set(g.objects(ds, DCAT.keyword))
    assert g.value(ds, DCTERMS.language) == URIRef(dcat.EU_LANGUAGE + "DEU")
    assert g.value(ds, DCAT.landingPage) == URIRef(
        "http://a.test/entries/00000000-0000-4000-8000-000000000001"
    )
    formats = {g.value(d, DCTERMS.format) for d in g.objects(ds, DCAT.distribution)}
    assert formats == {URIRef(dcat.EU_FILE_TYPE + "TXT"), URIRef(dcat.EU_FILE_TYPE + "HTML")}
    for dist in g.objects(ds, DCAT.distribution):
        assert g.value(dist, DCTERMS.license) == URIRef("http://dcat-ap.de/def/licenses/cc-by/4.0")
        assert str(g.value(dist, DCAT.downloadURL)).endswith((".md", ".html"))
    period = g.value(ds, DCTERMS.temporal)
    assert str(g.value(period, DCAT.startDate)) == "2024-03"


@pytest.mark.parametrize(
    ("publisher", "uri", "level"),
    [
        (GEMEINDE, "regionalKey/097800146146", "Level/municipality"),
        (KREIS, "districtKey/07233", "Level/administrativeDistrict"),
        (ORG, None, None),
    ],
)
def test_political_geocoding_of_the_publisher(
    publisher: PublisherRecord, uri: str | None, level: str | None
) -> None:
    g = dcat.build_catalog(INFO, [record(publisher=publisher)])
    ds = next(g.subjects(RDF.type, DCAT.Dataset))
    agent = g.value(ds, DCTERMS.publisher)
    assert g.value(agent, DCTERMS.identifier) == Literal(publisher.key)
    assert (agent, RDF.type, FOAF.Organization) in g
    geo = g.value(ds, dcat.DCATDE.politicalGeocodingURI)
    assert (str(geo) if geo else None) == (dcat.GEOCODING + uri if uri else None)
    lvl = g.value(ds, dcat.DCATDE.politicalGeocodingLevelURI)
    assert (str(lvl) if lvl else None) == (dcat.GEOCODING + level if level else None)
    rights = g.value(URIRef("http://a.test/catalog"), DCTERMS.rights)
    assert (rights is not None and "Destatis" in str(rights)) == publisher.from_register


def test_received_entries_belong_to_their_origin_catalogue() -> None:
    g = dcat.build_catalog(INFO, [record(1), record(2, origin="http://b.test/")])
    ours, theirs = URIRef("http://a.test/catalog"), URIRef("http://b.test/catalog")
    received = URIRef("http://b.test/entries/00000000-0000-4000-8000-000000000002#dataset")
    assert (theirs, DCAT.dataset, received) in g and (ours, DCAT.dataset, received) not in g
    assert (ours, DCTERMS.hasPart, theirs) in g
    assert g.value(theirs, DCTERMS.publisher) == URIRef("http://b.test/#publisher")


def test_contact_point_is_the_role_address_only() -> None:
    g = dcat.build_catalog(INFO, [record(contact_email="")])
    ds = next(g.subjects(RDF.type, DCAT.Dataset))
    assert g.value(ds, DCAT.contactPoint) is None  # a role without an address is no contact point
    g = dcat.build_catalog(INFO, [record()])
    card = g.value(next(g.subjects(RDF.type, DCAT.Dataset)), DCAT.contactPoint)
    assert {p for p, _ in g.predicate_objects(card)} == {
        RDF.type,
        dcat.VCARD.fn,
        dcat.VCARD.hasEmail,
    }


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (1, {"first": 1, "last": 3, "next": 2}),
        (2, {"first": 1, "last": 3, "next": 3, "previous": 1}),
        (3, {"first": 1, "last": 3, "previous": 2}),
    ],
)
def test_hydra_paging(page: int, expected: dict[str, int]) -> None:
    g = dcat.build_catalog(INFO, [], dcat.PageInfo(page, 10, 25))
    view = dcat.page_uri("http://a.test", page)
    links = {
        str(p).rsplit("#", 1)[1]: int(str(o).rsplit("=", 1)[1])
        for p, o in g.predicate_objects(view)
        if isinstance(o, URIRef) and "page=" in str(o)
    }
    assert links == expected
    assert (view, RDF.type, dcat.HYDRA.PagedCollection) in g  # what ckanext-dcat follows


@pytest.mark.parametrize(
    ("accept", "param", "key"),
    [
        (None, None, "turtle"),
        ("application/rdf+xml", None, "rdfxml"),
        ("application/ld+json;q=0.5, text/turtle;q=0.8", None, "turtle"),
        ("text/turtle;q=0, application/ld+json", None, "jsonld"),
        ("text/html", None, "turtle"),
        ("text/turtle", "jsonld", "jsonld"),
        (None, "ttl", "turtle"),
        (None, "RDF", "rdfxml"),
    ],
)
def test_negotiate(accept: str | None, param: str | None, key: str) -> None:
    assert dcat.negotiate(accept, param) == key


def test_unknown_format_parameter() -> None:
    with pytest.raises(InvalidInputError):
        dcat.negotiate(None, "pdf")


@pytest.mark.parametrize(
    ("spdx", "uri", "by"),
    [
        ("CC-BY-4.0", "cc-by/4.0", True),
        ("cc-by-4.0", "cc-by/4.0", True),
        ("dl-de-by-2.0", "dl-by-de/2.0", True),
        ("DL-DE-ZERO-2.0", "dl-zero-de/2.0", False),
        ("CC0-1.0", "cc-zero", False),
        ("LicenseRef-own", "other-open", True),
    ],
)
def test_licence_table(spdx: str, uri: str, by: bool) -> None:
    assert dcat.licence_of(spdx)[:2] == (dcat.LICENCE_BASE + uri, by)


def test_contributor_id_when_the_node_has_one() -> None:
    ds = URIRef("http://a.test/entries/00000000-0000-4000-8000-000000000001#dataset")
    assert dcat.build_catalog(INFO, [record()]).value(ds, dcat.DCATDE.contributorID) is None
    info = replace(INFO, contributor_id="http://dcat-ap.de/def/contributors/exampleKommune")
    g = dcat.build_catalog(info, [record()])
    assert g.value(ds, dcat.DCATDE.contributorID) == URIRef(info.contributor_id)
