"""The in-memory facet index counts exactly what the search page's grouped SQL counts.

The SQL builders of exchange/web/facets.py are the reference: for a spread of
texts, topics, filters and viewers (anonymous, a publisher with drafts, an
organisation) the index's rows and topic counts must equal theirs, also after
writes the index only learns about from the change feed. Runs on SQLite, and
on PostgreSQL when EXCHANGE_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exchange.auth import Actor, authenticate
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database, current_connection, dialect_of
from exchange.models import Entry
from exchange.search import EntryQuery, FacetIndex
from exchange.search.facets import fits, group_of, visible
from exchange.web.facets import DIMENSIONS, build_facet_sql, build_topic_sql, selected, tally_topics
from federation.identity import NodeKey
from tests.helpers import NOW, seed, token_for

SMALL, TOWN, CITY, ORG = "071405008068", "097800146146", "010010000000", "kompetenzzentrum"


async def actor(key: str) -> Actor:
    return await authenticate(f"Bearer {await token_for(key)}", now=NOW)


async def publish(catalogue: Catalogue, key: str, **values: Any) -> Entry:
    data: dict[str, Any] = {"kind": "project", "title": "Titel", "summary": "Kurz.", "language": "de", "topics": []}
    data.update(values)
    return await catalogue.publish(await actor(key), EntryInput(**data))


@pytest.fixture
async def catalogue(db: Database, tmp_path: Path) -> Catalogue:
    await seed(db)
    catalogue = Catalogue(signer=NodeKey.load_or_create(tmp_path / "k", "http://node-a.test"))
    await publish(catalogue, SMALL, title="Sensoren im Dorf", topics=["verkehr"], status="running")
    await publish(catalogue, SMALL, title="Sensoren am Bach", topics=["verkehr", "buergerservice"],
                  status="completed", visibility="draft")
    await publish(catalogue, TOWN, title="Sensors for rivers", language="en", topics=["buergerservice"],
                  status="planned", visibility="network")
    await publish(catalogue, CITY, title="Digitales Rathaus mit Sensoren", topics=["buergerservice"],
                  status="running", visibility="local")
    await publish(catalogue, CITY, kind="lesson", title="Was Sensoren lehren", topics=["verkehr"])
    await publish(catalogue, ORG, kind="guide", title="Leitfaden Sensoren", topics=["verkehr"],
                  visibility="draft")
    gone = await publish(catalogue, TOWN, title="Sensoren, zurückgezogen", topics=["verkehr"])
    await catalogue.unpublish(await actor(TOWN), str(gone.uid))
    return catalogue


async def reference(q: EntryQuery, who: Actor | None) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """What the grouped SQL answers: dimension rows, and topic counts under the five filters."""
    conn = current_connection()
    dialect = dialect_of(conn)
    _, dims = await conn.execute_query(*build_facet_sql(q, who, dialect))
    _, by_topic = await conn.execute_query(*build_topic_sql(q, who, dialect))
    rows = [tuple(dict(r).values()) for r in dims]
    return rows, tally_topics([tuple(dict(r).values()) for r in by_topic], selected(q))


async def from_index(index: FacetIndex, q: EntryQuery, who: Actor | None) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    viewer = None if who is None or who.publisher is None else (who.publisher.kind, who.publisher.id)
    chosen = selected(q)
    return await index.search_counts(q.text, topics=q.topics, origin=q.origin, viewer=viewer,
                                     chosen=[chosen[d] for d in DIMENSIONS])


QUERIES = [
    EntryQuery(),
    EntryQuery(text="Sensoren"),
    EntryQuery(text="sensor", kinds=("project",), statuses=("running", "planned")),
    EntryQuery(text="Sensoren", topics=("verkehr",)),
    EntryQuery(topics=("buergerservice",), land="07", size_classes=("Landgemeinde",)),
    EntryQuery(languages=("en",), origin="http://node-a.test"),
    EntryQuery(origin="http://elsewhere.test"),
    EntryQuery(text="Rathaus Dorf"),  # no entry has both
    EntryQuery(text="***"),  # no searchable term left
]


def _key(row: tuple[Any, ...]) -> str:
    return repr(row)


def norm(counts: tuple[list[tuple[Any, ...]], dict[str, int]]) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    return sorted(counts[0], key=_key), counts[1]


@pytest.mark.parametrize("who", [None, SMALL, CITY, ORG])
async def test_index_counts_what_the_grouped_sql_counts(catalogue: Catalogue, who: str | None) -> None:
    viewer = await actor(who) if who else None
    index = FacetIndex()
    await index.startup()
    for q in QUERIES:
        assert norm(await from_index(index, q, viewer)) == norm(await reference(q, viewer)), q


async def test_index_follows_the_change_feed(catalogue: Catalogue) -> None:
    index = FacetIndex()
    await index.startup()
    q = EntryQuery(text="Sensoren")
    before, _ = await from_index(index, q, None)
    assert sum(r[-1] for r in before) == 2
    # writes the index hears of only through the change feed
    new = await publish(catalogue, TOWN, title="Neue Sensoren", topics=["verkehr"], status="planned")
    await catalogue.revise(await actor(SMALL), str((await Entry.get(title="Sensoren am Bach")).uid), 1,
                           EntryInput(visibility="public", topics=["buergerservice"]))
    await catalogue.unpublish(await actor(CITY), str((await Entry.get(title="Was Sensoren lehren")).uid))
    for q2 in (q, EntryQuery(topics=("buergerservice",)), EntryQuery(text="Sensoren", statuses=("planned",))):
        assert norm(await from_index(index, q2, None)) == norm(await reference(q2, None))
    rows, topics = await from_index(index, q, None)
    assert sum(r[-1] for r in rows) == 3 and topics == {"verkehr": 2, "buergerservice": 1}
    assert index.seq is not None and len(index) == 6
    # a second index loaded now agrees with the one that caught up
    fresh = FacetIndex()
    await fresh.startup()
    assert norm(await from_index(fresh, q, None)) == norm(await from_index(index, q, None))
    assert new.id is not None


def test_groups_visibility_and_filters() -> None:
    row = {"kind": "project", "status": "running", "language": "de", "land_code": "07", "size_class": "Landgemeinde",
           "visibility": "draft", "origin_node": "http://a.test", "municipality_id": 3, "organisation_id": None}
    draft = group_of(row)
    assert draft[7] == ("municipality", 3)
    assert not visible(draft, None) and not visible(draft, ("municipality", 4))
    assert visible(draft, ("municipality", 3)) and not visible(draft, ("municipality", 3), "http://b.test")
    network = group_of({**row, "visibility": "network"})
    assert network[7] is None and visible(network, ("organisation", 1)) and not visible(network, None)
    assert visible(group_of({**row, "visibility": "public"}), None)
    assert not visible(None, None)
    assert fits(draft, [("project", "guide"), (), (), ("07",), ()])
    assert not fits(draft, [(), ("completed",), (), (), ()])
    assert not fits(None, [(), (), (), (), ()])
