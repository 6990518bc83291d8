"""Who a token or session stands for is kept between requests, and never once anything about it changed:
in this process, in another process (the command line), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from exchange.accounts.cache import AccountsCache, cache_of
from exchange.accounts.models import Membership, Person
from exchange.accounts.people import remove_membership
from exchange.auth import TokenRefusedError, person_actor, token_actor
from exchange.db import Database, current_connection
from exchange.follow import ChangeFollower
from exchange.sessions import end_session, new_session_id, open_person_session, resume_session
from exchange.tokens import create_own, find_token, revoke
from tests.helpers import seed
from tests.web.accountkit import add_member
from tests.web.webkit import KISSELBACH


@pytest.fixture
async def cache(db: Database) -> AsyncIterator[AccountsCache]:
    """The accounts cache of `db`, with a change follower LISTENing where the database is PostgreSQL."""
    await seed(db)
    follower = ChangeFollower(db, [], interval=0.2)
    await follower.start()
    kept = cache_of(current_connection())
    for _ in range(50):
        if kept.stamp() is not None:
            break
        await asyncio.sleep(0.1)
    assert kept.stamp() is not None, "the follower never started to LISTEN"
    try:
        yield kept
    finally:
        await follower.stop()
        assert db.dialect == "sqlite" or kept.stamp() is None, "nobody LISTENs any more: nothing may be kept"


async def settled() -> None:
    await asyncio.sleep(0.05)  # SQLite: answers are kept only once the last write is 20 ms old


async def editor_with_token() -> tuple[Person, int, str]:
    now = datetime.now(UTC)
    person, membership = await add_member("erika@kisselbach.example", "Erika", KISSELBACH, "editor", now)
    token, _ = await create_own(await person_actor(person), publisher_key=KISSELBACH, scopes=["publish"],
                                label="test", valid_days=30, now=now)
    return person, membership, token


async def test_a_token_is_read_once_while_nothing_changes(cache: AccountsCache) -> None:
    _, _, token = await editor_with_token()
    first = await token_actor(token, now=datetime.now(UTC))  # reads, stamps last_used_at
    await settled()
    second = await token_actor(token, now=datetime.now(UTC))  # reads again: the stamp was a write
    await settled()
    hits = cache.hits
    third = await token_actor(token, now=datetime.now(UTC))
    assert cache.hits == hits + 1
    assert first == second == third and third.publisher is not None and "publish" in third.scopes


async def test_a_token_revoked_in_this_process_is_refused_at_once(cache: AccountsCache) -> None:
    _, _, token = await editor_with_token()
    for _ in range(2):
        await token_actor(token, now=datetime.now(UTC))
        await settled()
    now = datetime.now(UTC)
    await revoke(await find_token(token[:12]), now=now)
    with pytest.raises(TokenRefusedError) as refused:
        await token_actor(token, now=now)
    assert refused.value.reason == "revoked"


async def test_a_token_revoked_on_the_command_line_is_refused_on_the_next_request(
        cache: AccountsCache, db: Database) -> None:
    _, _, token = await editor_with_token()
    for _ in range(2):
        await token_actor(token, now=datetime.now(UTC))
        await settled()
    hits = cache.hits
    await token_actor(token, now=datetime.now(UTC))
    assert cache.hits == hits + 1, "the token is not kept, so this test would prove nothing"
    row = await find_token(token[:12])
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "exchange", "tokens", "revoke", str(row.id)],
        env={**os.environ, "EXCHANGE_DATABASE_URL": db.url}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    if db.dialect == "postgres":
        await asyncio.sleep(0.2)  # the NOTIFY travels from the command's commit to this process's LISTEN
    with pytest.raises(TokenRefusedError):
        await token_actor(token, now=datetime.now(UTC))


async def test_an_expired_token_is_refused_though_it_was_kept(cache: AccountsCache) -> None:
    _, _, token = await editor_with_token()
    for _ in range(3):
        await token_actor(token, now=datetime.now(UTC))
        await settled()
    with pytest.raises(TokenRefusedError) as refused:
        await token_actor(token, now=datetime.now(UTC) + timedelta(days=31))
    assert refused.value.reason == "expired"


async def test_a_session_follows_sign_out_and_a_removed_membership(cache: AccountsCache, db: Database) -> None:
    person, membership, _ = await editor_with_token()
    sid, other = new_session_id(), new_session_id()
    now = datetime.now(UTC)
    await open_person_session(person, sid=sid, now=now)
    await open_person_session(person, sid=other, now=now)
    await settled()
    for _ in range(2):
        actor = await resume_session(sid, now=datetime.now(UTC))
        await resume_session(other, now=datetime.now(UTC))
    assert actor.publisher is not None and actor.publisher.key == KISSELBACH
    await end_session(sid, now=datetime.now(UTC))
    assert not (await resume_session(sid, now=datetime.now(UTC))).authenticated
    # another process removes the membership: the other session acts for nobody from its next request on
    await settled()
    await resume_session(other, now=datetime.now(UTC))  # read again after the sign-out, and kept
    hits = cache.hits
    assert (await resume_session(other, now=datetime.now(UTC))).publisher is not None
    assert cache.hits == hits + 1
    operator = await person_actor(await Person.create(email="olga@node.example", display_name="Olga",
                                                      operator=True, created_at=now))
    if db.dialect == "sqlite":
        await asyncio.to_thread(_delete_membership_elsewhere, db.url, membership)
    else:
        await remove_membership(operator, membership, now=now)
    assert not await Membership.exists(id=membership)
    assert (await resume_session(other, now=datetime.now(UTC))).publisher is None


def _delete_membership_elsewhere(url: str, membership: int) -> None:
    """A plain sqlite3 connection of its own, as another process writes: it tells nobody."""
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
        conn.execute("DELETE FROM membership WHERE id = ?", (membership,))


async def test_nothing_is_kept_where_no_change_could_be_heard(db: Database) -> None:
    """PostgreSQL without a LISTENing follower: every request reads."""
    if db.dialect != "postgres":
        pytest.skip("SQLite watches its files and needs no follower")
    await seed(db)
    _, _, token = await editor_with_token()
    kept = cache_of(current_connection())
    hits = kept.hits
    for _ in range(3):
        await token_actor(token, now=datetime.now(UTC))
    assert kept.stamp() is None and kept.hits == hits
