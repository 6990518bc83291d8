"""The node's database: one tortoise context per node, migrations, dialect helpers.

Each node owns a `Database` holding its own `TortoiseContext`, so that several
nodes can live in one process (tests, benchmarks) without sharing
connections. `Database.bound()` makes the node's connections current for the
code that runs inside it; the ASGI middleware in `exchange.app` does that per
request.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connections
from tortoise.context import TortoiseContext, _current_context
from tortoise.migrations.executor import MigrationExecutor

from exchange.preflight import DatabaseUnavailableError, check_sqlite
from exchange.settings import sqlite_path

APP_LABEL = "models"
MODELS_MODULE = "exchange.models"
ACCOUNT_MODELS_MODULE = "exchange.accounts.models"
ATTACHMENT_MODELS_MODULE = "exchange.attachments.models"
CALL_MODELS_MODULE = "exchange.calls.models"
MIGRATIONS_MODULE = "migrations"


def tortoise_config(url: str) -> dict[str, Any]:
    """The tortoise configuration for a database URL."""
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    return {
        "connections": {"default": url},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE, ACCOUNT_MODELS_MODULE, ATTACHMENT_MODELS_MODULE, CALL_MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Read by `tortoise -c exchange.db.TORTOISE_ORM makemigrations`.
TORTOISE_ORM = tortoise_config("sqlite://exchange.db")


class Database:
    """The connections of one node's database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.context = TortoiseContext()
        self._opened = False
        self._none_pending_at: float | None = None  # when the plan was last seen empty (monotonic)

    @property
    def dialect(self) -> str:
        return "postgres" if self.url.startswith(("postgres://", "postgresql://")) else "sqlite"

    async def open(self, *, create: bool = False) -> None:
        if self._opened:
            return
        if self.dialect == "sqlite":
            _check_sqlite_file(self.url, create=create)
        _claim_dialect(self.dialect)
        with self.bound():
            # PostgreSQL databases are made by their operator (CREATE DATABASE needs
            # rights a node should not hold); a SQLite file is made when missing.
            await self.context.init(
                config=tortoise_config(self.url), _create_db=create and self.dialect == "sqlite"
            )
        self._opened = True

    async def close(self) -> None:
        if self._opened:
            with self.bound():
                await self.context.close_connections()
            self._opened = False
            _open_dialects[self.dialect] -= 1

    @contextmanager
    def bound(self) -> Iterator[None]:
        """Make this database the current one for the code inside."""
        token: contextvars.Token[Any] = _current_context.set(self.context)
        try:
            yield
        finally:
            _current_context.reset(token)

    def connection(self) -> BaseDBAsyncClient:
        return self.context.db()

    async def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names applied."""
        applied: list[str] = []

        def progress(event: str, app_label: str, name: str) -> None:
            if event.endswith("_done") or event in {"apply_done", "done"}:
                applied.append(name)

        with self.bound():
            executor = MigrationExecutor(self.connection(), tortoise_config(self.url)["apps"])
            await executor.migrate(progress=progress)
        self._none_pending_at = time.monotonic()
        return applied

    async def pending_migrations(self, *, max_age: float = 0.0) -> list[str]:
        """The migrations not applied yet ("models.0011_purge_withdrawn"). With `max_age`, an empty plan seen less than
        `max_age` seconds ago is answered again without reading the plan: making it (the
        migration modules on disk, the applied ones in the database, their graph) takes
        2-9 ms of the event loop, too much for every health check."""
        seen = self._none_pending_at
        if max_age > 0 and seen is not None and time.monotonic() - seen < max_age:
            return []
        with self.bound():
            executor = MigrationExecutor(self.connection(), tortoise_config(self.url)["apps"])
            plan = await executor.plan()
        pending = [f"{step.migration.app_label}.{step.migration.name}" for step in plan]
        self._none_pending_at = None if pending else time.monotonic()
        return pending


def _check_sqlite_file(url: str, *, create: bool) -> None:
    """Refuse, with the reason, a SQLite database that cannot be opened: the ORM's connection
    then waits forever instead of failing (a missing folder, a file that cannot be made)."""
    raw = sqlite_path(url)
    if raw is None:
        return
    if create:
        check_sqlite(url, "the database URL", create=True)
    elif not Path(raw).parent.is_dir():
        raise DatabaseUnavailableError(f"the folder {Path(raw).parent} of the database {raw} does not exist")


_open_dialects: dict[str, int] = {"sqlite": 0, "postgres": 0}
_last_dialect: str | None = None


def _claim_dialect(dialect: str) -> None:
    """One dialect per process at a time.

    tortoise keeps model metadata and prepared statements process-wide, built
    for the dialect of the last initialised database, so a SQLite node and a
    PostgreSQL node cannot be open in one process together. Several nodes of
    one dialect can (tests, benchmarks); switching after all are closed works
    once the statement cache of the other dialect is dropped.
    """
    global _last_dialect
    other = "postgres" if dialect == "sqlite" else "sqlite"
    if _open_dialects[other]:
        raise RuntimeError(
            f"a {other} database is open in this process; {dialect} nodes cannot run beside it"
        )
    if _last_dialect is not None and _last_dialect != dialect:
        EXECUTOR_CACHE.clear()
    _last_dialect = dialect
    _open_dialects[dialect] += 1


def current_connection() -> BaseDBAsyncClient:
    """The connection of the current database, or of the open transaction."""
    return get_connections().get("default")


def dialect_of(client: BaseDBAsyncClient) -> str:
    """'postgres' or 'sqlite' for a connection."""
    name = getattr(getattr(client, "capabilities", None), "dialect", "") or ""
    return "postgres" if "postgres" in name else "sqlite"


# A SQLite file state is trusted only when its last write is this old: a file system whose
# timestamps are coarser could give the next write within that time the same modification time.
SETTLED_NS = 20_000_000


def sqlite_file_state(filename: str) -> tuple[int, int, int, int] | None:
    """A SQLite database's file and write-ahead log as `stat` sees them (modification time and
    size of each; (0, -1) for a log that is not there), or None when the file is not there.

    Every commit, of this process or of any other, appends to the log or, when the log is
    checkpointed, writes the file, and so changes this; reading changes nothing. Two `stat`
    calls, where a query costs a trip to the database's thread."""
    try:
        db = os.stat(filename)
    except OSError:
        return None
    try:
        wal = os.stat(filename + "-wal")
    except OSError:
        return (db.st_mtime_ns, db.st_size, 0, -1)
    return (db.st_mtime_ns, db.st_size, wal.st_mtime_ns, wal.st_size)


def settled(state: tuple[int, int, int, int]) -> bool:
    """Whether the last write seen in `state` (of `sqlite_file_state`) is `SETTLED_NS` old."""
    return time.time_ns() - max(state[0], state[2]) > SETTLED_NS
