"""Search: filters, full text (FTS5 or PostgreSQL), orderings and keyset pages.

Runs on SQLite by default and on PostgreSQL when EXCHANGE_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import frontmatter
import pytest

from content import tsquery
from exchange.auth import Actor, authenticate
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database, current_connection
from exchange.demo import DEMO_DIR
from exchange.errors import InvalidInputError
from exchange.models import Entry
from exchange.search import CountCache, EntryQuery, count_entries, find_entries, land_code, levels
from exchange.search import index as search_index
from exchange.search import query as search
from exchange.search.query import build_query
from federation.identity import NodeKey
from tests.helpers import NOW, seed, token_for

SMALL, TOWN, CITY = "071405008068", "097800146146", "010010000000"
PG_URL = os.environ.get("EXCHANGE_TEST_DATABASE_URL", "")


@pytest.fixture
async def catalogue(db: Database, tmp_path: Path) -> Catalogue:
    await seed(db)
    return Catalogue(signer=NodeKey.load_or_create(tmp_path / "k", "http://node-a.test"))


async def actor(key: str) -> Actor:
    return await authenticate(f"Bearer {await token_for(key)}", now=NOW)


async def publish(catalogue: Catalogue, key: str, **values: object) -> None:
    data = {"kind": "project", "title": "Titel", "summary": "Kurz.", "language": "de", "topics": []}
    data.update(values)
    await catalogue.publish(await actor(key), EntryInput(**data))  # type: ignore[arg-type]


async def titles(q: EntryQuery, first: int = 50, who: Actor | None = None) -> list[str]:
    return [e.title for e in (await find_entries(q, who, first=first)).entries]


async def test_full_text_finds_stemmed_german_and_english(catalogue: Catalogue) -> None:
    await publish(catalogue, SMALL, title="Bürgerbeteiligung im Dorf", summary="Online-Beteiligung mit Papierbögen.")
    await publish(catalogue, TOWN, title="Sensors for flood warnings", summary="LoRaWAN sensors measure river levels.",
                  language="en")
    await publish(catalogue, CITY, title="Digitales Rathaus", summary="Anträge online stellen.")
    assert await titles(EntryQuery(text="Bürgerbeteiligungen")) == ["Bürgerbeteiligung im Dorf"]
    assert await titles(EntryQuery(text="sensor")) == ["Sensors for flood warnings"]
    assert await titles(EntryQuery(text="antrag")) == ["Digitales Rathaus"]
    assert await titles(EntryQuery(text="Rathaus Dorf")) == []  # all words must match
    assert await titles(EntryQuery(text="flood warning")) == ["Sensors for flood warnings"]


@pytest.mark.parametrize("hostile", ['"', "NEAR(a b)", "a OR", "*", "') OR 1=1 --", "::", "\\", "title:x", "-x"])
async def test_hostile_search_text_never_breaks_the_query(catalogue: Catalogue, hostile: str) -> None:
    await publish(catalogue, SMALL, title="Dorf", summary="Nichts.")
    await titles(EntryQuery(text=hostile))  # no exception: every term is quoted or dropped


async def test_relevance_ranks_title_matches_first(catalogue: Catalogue) -> None:
    await publish(catalogue, SMALL, title="Haushalt", summary="Am Rande erwähnt: Breitband.")
    await publish(catalogue, TOWN, title="Breitband für alle", summary="Breitbandausbau und Breitband-Förderung.")
    ranked = await titles(EntryQuery(text="Breitband", order="relevance"))
    assert ranked == ["Breitband für alle", "Haushalt"]


async def test_filters_combine(catalogue: Catalogue) -> None:
    await publish(catalogue, SMALL, title="A", topics=["buergerservice"], status="completed")
    await publish(catalogue, TOWN, title="B", topics=["verkehr"], status="running", language="en")
    await publish(catalogue, CITY, title="C", topics=["buergerservice"], status="running")
    await publish(catalogue, SMALL, title="D", kind="guide", topics=["verkehr"])
    assert set(await titles(EntryQuery(kinds=("project",)))) == {"A", "B", "C"}
    assert set(await titles(EntryQuery(topics=("buergerservice",)))) == {"A", "C"}
    assert set(await titles(EntryQuery(statuses=("running",)))) == {"B", "C"}
    assert await titles(EntryQuery(languages=("en",))) == ["B"]
    assert set(await titles(EntryQuery(land="Rheinland-Pfalz"))) == {"A", "D"}
    assert set(await titles(EntryQuery(land="09"))) == {"B"}
    assert set(await titles(EntryQuery(size_classes=("Landgemeinde", "Mittelstadt")))) == {"A", "C", "D"}
    assert await titles(EntryQuery(topics=("verkehr",), kinds=("guide",))) == ["D"]


async def test_keyset_pages_are_stable_while_entries_are_added(catalogue: Catalogue) -> None:
    for i in range(7):
        await publish(catalogue, SMALL, title=f"E{i}")
    first = await find_entries(EntryQuery(), None, first=3)
    assert [e.title for e in first.entries] == ["E6", "E5", "E4"] and first.has_next
    await publish(catalogue, SMALL, title="Neu")  # arrives between two page requests
    second = await find_entries(EntryQuery(), None, first=3, after=first.keys[-1])
    assert [e.title for e in second.entries] == ["E3", "E2", "E1"]
    third = await find_entries(EntryQuery(), None, first=3, after=second.keys[-1])
    assert [e.title for e in third.entries] == ["E0"] and not third.has_next


@pytest.mark.parametrize("order", ["oldest", "title", "relevance"])
async def test_every_ordering_pages_through_all_entries_once(catalogue: Catalogue, order: str) -> None:
    for i in range(9):
        await publish(catalogue, SMALL, title=f"Schule {i % 3} Tablet {i}", summary="Tablets für die Schule.")
    q = EntryQuery(text="Schule", order=order)
    seen: list[str] = []
    after = None
    while True:
        page = await find_entries(q, None, first=4, after=after)
        seen += [e.title for e in page.entries]
        if not page.has_next:
            break
        after = page.keys[-1]
    assert sorted(seen) == sorted(f"Schule {i % 3} Tablet {i}" for i in range(9))


async def test_count_is_cached_until_the_next_change(catalogue: Catalogue) -> None:
    cache = CountCache()
    await publish(catalogue, SMALL, title="A")
    assert await count_entries(EntryQuery(), None, cache) == 1
    assert await count_entries(EntryQuery(), None, cache) == 1
    await publish(catalogue, SMALL, title="B")
    assert await count_entries(EntryQuery(), None, cache) == 2  # a new change invalidates


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (EntryQuery(kinds=("essay",)), "unknown kind"),
        (EntryQuery(size_classes=("Megastadt",)), "unknown size class"),
        (EntryQuery(land="Atlantis"), "unknown Land"),
        (EntryQuery(order="random"), "order must be"),
        (EntryQuery(text="x" * 501), "longer than 500"),
    ],
)
async def test_bad_filters_are_named(catalogue: Catalogue, query: EntryQuery, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        await find_entries(query, None, first=10)


@pytest.mark.parametrize(
    ("query", "dialect", "fragments"),
    [
        (EntryQuery(), "sqlite", ["e.visibility = 'public'", "e.deleted = 0", "ORDER BY e.updated_at DESC, e.id DESC"]),
        (EntryQuery(), "postgres", ["e.deleted = false", "LIMIT 21"]),
        (EntryQuery(kinds=("guide",), topics=("verkehr",)), "postgres", ["e.kind IN ($1)", "t.slug IN ($2)", "LIMIT 21"]),
        (EntryQuery(text="Schule", order="relevance"), "sqlite", ["entry_fts MATCH ?", "ORDER BY f.score DESC"]),
        (EntryQuery(text="Schule"), "postgres", ["to_tsquery('simple', $1)", "ORDER BY e.updated_at DESC"]),
        (EntryQuery(land="Bayern", size_classes=("Kleinstadt",)), "sqlite", ["m.land_code = ?", "m.size_class IN (?)"]),
        (EntryQuery(order="title"), "sqlite", ["ORDER BY lower(e.title) ASC, e.id ASC"]),
        (EntryQuery(text="und der"), "sqlite", ["entry_fts MATCH ?"]),
    ],
)
def test_build_query_table(query: EntryQuery, dialect: str, fragments: list[str]) -> None:
    sql, values = build_query(query, None, dialect=dialect, first=20)
    for fragment in fragments:
        assert fragment in sql, (fragment, sql)
    placeholders = sql.count("?") if dialect == "sqlite" else len(set(re.findall(r"\$\d+", sql)))
    assert placeholders == len(values)
    # one more than asked, to know whether a next page exists; written in, not a parameter
    assert sql.endswith("LIMIT 21") and 21 not in values


def test_land_codes_by_name_or_code() -> None:
    assert land_code("bayern") == "09" and land_code("9") == "09" and land_code("16") == "16"


async def pages(q: EntryQuery, who: Actor | None, first: int) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = await find_entries(q, who, first=first, after=after)
        seen += [e.title for e in page.entries]
        if not page.has_next:
            return seen
        after = page.keys[-1]


@pytest.mark.parametrize("margin", [0, 1, 1000])
async def test_relevance_among_the_best_matches_equals_the_full_ranking(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, margin: int
) -> None:
    # the best matches are hidden from anonymous readers, so the top-n shortcut must fall back
    for i in range(4):
        await publish(catalogue, CITY, title=f"Breitband Breitband {i}", summary="Breitband, Breitband.",
                      visibility="local")
    for i in range(5):
        await publish(catalogue, SMALL, title=f"Dorf {i}", summary="Breitband" + " und mehr" * i)
    q = EntryQuery(text="Breitband", order="relevance")
    full = await pages(q, None, first=50)
    assert sorted(full) == [f"Dorf {i}" for i in range(5)]
    city = await actor(CITY)
    full_city = await pages(q, city, first=50)
    assert len(full_city) == 9 and full_city[0].startswith("Breitband")
    monkeypatch.setattr(search, "TOP_MARGIN", margin)
    for first in (1, 2, 3):
        assert await pages(q, None, first) == full
        assert await pages(q, city, first) == full_city


def test_matching_ids_sql_per_dialect() -> None:
    assert search.build_ids("***", dialect="sqlite") is None  # no searchable term: nothing matches
    sql, values = search.build_ids("Schule", dialect="sqlite")  # type: ignore[misc]
    assert "group_concat(rowid)" in sql and "entry_fts MATCH ?" in sql and values == ['("schul" * OR "schule" *)']
    sql, values = search.build_ids("Schule", dialect="postgres")  # type: ignore[misc]
    assert sql == "SELECT entry_ids_at_level(to_tsquery('simple', $1), 1, NULL) AS ids" and len(values) == 1


@pytest.mark.parametrize(
    ("query", "dialect", "fragments"),
    [
        (EntryQuery(text="Schule"), "sqlite", ["+e.id IN (SELECT rowid FROM entry_fts", "ORDER BY e.updated_at DESC"]),
        (EntryQuery(text="Schule", order="title"), "sqlite", ["WHERE e.id IN (SELECT rowid FROM entry_fts"]),
        (EntryQuery(text="Schule", order="relevance"), "sqlite", ["ORDER BY rank, rowid DESC LIMIT ?"]),
        (EntryQuery(text="Schule", order="relevance", kinds=("guide",)), "sqlite", ["WHERE entry_fts MATCH ?) f"]),
        (EntryQuery(text="Schule", order="relevance"), "postgres",
         ["unnest(entry_ids_at_level(to_tsquery('simple', $1), $2, NULL))", "s.sort_key DESC, s.id DESC LIMIT $3"]),
    ],
)
def test_build_query_text_plans(query: EntryQuery, dialect: str, fragments: list[str]) -> None:
    sql, _ = build_query(query, None, dialect=dialect, first=20)
    for fragment in fragments:
        assert fragment in sql, (fragment, sql)
    assert "e.*" not in sql  # PostgreSQL would also send the stored search vector


async def test_relevance_title_then_summary_then_text(catalogue: Catalogue) -> None:
    # published best match first, so that "newest first" alone would give the reverse
    await publish(catalogue, CITY, title="Breitband für alle", summary="Ausbau im Landkreis.", body_markdown="Ein Text.")
    await publish(catalogue, TOWN, title="Haushalt", summary="Am Rande erwähnt: Breitband.", body_markdown="Ein Text.")
    await publish(catalogue, SMALL, title="Haushalt 2026", summary="Der Plan.", body_markdown="Auch Breitband.")
    await publish(catalogue, SMALL, title="Sportplatz", summary="Rasen.", body_markdown="Ein Text.")
    ranked = await titles(EntryQuery(text="Breitband", order="relevance"))
    assert ranked == ["Breitband für alle", "Haushalt", "Haushalt 2026"]


async def test_relevance_of_several_words(catalogue: Catalogue) -> None:
    await publish(catalogue, CITY, title="LoRaWAN und Sensoren", summary="Ein Funknetz.", body_markdown="Text.")
    await publish(catalogue, TOWN, title="Pegel", summary="Wasserstand.", body_markdown="Über LoRaWAN melden Sensoren.")
    await publish(catalogue, SMALL, title="LoRaWAN im Dorf", summary="Ein Funknetz.", body_markdown="Sensoren messen.")
    await publish(catalogue, SMALL, title="LoRaWAN allein", summary="Ein Funknetz.", body_markdown="Nichts sonst.")
    ranked = await titles(EntryQuery(text="LoRaWAN Sensoren", order="relevance"))
    assert ranked == ["LoRaWAN und Sensoren", "LoRaWAN im Dorf", "Pegel"]  # every word must match


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([3, "2026-11-21T09:00:00+00:00"], (3, datetime(2026, 11, 21, 9, tzinfo=UTC))),
        ((1, "2026-11-21T09:00:00.5+00:00"), (1, datetime(2026, 11, 21, 9, 0, 0, 500000, tzinfo=UTC))),
        (0.5, None), ([4, "2026-11-21T09:00:00+00:00"], None), ([True, "2026-11-21T09:00:00+00:00"], None),
        ([3, "yesterday"], None), ([3], None), ("3", None),
    ],
)
def test_relevance_cursor_on_postgres(value: object, expected: object) -> None:
    if expected is None:
        with pytest.raises(InvalidInputError, match="cursor does not fit"):
            search._param_value(value, "relevance", "postgres")
    else:
        assert search._param_value(value, "relevance", "postgres") == expected


@pytest.mark.parametrize(
    ("level", "ids", "window", "fragments"),
    [
        (3, [4, 5], False, ["FROM unnest($1::integer[]) AS c(id) JOIN entry e ON e.id = c.id",
                            "WHERE true AND e.visibility = 'public'", "OFFSET 0) s ORDER BY s.sort_key DESC, s.id DESC"]),
        (3, None, False, ["unnest(entry_ids_at_level(to_tsquery('simple', $1), $2, NULL))"]),
        (2, None, False, ["unnest(entry_ids_at_level(to_tsquery('simple', $1), $2, NULL))",
                          "WHERE NOT m.levels @@ to_tsquery('simple', $3) AND e.visibility"]),
        (1, None, True, [("NOT m.levels @@ to_tsquery('simple', $3) AND e.search_vector @@ to_tsquery("
                          "'simple', $3) AS hit FROM entry e JOIN entry_match m ON m.id = e.id WHERE"),
                         "LIMIT $4) w JOIN entry e ON e.id = w.id WHERE w.hit",
                         "(e.updated_at, e.id) < ($1, $2)"]),
    ],
)
def test_build_level_query_table(level: int, ids: list[int] | None, window: bool, fragments: list[str]) -> None:
    when = datetime(2026, 11, 21, tzinfo=UTC)
    after = ((level, when), 7) if window else None
    sql, values = levels.build_level_query(EntryQuery(text="Schule", order="relevance"), None, level=level,
                                           limit=21, after=after, ids=ids, window=window)
    for fragment in fragments:
        assert fragment in sql, (fragment, sql)
    assert len(set(re.findall(r"\$\d+", sql))) == len(values) and values[-1] == 21
    assert "ORDER BY" in sql and "ts_rank" not in sql
    # level 3 asks for weight A (three times or more), the others for any weight
    texts = [v for v in values if isinstance(v, str)]
    if level == 3 and ids is None:
        assert texts == ["(schul:*A | schule:*A)"]
    if level == 2:
        assert texts == ["(schul:* | schule:*)", "(schul:*A | schule:*A)"]
    assert levels.build_level_ids("Schule", 3, 1000) == (
        "SELECT entry_ids_at_level(to_tsquery('simple', $1), $2, $3) AS ids", ["(schul:*A | schule:*A)", 3, 1000])


@pytest.mark.parametrize(
    ("expr", "expected"),
    [("schul", "schul:A"), ("(schul:* | schule:*)", "(schul:*A | schule:*A)"),
     ("lorawan & (sensor:* | sensoren:*)", "lorawan:A & (sensor:*A | sensoren:*A)"), ("größ:*", "größ:*A")],
)
def test_weighted_tsquery(expr: str, expected: str) -> None:
    assert levels.weighted(expr) == expected


def _groups(expr: str) -> list[list[tuple[str, bool]]]:
    """The (term, prefix) alternatives of each word of a `content.tsquery` expression."""
    return [[(t.removesuffix(":*"), t.endswith(":*")) for t in g.strip("()").split(" | ")] for g in expr.split(" & ")]


def _level(counts: dict[str, int], groups: list[list[tuple[str, bool]]]) -> int:
    """The plain definition: the least prominence (occurrences, at most 3) over the words of a query."""
    best = [max((min(3, n) for lexeme, n in counts.items() for term, prefix in group
                 if lexeme == term or (prefix and lexeme.startswith(term))), default=0) for group in groups]
    return min(best)


@pytest.mark.skipif(not PG_URL, reason="relevance levels are PostgreSQL's; SQLite ranks by bm25")
@pytest.mark.parametrize(("cap", "window"), [(1000, 2000), (0, 2000), (0, 5), (0, 0), (3, 1)])
async def test_relevance_levels_equal_the_plain_definition(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, cap: int, window: int
) -> None:
    # cap 0: every level counts as common (window first); window 0: the window never suffices
    # real-ish data: the demo entries' texts, some visible to members only
    docs = [frontmatter.load(str(p)) for p in sorted((DEMO_DIR / "entries").glob("*.md"))]
    for i, doc in enumerate(docs):
        await publish(catalogue, (SMALL, TOWN, CITY)[i % 3], title=str(doc["title"]), summary=str(doc["summary"]),
                      body_markdown=doc.content, language=str(doc.get("language", "de")),
                      keywords=list(doc.get("keywords") or []), visibility="local" if i % 7 == 3 else "public")
    conn = current_connection()
    _, rows = await conn.execute_query(
        "SELECT e.id, e.updated_at, e.visibility, t.lexeme, cardinality(t.positions) AS n "
        "FROM entry e, unnest(to_tsvector('simple', e.search_terms)) AS t")
    counts: dict[int, dict[str, int]] = {}
    info: dict[int, tuple[object, str]] = {}
    for r in rows:
        counts.setdefault(r["id"], {})[r["lexeme"]] = r["n"]
        info[r["id"]] = (r["updated_at"], r["visibility"])
    title_of = {e.id: e.title for e in await Entry.all()}
    monkeypatch.setattr(search, "LEVEL_CAP", cap)
    monkeypatch.setattr(levels, "LEVEL_WINDOW", window)
    levels_seen: set[int] = set()
    for text in ("Sensoren", "LoRaWAN Sensoren", "digital", "Rathaus", "Bürger", "Daten", "open data",
                 "Förderung", "Schule", "Gemeinde", "online", "Erfahrungen", "ein"):
        groups = _groups(tsquery(text))  # type: ignore[arg-type]
        for who in (None, await actor(CITY)):
            visible = [i for i in counts if who is not None or info[i][1] == "public"]
            levelled = [(_level(counts[i], groups), info[i][0], i) for i in visible]
            expected = [title_of[i] for lv, _, i in sorted((x for x in levelled if x[0] > 0), reverse=True)]
            levels_seen |= {lv for lv, _, _ in levelled if lv > 0}
            q = EntryQuery(text=text, order="relevance")
            for first in (1, 4, 50):
                assert await pages(q, who, first) == expected, (text, first)
    assert levels_seen == {1, 2, 3}  # the data exercises every level


@pytest.mark.skipif(not PG_URL, reason="entry_match is PostgreSQL's narrow copy of the lexemes")
async def test_matching_ids_follow_every_write(catalogue: Catalogue) -> None:
    # published, revised, unpublished, and bulk-inserted as federation batches and bulk loads do
    await publish(catalogue, SMALL, title="Breitband im Dorf", summary="Glasfaser.")
    await publish(catalogue, TOWN, title="Schule", summary="Tablets.")
    await publish(catalogue, CITY, title="Rathaus", summary="Anträge online.")
    city = await actor(CITY)
    rathaus = (await find_entries(EntryQuery(text="Rathaus"), city, first=1)).entries[0]
    await catalogue.revise(city, str(rathaus.uid), rathaus.version, EntryInput(title="Breitband im Stadthaus"))
    schule = (await find_entries(EntryQuery(text="Schule"), None, first=1)).entries[0]
    await catalogue.unpublish(await actor(TOWN), str(schule.uid))
    template = await Entry.get(id=schule.id)
    await Entry.bulk_create([
        Entry(uid=uuid.uuid4(), kind="project", origin_node="http://peer.test", version=1, title=f"Glasfaser {i}",
              summary="", body_markdown="", body_html="", language="de", visibility="public",
              municipality_id=template.municipality_id, search_terms=f"glasfas {i} breitband",
              created_at=NOW, updated_at=NOW)
        for i in range(3)
    ])
    conn = current_connection()
    # Rathaus: revised away; Schule: unpublished, so its text is gone and it matches nothing
    counts = {"Breitband": 5, "Rathaus": 0, "Stadthaus": 1, "Schule": 0, "Glasfaser": 4, "online": 1, "Glasfaser Dorf": 1}
    for text, n in counts.items():
        _, rows = await conn.execute_query(
            "SELECT coalesce(array_agg(id), '{}') AS ids FROM entry WHERE search_vector @@ to_tsquery('simple', $1)",
            [tsquery(text)])
        plain = sorted(rows[0]["ids"])
        assert sorted(await search.matching_ids(text)) == plain and len(plain) == n, text
    # the levels follow too: the revised title word is at the top level, the old one gone
    page = await find_entries(EntryQuery(text="Stadthaus", order="relevance"), city, first=5)
    assert [e.title for e in page.entries] == ["Breitband im Stadthaus"] and page.keys[0][0][0] == 3
    assert (await find_entries(EntryQuery(text="Rathaus", order="relevance"), city, first=5)).entries == []
    assert [k[0][0] for k in (await find_entries(EntryQuery(text="Glasfaser", order="relevance"), city,
                                                   first=5)).keys] == [2, 1, 1, 1]  # a summary; bulk rows: once


@pytest.mark.skipif(not PG_URL, reason="entry_match is PostgreSQL's narrow copy of the lexemes")
async def test_rebuild_repairs_the_match_table(catalogue: Catalogue) -> None:
    await publish(catalogue, SMALL, title="Breitband im Dorf", summary="Glasfaser.")
    await publish(catalogue, TOWN, title="Schule", summary="Tablets.")
    conn = current_connection()
    await conn.execute_script("DELETE FROM entry_match WHERE id IN (SELECT min(id) FROM entry); "
                              "UPDATE entry_match SET terms = ''::tsvector, levels = ''::tsvector")
    assert await search.matching_ids("Breitband") == [] and await search.matching_ids("Schule") == []
    assert await search_index.rebuild() == 2
    assert len(await search.matching_ids("Breitband")) == 1 and len(await search.matching_ids("Schule")) == 1
    assert await titles(EntryQuery(text="Schule", order="relevance")) == ["Schule"]  # its levels are back
