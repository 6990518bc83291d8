"""The `exchange` command: run a node and operate it.

Every command reads its settings from the environment (see `exchange --help`
and the README's table), opens the node's database, and reports errors as one
line naming the problem, with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from exchange.db import Database
from exchange.errors import ExchangeError
from exchange.settings import SETTINGS, Settings, configuration

T = TypeVar("T")
console = Console(stderr=True)

ENV_HELP = "\n".join(f"  {s.env:<28} {s.help} (default: {s.default or '-'})" for s in SETTINGS)


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


@click.group(epilog="Environment variables:\n\n" + ENV_HELP, context_settings={"max_content_width": 110})
@click.version_option(package_name="exchange")
def main() -> None:
    """Run and operate a node of the exchange, where municipalities share what they
    learned from their digital projects."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--node-url", default=None,
              help="The node's public URL, when none is configured (recorded in exchange.toml).")
@click.option("--demo", is_flag=True, help="Load the bundled register, topics and demo content into an empty node.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option("--proxy-headers/--no-proxy-headers", default=True, show_default=True,
              help="Behind a reverse proxy: take the client's address and scheme from X-Forwarded-For/-Proto "
                   "sent by the addresses in FORWARDED_ALLOW_IPS (default 127.0.0.1).")
def serve(host: str, port: int, node_url: str | None, demo: bool, workers: int, proxy_headers: bool) -> None:
    """Serve web pages, /graphql and /healthz (checks and migrates the database first)."""
    import uvicorn

    from exchange.app import build_node
    from exchange.settings import record_node_url, served_node_url

    settings = settings_from_env()
    try:
        url, record = served_node_url(settings, host, port, node_url)
    except ExchangeError as exc:
        raise click.ClickException(exc.message) from None
    settings = settings.with_(node_url=url)

    async def prepare(db: Database, s: Settings) -> None:
        node = build_node(settings, database=db)
        if demo:
            from exchange.demo import load_demo

            progress, update = progress_bar("Loading the municipality register")
            with progress:
                report = await load_demo(node.catalogue, progress=update)
            console.print(
                f"demo: {report.municipalities} municipalities, {report.topics} topics, "
                f"{report.organisations} organisations, {report.entries} entries loaded"
            )
            from exchange.accounts.demo import demo_operator

            console.print(await demo_operator(settings))
        else:
            from exchange.demo import ensure_reference_data

            await ensure_reference_data()

    run(prepare, settings=settings)
    if record:
        path = record_node_url(settings, url)
        console.print(f"node URL {url} recorded in {path}: commands sign as this node",
                      highlight=False, soft_wrap=True)
    console.print(f"serving {settings.node_name} at http://{host}:{port} (node id {settings.node_url})",
                  highlight=False, soft_wrap=True)
    logging.getLogger().setLevel(settings.log_level)
    from exchange.server import GuardedProtocol, quiet_disconnects

    GuardedProtocol.read_timeout = settings.read_timeout
    level = settings.log_level.lower()
    if workers > 1:  # each worker imports the protocol by name and sets its timeout in exchange.asgi
        uvicorn.run("exchange.asgi:app", host=host, port=port, workers=workers, log_level=level,
                    http="exchange.server:GuardedProtocol", proxy_headers=proxy_headers)
    else:
        from exchange.app import create_app

        uvicorn.run(quiet_disconnects(create_app(settings)), host=host, port=port, log_level=level,
                    http=GuardedProtocol, proxy_headers=proxy_headers)


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""

    async def go(db: Database, s: Settings) -> list[str]:
        return await db.migrate()

    applied = run(go, migrate=False)
    click.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


@main.group(name="import")
def import_() -> None:
    """Import the municipality register or guide bundles."""


@import_.command("municipalities")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_municipalities(file: Path) -> None:
    """Import a Destatis GV100AD file (the fixed-width file as published, plain or .gz)."""
    from exchange.registry import import_register, read_register

    async def go(db: Database, s: Settings) -> Any:
        register = read_register(file)
        progress, update = progress_bar("Importing municipalities")
        with progress:
            return await import_register(register, progress=update)

    try:
        report = run(go)
    except click.ClickException as exc:
        raise click.ClickException(f"{file}: {exc.message}") from None
    click.echo(
        f"register of {report.register_date}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.deactivated} no longer listed (kept, marked inactive); "
        f"{report.located} with coordinates"
    )


@main.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL schema (SDL), as graphql/schema.graphql holds it."""
    from exchange.api.schema import export_sdl

    sys.stdout.write(export_sdl())


def _register_optional_commands() -> None:
    """Commands of other parts of the node (federation, matching, curation)."""
    from exchange.cli import commands as cli_commands

    for command in cli_commands.commands():
        main.add_command(command)
    for command in cli_commands.import_commands():
        import_.add_command(command)


_register_optional_commands()
