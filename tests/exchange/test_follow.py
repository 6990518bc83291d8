"""The change follower: writes of another process on the same database reach this process's
matching profiles (in-process with two nodes on one database; PostgreSQL's NOTIFY wakes it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from exchange import follow
from exchange.app import Node, build_node
from exchange.auth import Actor, Publisher
from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.follow import ChangeFollower, connect_arguments
from exchange.models import Municipality
from tests.helpers import MUNICIPALITIES, seed, settings_for

FLENSBURG, WIGGENSBACH, KISSELBACH = (m["official_key"] for m in MUNICIPALITIES)


@dataclass
class Pair:
    writer: Node
    reader: Node

    @property
    def follower(self) -> ChangeFollower:
        follower = self.reader.extra["follower"]
        assert isinstance(follower, ChangeFollower)
        return follower

    async def peer_keys(self, about: str) -> list[str]:
        """The reader's peers of Wiggensbach for a planned project."""
        with self.reader.database.bound():
            _, results = await self.reader.services.matcher.peers(WIGGENSBACH, about=about, first=3)
        return [r.publisher.official_key for r in results if r.match.topics > 0]


@pytest.fixture
async def pair(db: Database, tmp_path: Path) -> AsyncIterator[Pair]:
    """Two nodes (as two processes would be) on one database; the reader has loaded its profiles."""
    await seed(db)
    settings = settings_for(db, tmp_path)
    writer = build_node(settings, database=db)
    other = Database(db.url)
    await other.open()
    reader = build_node(settings, database=other)
    with other.bound():
        await reader.extra["follower"].prime()
        await reader.services.matcher.startup()
    await writer.extra["follower"].prime()
    try:
        yield Pair(writer, reader)
    finally:
        with other.bound():
            await reader.extra["follower"].stop()
        await other.close()


async def actor(key: str) -> Actor:
    m = await Municipality.get(official_key=key)
    return Actor(Publisher("municipality", m.id, key, m.name), frozenset({"publish"}))


def lesson(title: str) -> EntryInput:
    return EntryInput(kind="lesson", title=title, summary=f"{title}: was funktioniert hat.", language="de",
                      topics=["verkehr"], visibility="public", what_worked="Sensoren an jedem Stellplatz.")


async def test_the_reader_follows_publish_revise_and_unpublish_of_the_writer(pair: Pair) -> None:
    catalogue = pair.writer.catalogue
    entry = await catalogue.publish(await actor(KISSELBACH), lesson("Parkplatzsensoren mit LoRaWAN"))
    assert await pair.peer_keys("Parkplatzsensoren") == []  # nothing tells the reader yet
    with pair.reader.database.bound():
        assert await pair.follower.catch_up() == 1
    assert await pair.peer_keys("Parkplatzsensoren") == [KISSELBACH]
    # the writer handled its own write already: its follower hands nothing on
    assert await pair.writer.extra["follower"].catch_up() == 0

    await catalogue.revise(await actor(KISSELBACH), str(entry.uid), 1, EntryInput(
        title="Wärmeplanung im Dorf", summary="Eine Wärmeplanung.", what_worked="Fernwärme."))
    with pair.reader.database.bound():
        assert await pair.follower.catch_up() == 1
    assert await pair.peer_keys("Wärmeplanung") == [KISSELBACH]
    assert await pair.peer_keys("Parkplatzsensoren") == []

    await catalogue.unpublish(await actor(KISSELBACH), str(entry.uid))
    with pair.reader.database.bound():
        assert await pair.follower.catch_up() == 1
        assert await pair.follower.catch_up() == 0  # nothing new: nothing handed on twice
    assert pair.reader.services.matcher.store.index.publishers == 0


async def test_many_changes_at_once_reload_the_profiles(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow, "RELOAD_ABOVE", 2)
    for key, title in ((KISSELBACH, "Parkplatzsensoren"), (FLENSBURG, "Parkhaus mit Sensoren"),
                       (FLENSBURG, "Sensoren am Hafen")):
        await pair.writer.catalogue.publish(await actor(key), lesson(title))
    with pair.reader.database.bound():
        assert await pair.follower.catch_up() == 0  # reloaded instead of handed on one by one
    assert set(await pair.peer_keys("Sensoren am Stellplatz")) == {KISSELBACH, FLENSBURG}
    assert pair.reader.services.matcher.store.index.publishers == 2


async def test_postgres_notify_wakes_the_follower_at_once(pair: Pair) -> None:
    if pair.reader.database.dialect != "postgres":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    pair.follower.interval = 60.0  # polling alone would take a minute
    with pair.reader.database.bound():
        await pair.follower.start()
    await asyncio.sleep(0.5)  # the follower opens its LISTEN connection
    await pair.writer.catalogue.publish(await actor(KISSELBACH), lesson("Parkplatzsensoren mit LoRaWAN"))
    started = time.monotonic()
    while pair.follower.handed < 1 and time.monotonic() - started < 5:
        await asyncio.sleep(0.02)
    assert pair.follower.handed == 1, "the NOTIFY did not wake the follower"
    assert time.monotonic() - started < 2
    assert await pair.peer_keys("Parkplatzsensoren") == [KISSELBACH]


def test_connect_arguments_of_a_tortoise_url() -> None:
    assert connect_arguments("postgres://ex%40a:p%2Fw@db.example:5433/exchange?minsize=1") == {
        "host": "db.example", "port": 5433, "user": "ex@a", "password": "p/w", "database": "exchange"}
    assert connect_arguments("postgres://db/x")["port"] == 5432
