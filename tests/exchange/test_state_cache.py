"""The conditional GET's state tag is kept in the process on PostgreSQL while the change follower
LISTENs, and forgotten with every write to the state's tables, whoever makes it: another
connection that tells nobody (the triggers' NOTIFY), this process, a lost LISTEN connection.
On SQLite it is kept while the database file and its log stand unchanged."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exchange.db import Database, current_connection
from exchange.follow import ChangeFollower, connect_arguments
from exchange.freshness import STATE_CHANNEL, StateCache, state_cache_of, state_tag
from tests.web.webkit import Content, page_client, populate

RAW_WRITES = {
    "an entry version": (
        "INSERT INTO change (entry_uid, version, origin_node, visibility, created_at) "
        "SELECT entry_uid, version + 1, origin_node, visibility, now() FROM change ORDER BY seq DESC LIMIT 1"),
    "a review decision": (
        "INSERT INTO review_event (entry_id, version, from_state, to_state, actor, note, created_at) "
        "SELECT id, version, 'published', 'withdrawn', 'psql', '', now() FROM entry WHERE kind = 'guide' LIMIT 1"),
    "a new register": (
        "INSERT INTO node_state (key, value) VALUES ('register_date', '20991231') "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"),
    "a removed change row": "DELETE FROM change WHERE seq = (SELECT max(seq) FROM change)",
}


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    if db.dialect != "postgres":
        pytest.skip("the state tag is kept only where PostgreSQL's NOTIFY tells of every write")
    return await populate(db, tmp_path)


@pytest.fixture
async def follower(content: Content, db: Database) -> AsyncIterator[ChangeFollower]:
    """The node's change follower, LISTENing (as at the server's startup)."""
    running: ChangeFollower = content.node.extra["follower"]
    running.interval = 0.2
    await running.start()
    kept = state_cache_of(current_connection())
    for _ in range(50):
        if kept.listening:
            break
        await asyncio.sleep(0.1)
    assert kept.listening, "the follower never started to LISTEN"
    try:
        yield running
    finally:
        await running.stop()
        assert not kept.listening, "nobody LISTENs any more: nothing may be kept"


async def raw(db: Database, sql: str) -> None:
    """A connection of its own, as another process or psql writes: it tells nobody."""
    import asyncpg

    conn = await asyncpg.connect(**connect_arguments(db.url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def revalidated(client: httpx.AsyncClient, tag: str, within: float = 2.0) -> httpx.Response:
    """The first answer other than 304 to a revalidation with `tag`, asking for `within` seconds."""
    started = time.monotonic()
    while True:
        answer = await client.get("/search", headers={"If-None-Match": tag})
        if answer.status_code != 304 or time.monotonic() - started > within:
            return answer
        await asyncio.sleep(0.01)


async def kept_tag_answers(client: httpx.AsyncClient, kept: StateCache) -> tuple[str, int]:
    """A page's tag, then three revalidations answered 304 by the kept tag without a query;
    returns the tag and the count of reads so far."""
    tag = (await client.get("/search")).headers["etag"]
    reads, hits = kept.reads, kept.hits
    for _ in range(3):
        assert (await client.get("/search", headers={"If-None-Match": tag})).status_code == 304
    assert kept.hits == hits + 3 and kept.reads == reads, "the kept tag answered without a query"
    return tag, reads


@pytest.mark.parametrize("write", list(RAW_WRITES))
async def test_a_write_of_another_connection_ends_the_kept_tag(content: Content, db: Database,
                                                               follower: ChangeFollower, write: str) -> None:
    kept = state_cache_of(current_connection())
    async with page_client(content, db) as client:
        tag, reads = await kept_tag_answers(client, kept)
        await raw(db, RAW_WRITES[write])
        started = time.monotonic()
        after = await revalidated(client, tag, within=3.0)
        assert after.status_code == 200 and after.headers["etag"] != tag, f"{write} was not heard"
        assert time.monotonic() - started < 2.0
        assert kept.reads > reads


async def test_a_write_of_this_process_is_seen_by_its_next_request(content: Content, db: Database,
                                                                   follower: ChangeFollower) -> None:
    from exchange.auth import Actor, find_publisher
    from exchange.curation.review import set_review_state

    async with page_client(content, db) as client:
        page = await client.get(f"/entries/{content.guide}")
        assert (await client.get(f"/entries/{content.guide}", headers={"If-None-Match": page.headers["etag"]})
                ).status_code == 304
        curator = Actor(publisher=await find_publisher("kompetenzzentrum"), scopes=frozenset({"curate"}))
        # the follower no longer hears the triggers' NOTIFY (as while it is still on its way)
        await follower._listen.remove_listener(STATE_CHANNEL, follower._state_notified)
        await set_review_state(content.node.catalogue, curator, content.guide, "withdrawn")
        kept = state_cache_of(current_connection())
        assert kept.tag is None, "this process's own write forgets the tag before anything is heard"
        gone = await client.get(f"/entries/{content.guide}", headers={"If-None-Match": page.headers["etag"]})
    assert gone.status_code == 404


async def test_a_lost_listen_connection_keeps_nothing(content: Content, db: Database,
                                                      follower: ChangeFollower) -> None:
    kept = state_cache_of(current_connection())
    async with page_client(content, db) as client:
        tag = (await client.get("/search")).headers["etag"]
        assert (await client.get("/search", headers={"If-None-Match": tag})).status_code == 304
        assert kept.tag is not None
        # the follower stops looking (so it does not LISTEN again), its LISTEN connection is ended
        task, follower._task = follower._task, None
        assert task is not None
        task.cancel()
        pid = follower._listen.get_server_pid()
        await raw(db, f"SELECT pg_terminate_backend({pid})")
        for _ in range(100):
            if not kept.listening:
                break
            await asyncio.sleep(0.02)
        assert not kept.listening and kept.tag is None
        # a write nobody hears: the next revalidation reads, and so does every one after it
        await raw(db, RAW_WRITES["a review decision"])
        after = await client.get("/search", headers={"If-None-Match": tag})
        assert after.status_code == 200 and after.headers["etag"] != tag
        reads, hits = kept.reads, kept.hits
        for _ in range(3):
            assert (await client.get("/search", headers={"If-None-Match": after.headers["etag"]})).status_code == 304
        assert kept.reads == reads + 3 and kept.hits == hits


async def test_a_tag_read_while_a_write_is_heard_is_not_kept(content: Content, db: Database,
                                                             follower: ChangeFollower) -> None:
    """The read starts, a NOTIFY arrives, the read ends: its answer may be older than the write."""
    import asyncpg

    kept = state_cache_of(current_connection())
    blocker = await asyncpg.connect(**connect_arguments(db.url))
    try:
        # another transaction holds node_state: the tag's query waits for it
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE node_state IN ACCESS EXCLUSIVE MODE")
        kept.changed()
        reads = kept.reads
        reading = asyncio.create_task(state_tag())
        for _ in range(100):
            if kept.reads > reads:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert not reading.done()
        generation = kept.generation
        await raw(db, "NOTIFY exchange_state")  # a write elsewhere, heard while the read waits
        for _ in range(100):
            if kept.generation != generation:
                break
            await asyncio.sleep(0.01)
        assert kept.generation != generation, "the NOTIFY was not heard"
        await tx.rollback()
        await reading
    finally:
        await blocker.close()
    assert kept.tag is None, "a tag read before a write was heard must not be kept"
    reads = kept.reads
    await state_tag()
    await state_tag()
    assert kept.reads == reads + 1 and kept.tag is not None  # read anew once, then kept


async def test_the_migration_made_the_triggers(content: Content, db: Database) -> None:
    rows = await current_connection().execute_query_dict(
        "SELECT c.relname AS t FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "WHERE g.tgname LIKE '%_state_notify' AND NOT g.tgisinternal ORDER BY 1")
    assert [r["t"] for r in rows] == ["change", "node_state", "review_event"]


async def test_nothing_is_kept_without_a_listener(db: Database, tmp_path: Path) -> None:
    """PostgreSQL with no follower LISTENing: every conditional GET reads the state."""
    if db.dialect != "postgres":
        pytest.skip("SQLite keeps the tag while its files stand (below)")
    content = await populate(db, tmp_path)
    kept = state_cache_of(current_connection())
    assert isinstance(kept, StateCache) and not kept.listening
    async with page_client(content, db) as client:
        tag = (await client.get("/search")).headers["etag"]
        reads, hits = kept.reads, kept.hits
        for _ in range(3):
            assert (await client.get("/search", headers={"If-None-Match": tag})).status_code == 304
    assert kept.reads == reads + 3 and kept.hits == hits and kept.tag is None


# The same writes in SQLite's words: its clock, and another writer's name.
SQLITE_WRITES = {what: sql.replace("now()", "datetime('now')").replace("'psql'", "'sqlite3'")
                 for what, sql in RAW_WRITES.items()}


@pytest.fixture
async def sqlite_content(db: Database, tmp_path: Path) -> Content:
    if db.dialect == "postgres":
        pytest.skip("SQLite's files")
    return await populate(db, tmp_path)


def sqlite_write(db: Database, sql: str) -> None:
    """Another process's write (Python's own sqlite3 module, its own connection): it tells nobody."""
    import sqlite3

    filename = state_cache_of(current_connection()).filename
    assert filename is not None
    with contextlib.closing(sqlite3.connect(filename)) as conn, conn:
        conn.execute(sql)


@pytest.mark.parametrize("write", list(SQLITE_WRITES))
async def test_sqlite_keeps_the_tag_while_its_files_stand(sqlite_content: Content, db: Database,
                                                           write: str) -> None:
    kept = state_cache_of(current_connection())
    await asyncio.sleep(0.05)  # (a tag is kept only when the last write is 20 ms old)
    async with page_client(sqlite_content, db) as client:
        tag, reads = await kept_tag_answers(client, kept)
        sqlite_write(db, SQLITE_WRITES[write])
        after = await client.get("/search", headers={"If-None-Match": tag})
        assert after.status_code == 200 and after.headers["etag"] != tag, f"{write} was not seen"
        assert kept.reads == reads + 1


async def test_sqlite_keeps_no_tag_read_just_after_a_write(sqlite_content: Content, db: Database) -> None:
    """A write within the file system's timestamp granularity could leave the files' state as it
    was: a tag read within 20 ms of the last write is not kept."""
    kept = state_cache_of(current_connection())
    sqlite_write(db, SQLITE_WRITES["an entry version"])
    reads = kept.reads
    await state_tag()
    await state_tag()
    assert kept.reads == reads + 2 and kept.tag is None
    await asyncio.sleep(0.05)
    await state_tag()
    await state_tag()
    assert kept.reads == reads + 3 and kept.tag is not None


def test_an_in_memory_database_keeps_nothing() -> None:
    cache = StateCache()  # what `state_cache_of` gives for ":memory:" and for transactions
    cache.put(cache.stamp(), "1.0.")
    assert cache.stamp() is None and cache.get() is None
