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
