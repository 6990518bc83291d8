"""Fixtures shared by the whole suite.

`db` gives each test a migrated, empty database bound as the current one:
a fresh SQLite file by default, or the PostgreSQL database named by
EXCHANGE_TEST_DATABASE_URL (migrated once per run, emptied before each test).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange.db import Database

PG_URL = os.environ.get("EXCHANGE_TEST_DATABASE_URL", "")
_pg_migrated = False


async def _empty_postgres(db: Database) -> None:
    conn = db.connection()
    rows = await conn.execute_query_dict(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename NOT LIKE 'tortoise_%'"
    )
    names = ", ".join(f'"{r["tablename"]}"' for r in rows)
    if names:
        await conn.execute_script(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


async def make_database(tmp_path: Path, name: str = "node") -> Database:
    """A migrated, empty database for one test (one per node in multi-node tests)."""
    global _pg_migrated
    if PG_URL and name == "node":
        db = Database(PG_URL)
        await db.open()
        with db.bound():
            if not _pg_migrated:
                await db.connection().execute_script(
                    "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
                )
                await db.migrate()
                _pg_migrated = True
            await _empty_postgres(db)
        return db
    db = Database(f"sqlite://{tmp_path / (name + '.db')}")
    await db.open(create=True)
    await db.migrate()
    return db


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await make_database(tmp_path)
    with database.bound():
        yield database
    await database.close()
