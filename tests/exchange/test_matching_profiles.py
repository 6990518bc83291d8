"""Profiles against a real database: load, incremental updates through the catalogue, visibility."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.auth import Actor, Publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from exchange.errors import NotFoundError
from exchange.matching import Matcher, ProfileStore
from exchange.models import Municipality
from federation.identity import NodeKey
from tests.exchange.matching_support import snapshot
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
    assert results[0].publisher.official_key == KISSELBACH
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
    assert next(r.publisher.official_key for r in results) == FLENSBURG


async def test_updates_through_the_catalogue_equal_a_fresh_load(db: Database, catalogue: Catalogue) -> None:
    """Publishes, revisions and unpublishes (a first and a last entry included) reach the profiles
    one publisher at a time; the index then equals the one a fresh load builds."""
    await seed(db)
    matcher = Matcher()
    catalogue.listeners.append(matcher.on_entry)
    await matcher.startup()
    texts = [("Parkplatzsensoren mit LoRaWAN", "verkehr"), ("Wärmeplanung im Dorf", "energie"),
             ("Digitale Bürgerdienste im Rathaus", "buergerservice"), ("Baumkataster und Stadtgrün", "flora-und-fauna"),
             ("Offene Haushaltsdaten", "finanzen")]
    published = []
    for i, key in enumerate([KISSELBACH, FLENSBURG, WIGGENSBACH, FLENSBURG, KISSELBACH, FLENSBURG, WIGGENSBACH]):
        title, topic = texts[i % len(texts)]
        kind = "lesson" if i % 2 else "project"
        published.append((key, await catalogue.publish(await actor(key), EntryInput(
            kind=kind, title=f"{title} {i}", summary=f"{title}: was wir gelernt haben.", language="de",
            topics=[topic], visibility="public", status="completed" if kind == "project" else None,
            what_worked="Früh alle beteiligen." if kind == "lesson" else None,
            goals=[{"goal": "Weniger Suchverkehr", "indicators": [{"name": "Auslastung", "target": 80,
                    "actual": 75 if i % 4 == 0 else None}]}] if kind == "project" else None))))
    key, entry = published[1]
    await catalogue.revise(await actor(key), str(entry.uid), 1, EntryInput(title="Schuldigitalisierung mit Tablets",
                           summary="Tablets für alle Grundschulen.", topics=["bildung"]))
    for key, entry in (published[0], published[2], published[6]):  # Kisselbach's first, all of Wiggensbach
        await catalogue.unpublish(await actor(key), str(entry.uid))
    index = matcher.store.index
    assert {m.official_key for m in await Municipality.filter(id__in=list(index.profiles))} == {FLENSBURG, KISSELBACH}
    evaluated = [x.evaluated for p in index.profiles.values() for x in p.experience]
    assert True in evaluated and False in evaluated  # indicators with and without an actual value
    fresh = await ProfileStore().load()
    assert snapshot(index) == snapshot(fresh)
    for pid, profile in index.profiles.items():
        assert profile.norm == pytest.approx(fresh.profiles[pid].norm, rel=1e-12)


@pytest.mark.parametrize("reload_above", [100, 1])  # publisher by publisher, and one reload of all
async def test_received_entries_are_folded_in_once_the_sync_is_quiet(
        db: Database, catalogue: Catalogue, reload_above: int) -> None:
    """Entries from another origin do not rebuild a profile each: after a quiet moment every
    waiting publisher is refreshed once (or all profiles reloaded), equal to a fresh load."""
    await seed(db)
    matcher = Matcher(own_origin="http://elsewhere.test", quiet=30, reload_above=reload_above)  # settle() hurries it
    catalogue.listeners.append(matcher.on_entry)  # the catalogue's entries are "received" here
    await matcher.startup()
    for i, key in enumerate([KISSELBACH, FLENSBURG, KISSELBACH, WIGGENSBACH]):
        await catalogue.publish(await actor(key), lesson(f"Parkplatzsensoren mit LoRaWAN {i}"))
    assert matcher.store.index.publishers == 0  # nothing yet: the sync is still busy
    await matcher.settle()
    assert matcher.store.index.publishers == 3
    assert snapshot(matcher.store.index) == snapshot(await ProfileStore().load())
    _, results = await matcher.peers(WIGGENSBACH, about="Parkplatzsensoren", first=2)
    assert {r.publisher.official_key for r in results} == {KISSELBACH, FLENSBURG}
    await matcher.shutdown()


async def test_own_entries_still_update_at_once_while_received_ones_wait(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    matcher = Matcher(own_origin="http://node-a.test", quiet=60)
    catalogue.listeners.append(matcher.on_entry)
    await matcher.startup()
    await catalogue.publish(await actor(KISSELBACH), lesson("Parkplatzsensoren mit LoRaWAN"))
    assert matcher.store.index.publishers == 1
    await matcher.shutdown()
