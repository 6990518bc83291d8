"""Running a command against the node: settings, the database, errors as one line.

Every command reads its settings from the environment over exchange.toml
(see `exchange --help` and the README's table), checks and opens the node's
database through `run`, and reports errors as one line naming the problem,
with a non-zero exit code, never a traceback. `progress_bar` shows long
imports on a terminal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from exchange.db import Database
from exchange.errors import ExchangeError
from exchange.settings import Settings, configuration

T = TypeVar("T")
console = Console(stderr=True)


class _Logs:
    json = False  # EXCHANGE_LOG_FORMAT=json: stderr holds JSON lines only


def configure_logging() -> None:
    """A command's logging. By default warnings as text on stderr. With EXCHANGE_LOG_FORMAT=json
    (environment or exchange.toml) one JSON object per line on stderr, as `serve` writes them:
    log records from EXCHANGE_LOG_LEVEL up, the command's own messages on stderr, and its
    one-line error (`json_error`). What a command prints on stdout is its result and stays."""
    import logging.config
    import os
    from typing import IO, cast

    try:
        settings = configuration()
        log_format, level = settings.log_format, settings.log_level
    except ExchangeError:  # the command names the bad setting itself
        log_format = os.environ.get("EXCHANGE_LOG_FORMAT", "text").strip().lower()
        level = os.environ.get("EXCHANGE_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_format != "json":
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return
    from exchange.logs import LogLines, log_config

    _Logs.json = True
    try:
        logging.config.dictConfig(log_config("json", level))
    except ValueError:  # an unknown level: the command names it; the log stays JSON
        logging.config.dictConfig(log_config("json", "INFO"))
    console.file = cast("IO[str]", LogLines(logging.getLogger("exchange.cli")))


def json_error(exc: click.ClickException) -> bool:
    """Log a command's one-line error as a JSON line when the log is JSON (True), else leave it to click."""
    if not _Logs.json:
        return False
    import logging

    logging.getLogger("exchange.cli").error(exc.format_message())
    return True


def settings_from_env() -> Settings:
    """The node's settings: the environment over exchange.toml (exchange.settings.configuration)."""
    try:
        return configuration()
    except ExchangeError as exc:
        raise click.ClickException(exc.message) from None


async def checked_database(settings: Settings) -> None:
    """Check the database first (exchange.preflight): one line within seconds when unusable."""
    from exchange.preflight import check_database

    state = await check_database(settings)
    if state.created or settings.database_relative:
        console.print(f"database: {state.description}" + (" (new, created now)" if state.created else ""),
                      highlight=False, soft_wrap=True)


def run(coro_fn: Callable[[Database, Settings], Awaitable[T]], *, migrate: bool = True,
        settings: Settings | None = None) -> T:
    """Check and open the node's database (migrated), run `coro_fn`, close; errors become one line."""
    settings = settings or settings_from_env()

    async def main() -> T:
        await checked_database(settings)
        db = Database(settings.database_url)
        try:
            await db.open(create=True)
        except Exception as exc:  # noqa: BLE001 - any driver error becomes one line
            raise click.ClickException(f"cannot open the database {settings.database_url}: {exc}") from None
        try:
            with db.bound():
                if migrate:
                    await db.migrate()
                return await coro_fn(db, settings)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except ExchangeError as exc:
        raise click.ClickException(f"{exc.message} [{exc.code}]") from None


def progress_bar(description: str) -> tuple[Progress, Callable[[int, int], None]]:
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=console, transient=False, disable=not console.is_terminal,
    )
    task = progress.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update
