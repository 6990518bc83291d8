"""Profiles against a real database: load, incremental updates through the catalogue, visibility."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.auth import Actor, Publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from exchange.errors import NotFoundError
from exchange.matcher import Matcher
from exchange.models import Municipality
from federation.identity import NodeKey
from tests.helpers import MUNICIPALITIES, seed

FLENSBURG, WIGGENSBACH, KISSELBACH = (m["official_key"] for m in MUNICIPALITIES)


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    return Catalogue(signer=NodeKey.load_or_create(tmp_path / "node.key", "http://node-a.test"))


async def actor(key: str) -> Actor:
    m = await Municipality.get(official_key=key)
    return Actor(Publisher("municipality", m.id, key, m.name), frozenset({"publish"}))


def lesson(title: str, visibility: str = "public") -> EntryInput:
    return EntryInput(kind="lesson", title=title, summary=f"{title}: was funktioniert hat.", language="de",
                      topics=["verkehr"], visibility=visibility, what_worked="Sensoren an jedem Stellplatz.")


async def test_listener_follows_publish_revise_and_unpublish(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    matcher = Matcher()
    catalogue.listeners.append(matcher.on_entry)
    await matcher.startup()
    assert matcher.store.index.publishers == 0
    entry = await catalogue.publish(await actor(KISSELBACH), lesson("Parkplatzsensoren mit LoRaWAN"))
    _, results = await matcher.peers(WIGGENSBACH, about="Parkplatzsensoren", first=2, language="en")
    assert results[0].municipality.official_key == KISSELBACH
    assert "lesson learned" in results[0].reasons[1].explanation
    assert [e.title for e in results[0].relevant] == ["Parkplatzsensoren mit LoRaWAN"]

    await catalogue.revise(await actor(KISSELBACH), str(entry.uid), 1, EntryInput(title="Wärmeplanung im Dorf",
                           summary="Eine Wärmeplanung.", what_worked="Fernwärme."))
    _, results = await matcher.peers(WIGGENSBACH, about="Wärmeplanung", first=1)
    assert results[0].match.topics > 0 and results[0].relevant[0].title == "Wärmeplanung im Dorf"

    await catalogue.unpublish(await actor(KISSELBACH), str(entry.uid))
    assert matcher.store.index.publishers == 0
    assert matcher.store.index.postings == {}


async def test_only_public_entries_feed_the_profiles(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    await catalogue.publish(await actor(KISSELBACH), lesson("Interne Notiz", visibility="network"))
    await catalogue.publish(await actor(FLENSBURG), lesson("Öffentlicher Bericht"))
    matcher = Matcher()
    await matcher.startup()
    assert set(matcher.store.index.profiles) == {(await Municipality.get(official_key=FLENSBURG)).id}


async def test_unknown_and_malformed_keys(db: Database) -> None:
    await seed(db)
    matcher = Matcher()
    with pytest.raises(NotFoundError, match="no municipality"):
        await matcher.peers("010010000099")
    with pytest.raises(Exception, match="language"):
        await matcher.peers(FLENSBURG, language="fr")


async def test_matcher_loads_itself_on_first_use(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    await catalogue.publish(await actor(FLENSBURG), lesson("Bericht"))
    matcher = Matcher()  # no startup hook ran (as with an app without lifespan)
    need, results = await matcher.peers(KISSELBACH, first=5)
    assert need.source in ("neighbours", "none")
    assert [r.municipality.official_key for r in results][0] == FLENSBURG
