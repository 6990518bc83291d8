"""The check every command and the server run before they touch the database.

A database that cannot be used must be named in one line within seconds,
with the setting to fix: a SQLite file in a folder that does not exist, a
file that is not writable or not a SQLite database, a PostgreSQL server that
refuses, does not answer, does not know the user or the database, and a
database whose schema a newer version of the exchange wrote. Without this
check the drivers hang (aiosqlite never reports a file it cannot open) or
print their tracebacks. `EXCHANGE_DATABASE_WAIT` lets a starting server wait
for a PostgreSQL that is not ready yet, logging each retry.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pkgutil
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from exchange.errors import ExchangeError
from exchange.settings import Settings, sqlite_path

log = logging.getLogger("exchange.preflight")

CONNECT_TIMEOUT = 3.0
RETRY_EVERY = 2.0
MIGRATIONS_TABLE = "tortoise_migrations"


class DatabaseUnavailableError(ExchangeError):
    """The database cannot be used; `transient` when waiting may help (PostgreSQL starting)."""

    code = "DATABASE_UNAVAILABLE"

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class DatabaseState:
    description: str  # "SQLite /srv/node/exchange.db" or "PostgreSQL exchange@db:5432/exchange"
    created: bool  # a SQLite file that did not exist yet


def known_migrations() -> set[str]:
    import migrations

    return {m.name for m in pkgutil.iter_modules(migrations.__path__) if m.name[:4].isdigit()}


def masked(url: str) -> str:
    """The URL without its password, to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


async def check_database(settings: Settings, *, create: bool = True) -> DatabaseState:
    """Check the configured database once, or wait up to `settings.database_wait` for it."""
    deadline = time.monotonic() + settings.database_wait
    while True:
        try:
            return await _check_once(settings, create=create)
        except DatabaseUnavailableError as exc:
            left = deadline - time.monotonic()
            if not exc.transient or left <= 0:
                raise
            log.warning("%s; retrying in %g s (EXCHANGE_DATABASE_WAIT: %.0f s left)",
                        exc.message, RETRY_EVERY, left)
            await asyncio.sleep(min(RETRY_EVERY, left))


async def _check_once(settings: Settings, *, create: bool) -> DatabaseState:
    url = settings.database_url
    where = settings.origin("database_url")
    if url.startswith("sqlite://"):
        return await asyncio.to_thread(check_sqlite, url, where, create)
    if url.startswith(("postgres://", "postgresql://")):
        return await _check_postgres(url, where)
    raise DatabaseUnavailableError(
        f"the database URL {masked(url)} is neither sqlite:// nor postgres:// (set {where})")


def check_sqlite(url: str, where: str, create: bool) -> DatabaseState:
    raw = sqlite_path(url)
    if raw is None:
        return DatabaseState("SQLite in memory", created=False)
    path = Path(raw)
    fix = f"(set {where})"
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise DatabaseUnavailableError(f"the folder {folder} of the database {path} {what} {fix}")
    if path.is_dir():
        raise DatabaseUnavailableError(f"the database {path} is a folder, not a file {fix}")
    if not path.exists():
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DatabaseUnavailableError(f"cannot create the database {path}: the folder is not writable {fix}")
        if not create:
            raise DatabaseUnavailableError(f"there is no database at {path} {fix}")
        try:  # the folder's mode does not tell (root, /proc, a read-only mount): make the file now
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            pass
        except OSError as exc:
            raise DatabaseUnavailableError(f"cannot create the database {path}: {exc.strerror} {fix}") from None
        return DatabaseState(f"SQLite {path}", created=True)
    if not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseUnavailableError(f"the database {path} is not readable and writable by this user {fix}")
    if not os.access(folder, os.W_OK | os.X_OK):
        # SQLite writes its journal beside the file.
        raise DatabaseUnavailableError(f"the folder of the database {path} is not writable (SQLite keeps its "
                                       f"journal there) {fix}")
    try:
        with sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=CONNECT_TIMEOUT) as con:
            con.execute("PRAGMA schema_version").fetchone()
            has_table = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
            ).fetchone()
            applied = ({row[0] for row in con.execute(
                f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = 'models'")}
                if has_table else set())
        con.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnavailableError(f"{path} is not a usable SQLite database: {exc} {fix}") from None
    _refuse_newer(applied, f"SQLite {path}")
    return DatabaseState(f"SQLite {path}", created=False)


async def _check_postgres(url: str, where: str) -> DatabaseState:
    import asyncpg

    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or 5432
    user, database = unquote(parts.username or ""), parts.path.lstrip("/")
    server = f"PostgreSQL at {host}:{port}"
    fix = f"(set {where})"
    try:
        con = await asyncio.wait_for(
            asyncpg.connect(host=host, port=port, user=user or None, database=database or None,
                            password=unquote(parts.password) if parts.password else None,
                            timeout=CONNECT_TIMEOUT),
            CONNECT_TIMEOUT + 0.5)
    except TimeoutError:
        raise DatabaseUnavailableError(f"{server} did not answer within {CONNECT_TIMEOUT:g} s {fix}",
                                       transient=True) from None
    except socket.gaierror:
        raise DatabaseUnavailableError(f"the database host {host!r} is unknown {fix}") from None
    except ConnectionRefusedError:
        raise DatabaseUnavailableError(f"{server} refused the connection (not running, or another port?) {fix}",
                                       transient=True) from None
    except asyncpg.CannotConnectNowError:
        raise DatabaseUnavailableError(f"{server} is starting up {fix}", transient=True) from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        raise DatabaseUnavailableError(f"{server} refused user {user!r}: wrong password or no such role "
                                       f"{fix}") from None
    except asyncpg.InvalidCatalogNameError:
        raise DatabaseUnavailableError(f"{server} has no database {database!r}; create it "
                                       f"(createdb -O {user or 'USER'} {database}) {fix}") from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnavailableError(f"{server}: {text} {fix}", transient=isinstance(exc, OSError)) from None
    try:
        exists = await con.fetchval("SELECT to_regclass($1) IS NOT NULL", MIGRATIONS_TABLE)
        applied = ({r["name"] for r in await con.fetch(
            f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = 'models'")}
            if exists else set())
    finally:
        await con.close()
    description = f"PostgreSQL {user}@{host}:{port}/{database}"
    _refuse_newer(applied, description)
    return DatabaseState(description, created=False)


def _refuse_newer(applied: set[str], description: str) -> None:
    unknown = sorted(applied - known_migrations())
    if unknown:
        raise DatabaseUnavailableError(
            f"the database ({description}) has schema version {unknown[-1]}, newer than this version of "
            f"the exchange knows: upgrade the exchange, or set EXCHANGE_DATABASE_URL to another database")
