"""`exchange backup FILE` and `exchange restore FILE`: the node's database and key in one file."""

from __future__ import annotations

import time
from pathlib import Path

import click

from exchange.cli.runner import run, settings_from_env
from exchange.db import Database
from exchange.settings import Settings


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(file: Path) -> None:
    """Write the node's database (SQLite online backup, or pg_dump) and its key to FILE."""
    from exchange.backup import create_backup
    from federation.identity import NodeKey

    async def go(db: Database, settings: Settings) -> str:
        key_file = settings.resolved_key_file
        if not key_file.is_file():
            raise click.ClickException(f"the node key {key_file} is missing (EXCHANGE_KEY_FILE)")
        started = time.monotonic()
        manifest = create_backup(settings, NodeKey.load_or_create(key_file, settings.node_url).key_id,
                                 file.resolve())
        return (f"backup of {manifest.node_url} (key {manifest.key_id}, {manifest.dialect}, schema "
                f"{manifest.migrations[-1] if manifest.migrations else '-'}) written to {file} "
                f"in {time.monotonic() - started:.1f} s")

    if not file.resolve().parent.is_dir():
        raise click.ClickException(f"the folder {file.resolve().parent} does not exist")
    click.echo(run(go, migrate=False))


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def restore(file: Path) -> None:
    """Restore a backup FILE into this node's empty database, with its key."""
    from exchange.backup import check_target, read_manifest, restore_backup
    from exchange.preflight import known_migrations, masked

    settings = settings_from_env()
    try:
        manifest = read_manifest(file, known_migrations())
        check_target(settings, file, manifest)
    except Exception as exc:  # noqa: BLE001 - BackupError, said in one line below
        raise click.ClickException(str(exc)) from None

    async def go(db: Database, s: Settings) -> str:
        empty = not await _holds_data(db)
        await db.close()  # the restore replaces the database underneath
        restore_backup(s, file, manifest, target_is_empty=empty)
        return (f"restored {manifest.node_url} (key {manifest.key_id}) from the backup of {manifest.created} "
                f"into {masked(s.database_url)}")

    # not migrated first: the backup brings its own schema (migrating an empty database only to
    # replace it took seconds)
    click.echo(run(go, migrate=False, settings=settings))


async def _holds_data(db: Database) -> bool:
    """Whether the target database holds entries or peers (an unmigrated one holds none)."""
    conn = db.connection()
    if db.dialect == "sqlite":
        listed = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('entry', 'peer')"
    else:
        listed = ("SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() "
                  "AND tablename IN ('entry', 'peer')")
    for row in await conn.execute_query_dict(listed):
        if await conn.execute_query_dict(f'SELECT 1 FROM "{row["name"]}" LIMIT 1'):
            return True
    return False
