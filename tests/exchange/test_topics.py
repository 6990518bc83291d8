"""The topic vocabulary: the shipped table and its idempotent import."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from exchange.db import Database
from exchange.errors import InvalidInputError
from exchange.models import Topic
from exchange.topics import EU_THEMES, TopicRow, import_topics, load_topic_rows, parse_topic_rows


def test_shipped_table_holds_both_vocabularies() -> None:
    rows = load_topic_rows()
    mdk = [r for r in rows if r.scheme == "mdk"]
    eu = [r for r in rows if r.scheme == "eu-theme"]
    assert len(mdk) == 26
    assert sorted(r.eu_theme for r in eu) == sorted(EU_THEMES)
    assert [r.position for r in mdk] == list(range(1, 27))
    assert mdk[-1].slug == "sonstiges"
    assert all(r.uri.startswith("https://musterdatenkatalog.de/def/musterdatensatz/") for r in mdk)
    assert all(
        r.uri.startswith("http://publications.europa.eu/resource/authority/data-theme/") for r in eu
    )


@pytest.mark.parametrize(
    ("slug", "label_de", "label_en", "eu_theme"),
    [
        ("verkehr", "Verkehr", "Transport", "TRAN"),
        ("abfallentsorgung", "Abfallentsorgung", "Waste disposal", "ENVI"),
        (
            "klimaschutz-und-umweltschutz",
            "Klimaschutz und Umweltschutz",
            "Climate protection and environmental protection",
            "ENVI",
        ),
        ("oeffentlichkeitsarbeit", "Öffentlichkeitsarbeit", "Public relations", "GOVE"),
        ("digitalisierung", "Digitalisierung", "Digitalisation", "TECH"),
        ("sonstiges", "Sonstiges", "Miscellaneous", ""),
        ("eu-tran", "Verkehr", "Transport", "TRAN"),
        ("eu-regi", "Regionen und Städte", "Regions and cities", "REGI"),
    ],
)
def test_known_topics(slug: str, label_de: str, label_en: str, eu_theme: str) -> None:
    row = next(r for r in load_topic_rows() if r.slug == slug)
    assert (row.label_de, row.label_en, row.eu_theme) == (label_de, label_en, eu_theme)


def test_every_mapped_eu_theme_exists_as_a_topic() -> None:
    rows = load_topic_rows()
    eu = {r.eu_theme for r in rows if r.scheme == "eu-theme"}
    assert {r.eu_theme for r in rows if r.scheme == "mdk"} - {""} <= eu


def _table(*lines: str) -> str:
    header = "slug,scheme,position,label_de,label_en,eu_theme,uri,parent,description"
    return "\n".join((header, *lines)) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n", "columns"),
        (_table("Verkehr,mdk,1,Verkehr,Transport,TRAN,,,"), "line 2: slug"),
        (_table("verkehr,xyz,1,Verkehr,Transport,TRAN,,,"), "unknown scheme"),
        (_table("verkehr,mdk,1,Verkehr,Transport,CARS,,,"), "unknown EU data theme"),
        (_table("verkehr,mdk,x,Verkehr,Transport,TRAN,,,"), "line 2"),
        (_table("verkehr,mdk,1,,Transport,TRAN,,,"), "labels"),
        (_table("verkehr,mdk,1,Verkehr,Transport,TRAN,,,", "verkehr,mdk,2,V,T,,,,"), "duplicate"),
        (_table("verkehr,mdk,1,Verkehr,Transport,TRAN,,nowhere,"), "unknown parents"),
    ],
)
def test_bad_tables_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_topic_rows(text)
    assert message in caught.value.message


def test_load_from_another_path(tmp_path: Path) -> None:
    path = tmp_path / "topics.csv"
    path.write_text(_table("verkehr,mdk,1,Verkehr,Transport,TRAN,,,"), encoding="utf-8")
    assert load_topic_rows(path) == [
        TopicRow("verkehr", "mdk", 1, "Verkehr", "Transport", "TRAN", "", "", "")
    ]


async def test_import_is_idempotent(db: Database) -> None:
    assert await import_topics() == 39
    assert await Topic.all().count() == 39
    verkehr = await Topic.get(slug="verkehr")
    assert (verkehr.scheme, verkehr.label_en, verkehr.eu_theme) == ("mdk", "Transport", "TRAN")
    assert verkehr.uri == "https://musterdatenkatalog.de/def/musterdatensatz/verkehr"
    assert await import_topics() == 0
    assert await Topic.all().count() == 39
    assert (await Topic.get(slug="verkehr")).id == verkehr.id


async def test_import_updates_in_place_and_sets_parents(db: Database) -> None:
    await import_topics()
    rows = load_topic_rows()
    changed = [
        dataclasses.replace(r, label_en="Mobility")
        if r.slug == "verkehr"
        else dataclasses.replace(r, parent="verkehr")
        if r.slug == "eu-tran"
        else r
        for r in rows
    ]
    assert await import_topics(changed) == 2
    verkehr = await Topic.get(slug="verkehr")
    assert verkehr.label_en == "Mobility"
    child = await Topic.get(slug="eu-tran").prefetch_related("parent")
    assert child.parent is not None and child.parent.slug == "verkehr"
    assert await import_topics(rows) == 2  # back to the shipped table
    assert (await Topic.get(slug="eu-tran")).parent_id is None  # type: ignore[attr-defined]
