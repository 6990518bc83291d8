import asyncio
from pathlib import Path

import pytest

from exchange.app import build_node
from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.models import Municipality
from exchange.preflight import DatabaseUnavailableError
from tests.conftest import make_database
from tests.helpers import MUNICIPALITIES, seed, settings_for


async def test_migrated_database_stores_and_counts(db: Database) -> None:
    await Municipality.create(official_key="010010000000", name="Flensburg, Stadt")
    assert await Municipality.filter(official_key="010010000000").count() == 1
    assert await db.pending_migrations() == []


async def test_pending_migrations_kept_only_while_empty_and_fresh(db: Database) -> None:
    conn = db.connection()
    # the one applied last (the newest by number may come before another: 0013 follows 0014)
    rows = await conn.execute_query_dict('SELECT app, name FROM tortoise_migrations ORDER BY id DESC LIMIT 1')
    last = rows[0]
    assert await db.pending_migrations() == []
    await conn.execute_query(f"DELETE FROM tortoise_migrations WHERE name = '{last['name']}'")
    try:
        # an empty plan seen a moment ago is trusted for max_age seconds ...
        assert await db.pending_migrations(max_age=60) == []
        # ... read again without max_age (and whenever it is older): the missing one shows
        pending = await db.pending_migrations()
        assert pending == [f"{last['app']}.{last['name']}"]
        # a plan that is not empty is never kept
        assert await db.pending_migrations(max_age=60) == pending
    finally:
        await conn.execute_query(
            "INSERT INTO tortoise_migrations (app, name, applied_at)"
            f" VALUES ('{last['app']}', '{last['name']}', CURRENT_TIMESTAMP)")
    # the plan was last seen pending: it is read again, and now it is empty
    assert await db.pending_migrations(max_age=60) == []


async def test_entries_stored_before_the_budget_currency_are_in_euros_after_the_upgrade(tmp_path: Path) -> None:
    """Migration 0014 on a database that holds entries (a NOT NULL column needs a default in the database)."""
    db = await make_database(tmp_path, "upgrade")
    try:
        with db.bound():
            await seed(db)
            node = build_node(settings_for(db, tmp_path), database=db)
            publisher = await find_publisher(MUNICIPALITIES[2]["official_key"])
            await node.catalogue.publish(Actor(publisher=publisher, scopes=frozenset({"publish"})), EntryInput(
                kind="project", title="Projekt", summary="Kurz.", body_markdown="Text", topics=["digitalisierung"]))
            conn = db.connection()
            # back to the state before 0014 and 0013 (0013 follows 0014; 0015 makes triggers again where
            # they are, on PostgreSQL only), with the entry kept
            for statement in ("ALTER TABLE entry DROP COLUMN budget_currency", "ALTER TABLE entry DROP COLUMN call",
                              "DROP TABLE call_answer", "DROP TABLE call_refusal", "DROP TABLE call_subscription",
                              "DELETE FROM tortoise_migrations WHERE substr(name, 1, 4) IN ('0013', '0014', '0015')"):
                await conn.execute_script(statement)
            assert await db.migrate() == ["0014_budget_currency_measurements", "0013_calls", "0015_state_notify"]
            assert await conn.execute_query_dict("SELECT budget_currency FROM entry") == [{"budget_currency": "EUR"}]
    finally:
        await db.close()


async def test_a_sqlite_database_that_cannot_be_opened_is_refused_at_once_with_the_reason(tmp_path: Path) -> None:
    # the ORM's connection waited forever on these, with nothing said
    for create in (True, False):
        db = Database(f"sqlite://{tmp_path}/missing/exchange.db")
        with pytest.raises(DatabaseUnavailableError, match=r"folder .*missing of the database .* does not exist"):
            await asyncio.wait_for(db.open(create=create), 5)
    assert not (tmp_path / "missing").exists()  # nothing made on the way
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DatabaseUnavailableError, match="is not a folder"):
        await asyncio.wait_for(Database(f"sqlite://{tmp_path}/file/exchange.db").open(create=True), 5)
