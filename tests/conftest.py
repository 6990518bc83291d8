"""Fixtures shared by the whole suite.

`db` gives each test a migrated, empty database bound as the current one:
a fresh SQLite file by default, or the PostgreSQL database named by
EXCHANGE_TEST_DATABASE_URL (migrated once per run, emptied before each test).
Extra nodes of multi-node tests get their own databases of the same dialect
(`<name>_<node>` on PostgreSQL, created when missing): tortoise cannot hold
SQLite and PostgreSQL nodes in one process.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange.db import Database

PG_URL = os.environ.get("EXCHANGE_TEST_DATABASE_URL", "")
_pg_migrated: set[str] = set()


def _pg_url_for(name: str) -> str:
    if name == "node":
        return PG_URL
    base, _, dbname = PG_URL.rpartition("/")
    dbname, sep, query = dbname.partition("?")
    return f"{base}/{dbname}_{name}{sep}{query}"


async def _empty_postgres(db: Database) -> None:
    conn = db.connection()
    rows = await conn.execute_query_dict(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename NOT LIKE 'tortoise_%'"
    )
    names = ", ".join(f'"{r["tablename"]}"' for r in rows)
    if names:
        await conn.execute_script(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


async def _create_postgres_database(dbname: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgres://", "postgresql://", 1))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", dbname):
            await conn.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        await conn.close()


async def make_database(tmp_path: Path, name: str = "node") -> Database:
    """A migrated, empty database for one test (one per node in multi-node tests)."""
    if PG_URL:
        if name != "node" and name not in _pg_migrated:
            await _create_postgres_database(_pg_url_for(name).rpartition("/")[2].partition("?")[0])
        db = Database(_pg_url_for(name))
        await db.open()
        with db.bound():
            if name not in _pg_migrated:
                await db.connection().execute_script(
                    "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
                )
                await db.migrate()
                _pg_migrated.add(name)
            await _empty_postgres(db)
        return db
    path = tmp_path / (name + ".db")
    shutil.copyfile(await _sqlite_template(), path)  # migrating anew took seconds per test
    db = Database(f"sqlite://{path}")
    await db.open()
    return db


def process_database(tmp_path: Path, name: str) -> str:
    """A fresh, empty database URL for a node run as its own process (`exchange serve`):
    PostgreSQL database `<test database>_procs_<name>` when EXCHANGE_TEST_DATABASE_URL is
    set (its schema dropped), else a SQLite file in tmp_path. The process migrates it."""
    if not PG_URL:
        return f"sqlite://{tmp_path / name}.db"
    url = _pg_url_for(f"procs_{name}")
    dbname = url.rpartition("/")[2].partition("?")[0]

    async def fresh() -> None:
        import asyncpg

        from exchange.follow import connect_arguments

        await _create_postgres_database(dbname)
        conn = await asyncpg.connect(**connect_arguments(url))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()
    asyncio.run(fresh())
    return url


def database_rows(url: str, sql: str) -> list[tuple[object, ...]]:
    """The rows of one query against a process's database (SQLite file or PostgreSQL)."""
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            return list(conn.execute(sql))

    async def fetch() -> list[tuple[object, ...]]:
        import asyncpg

        from exchange.follow import connect_arguments

        conn = await asyncpg.connect(**connect_arguments(url))
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    return asyncio.run(fetch())


_template: list[Path] = []


async def _sqlite_template() -> Path:
    """A SQLite file migrated once per run; each test's database starts as a copy of it."""
    if not _template:
        folder = Path(tempfile.mkdtemp(prefix="exchange-test-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "migrated.db"
        db = Database(f"sqlite://{path}")
        await db.open(create=True)
        await db.migrate()
        await db.connection().execute_script("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.close()
        assert not path.with_name(path.name + "-wal").exists() or not path.with_name(path.name + "-wal").stat().st_size
        _template.append(path)
    return _template[0]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await make_database(tmp_path)
    with database.bound():
        yield database
    await database.close()
