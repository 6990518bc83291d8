"""The DCAT-AP.de export of the demo catalogue, validated offline with the official shapes.

Shapes and vocabularies are the copies in tests/fixtures/dcat-ap-de (see its
SOURCES.md). The vocabularies are merged into the data graph (pyshacl's
`ont_graph` never finishes on them). One validation run uses the profile
"Spezifikation + Konventionen"; each result is attributed to the conventions
profile when its shape comes from dcat-ap-konventionen.ttl, else to the
specification. Results are excused only when they are the vocabulary checks
whose vocabularies are not available offline, identified by shape and vocabulary.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pyshacl
from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.namespace import RDF, SKOS
from rdflib.term import Node

from exchange.app import build_node
from exchange.db import Database
from exchange.demo import load_demo
from exchange.models import Entry, EntryTopic, Municipality, Topic
from exchange.opendata import dcat
from exchange.opendata.records import iter_public
from tests.helpers import settings_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dcat-ap-de"
SPEC_FILES = (
    "dcat-ap_2.1.1_shacl_shapes.ttl",
    "dcat-ap-spec-german-messages.ttl",
    "dcat-ap-spec-german-additions.ttl",
    "dcat-ap-de-deprecated.ttl",
)
CONVENTIONS_FILE = "dcat-ap-konventionen.ttl"
SH = Namespace("http://www.w3.org/ns/shacl#")
DE = Namespace("http://dcat-ap.de/def/dcatde/")
LANGUAGE = "http://publications.europa.eu/resource/authority/language"
AVAILABILITY = "http://publications.europa.eu/resource/authority/planned-availability"
HASH = "http://dcat-ap.de/def/hashAlgorithms"
LEVEL = "http://dcat-ap.de/def/politicalGeocoding/Level"

# (named shape, vocabulary its nested skos:inScheme check requires): the checks whose
# vocabulary SOURCES.md lists as not available offline. Nothing else is excused.
OFFLINE_VOCABULARY_CHECKS = {
    (DE.Dataset_dct_language_v_List, LANGUAGE),
    (DE.Catalog_dct_language_v_List, LANGUAGE),
    (DE.Distribution_dct_language_v_List, LANGUAGE),
    (DE.CatalogRecord_dct_language_v_List, LANGUAGE),
    (DE.Dataset_dcatap_availability_v_List, AVAILABILITY),
    (DE.Catalog_dcatap_availability_v_List, AVAILABILITY),
    (DE.DataService_dcatap_availability_v_List, AVAILABILITY),
    (DE.Distribution_dcatap_availability_v_List, AVAILABILITY),
    (DE.Checksum_spdx_algorithm_v_List, HASH),
    (DE.Dataset_dcatde_politicalGeocodingLevelURI_w_List, LEVEL),
}
# The key-list check is a named shape (sh:node with sh:or over six key lists).
OFFLINE_GEOCODING_SHAPE = DE.Dataset_dcatde_politicalGeocodingURI_w_List
GEOCODING_KEYS = "http://dcat-ap.de/def/politicalGeocoding/"


@lru_cache(maxsize=1)
def shapes() -> tuple[Graph, frozenset[Node]]:
    """The merged shapes graph and the shapes that belong to the conventions profile only."""
    graph = Graph()
    for name in SPEC_FILES:
        graph.parse(FIXTURES / "shapes" / name, format="turtle")
    conventions = Graph().parse(FIXTURES / "shapes" / CONVENTIONS_FILE, format="turtle")
    graph += conventions
    return graph, frozenset(conventions.subjects())


@lru_cache(maxsize=1)
def vocabularies() -> Graph:
    graph = Graph()
    for path in sorted((FIXTURES / "vocab").iterdir()):
        graph.parse(path, format="turtle" if path.suffix == ".ttl" else "xml")
    return graph


def _root(shape_graph: Graph, shape: Node) -> Node:
    """A named shape is itself; a nested (blank) one is named by its parent."""
    if not isinstance(shape, BNode):
        return shape
    parent = shape_graph.value(predicate=SH.property, object=shape)
    return parent if parent is not None else shape


def excused(shape_graph: Graph, result: dict[str, Node]) -> bool:
    """Whether a result is a check of a vocabulary that is not available offline."""
    shape, focus = result["shape"], str(result["focus"])
    if shape == OFFLINE_GEOCODING_SHAPE:
        return str(result.get("value", "")).startswith(GEOCODING_KEYS)
    if shape_graph.value(shape, SH.path) != SKOS.inScheme:
        return False
    vocabulary = str(shape_graph.value(shape, SH.hasValue))
    key = (_root(shape_graph, shape), vocabulary)
    return key in OFFLINE_VOCABULARY_CHECKS and focus.startswith(vocabulary + "/")


def validate(data: Graph) -> dict[str, Counter[tuple[str, str, str]]]:
    """Results per profile ("spec", "conventions", "excused"), counted by
    (severity, shape, path)."""
    shape_graph, convention_shapes = shapes()
    merged = Graph()
    merged += data
    merged += vocabularies()
    _, report, _ = pyshacl.validate(
        merged, shacl_graph=shape_graph, inference="none", do_owl_imports=False, allow_warnings=True
    )
    out: dict[str, Counter[tuple[str, str, str]]] = {
        "spec": Counter(),
        "conventions": Counter(),
        "excused": Counter(),
    }
    for top in report.subjects(RDF.type, SH.ValidationReport):
        for r in report.objects(top, SH.result):
            result = {
                "shape": report.value(r, SH.sourceShape),
                "focus": report.value(r, SH.focusNode),
                "value": report.value(r, SH.value),
            }
            root = _root(shape_graph, result["shape"])
            severity = str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1]
            key = (severity, str(root).rsplit("/", 1)[-1], str(report.value(r, SH.resultPath)))
            if excused(shape_graph, result):
                out["excused"][key] += 1
            elif root in convention_shapes:
                out["conventions"][key] += 1
            else:
                out["spec"][key] += 1
    return out


async def _received_entry() -> None:
    """One public entry that came from another node (its origin is node-b)."""
    muni = await Municipality.get(scheme="de-ars", official_key="010010000000")
    now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    entry = await Entry.create(
        uid=uuid.UUID("5b0c2d9e-6a77-4f53-9a64-0c1d8e2f3a10"),
        kind="lesson",
        origin_node="http://node-b.test",
        title="Erfahrungen mit offenen Haushaltsdaten",
        summary="Was Flensburg beim Veröffentlichen des Haushalts gelernt hat.",
        language="de",
        license="DL-DE-BY-2.0",
        municipality_id=muni.id,
        keywords=["Haushalt"],
        contact_role="Kämmerei",
        contact_email="kaemmerei@flensburg.example.org",
        created_at=now,
        updated_at=now,
    )
    await EntryTopic.create(entry=entry, topic=await Topic.get(slug="finanzen"))


async def test_demo_catalogue_validates_against_dcat_ap_de(db: Database, tmp_path: Path) -> None:
    node = build_node(settings_for(db, tmp_path), database=db)
    await load_demo(node.catalogue)
    await _received_entry()
    records = [r async for chunk in iter_public() for r in chunk]
    info = dcat.CatalogInfo(node.settings.node_url, node.settings.node_name)
    graph = dcat.build_catalog(info, records, dcat.PageInfo(1, 100, len(records)))
    datasets = set(graph.subjects(RDF.type, dcat.DCAT.Dataset))
    assert len(datasets) == len(records) > 40

    results = validate(graph)

    assert results["spec"] == Counter(), results["spec"]
    # What is excused is exactly the offline vocabularies, once per value that uses them.
    excused_shapes = {shape for _, shape, _ in results["excused"]}
    assert excused_shapes <= {
        "Dataset_dct_language_v_List",
        "Catalog_dct_language_v_List",
        "Dataset_dcatde_politicalGeocodingURI_w_List",
        "Dataset_dcatde_politicalGeocodingLevelURI_w_List",
    }
    # The conventions profile leaves only what docs/dcat-ap-de.md lists and explains.
    assert set(results["conventions"]) == {
        ("Violation", "Konv12_13_contributorID_v_List", str(dcat.DCATDE.contributorID)),
    }, results["conventions"]
    assert sum(results["conventions"].values()) == len(datasets)
    # The received entry sits in its origin's catalogue, not in ours.
    ours, theirs = URIRef("http://node-a.test/catalog"), URIRef("http://node-b.test/catalog")
    received = URIRef("http://node-b.test/entries/5b0c2d9e-6a77-4f53-9a64-0c1d8e2f3a10#dataset")
    assert (theirs, dcat.DCAT.dataset, received) in graph
    assert (ours, dcat.DCAT.dataset, received) not in graph
    assert (ours, dcat.DCTERMS.hasPart, theirs) in graph


def test_the_filter_excuses_only_offline_vocabularies() -> None:
    """A wrong theme and a wrong file type still count; an unknown language is excused."""
    g = dcat.new_graph()
    ds = URIRef("http://x.test/entries/1#dataset")
    g.add((ds, RDF.type, dcat.DCAT.Dataset))
    g.add((ds, dcat.DCTERMS.title, dcat.Literal("t")))
    g.add((ds, dcat.DCTERMS.description, dcat.Literal("d")))
    g.add(
        (
            ds,
            dcat.DCAT.theme,
            URIRef("http://publications.europa.eu/resource/authority/data-theme/NOPE"),
        )
    )
    g.add((ds, dcat.DCTERMS.language, URIRef(LANGUAGE + "/DEU")))
    g.add((ds, dcat.DCTERMS.accrualPeriodicity, URIRef(LANGUAGE + "/DEU")))

    results = validate(g)

    shapes_left = {shape for _, shape, _ in results["spec"]}
    assert "Dataset_dcat_theme_v_List" in shapes_left
    assert (
        "Dataset_dct_accrualPeriodicity_v_List" in shapes_left
    )  # a language IRI where it does not belong
    assert {shape for _, shape, _ in results["excused"]} == {"Dataset_dct_language_v_List"}
