"""`exchange backup FILE` and `exchange restore FILE`: the node's database, key and files in one file.

The files of the attachments are in the backup when the node keeps them in its folder; when
they are in an S3 bucket (EXCHANGE_S3_ENDPOINT) they are not, and both commands say so.
"""

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
    """Write the node's database (SQLite online backup, or pg_dump), its key and the attachments'
    files to FILE (files in an S3 bucket are not included: the output says so)."""
    from exchange.backup import FILES_MEMBER, create_backup
    from federation.identity import NodeKey

    async def go(db: Database, settings: Settings) -> str:
        key_file = settings.resolved_key_file
        if not key_file.is_file():
            raise click.ClickException(f"the node key {key_file} is missing (EXCHANGE_KEY_FILE)")
        started = time.monotonic()
        manifest = create_backup(settings, NodeKey.load_or_create(key_file, settings.node_url).key_id,
                                 file.resolve())
        files = sum(1 for name in manifest.members if name.startswith(FILES_MEMBER))
        said = (f"backup of {manifest.node_url} (key {manifest.key_id}, {manifest.dialect}, schema "
                f"{manifest.migrations[-1] if manifest.migrations else '-'}, {files} attachment files) "
                f"written to {file} in {time.monotonic() - started:.1f} s")
        if settings.s3_endpoint:
            said += "\n" + s3_warning(settings, "are NOT in this backup: back the bucket up separately "
                                       "(the object store's versioning or replication, or a copy of the bucket)")
        return said

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
        said = (f"restored {manifest.node_url} (key {manifest.key_id}) from the backup of {manifest.created} "
                f"into {masked(s.database_url)}")
        if s.s3_endpoint:
            said += "\n" + s3_warning(s, "are read from the bucket, not from this backup: restore the bucket "
                                       "from its own backup (files the backup carried were written to "
                                       f"{s.resolved_attachments_dir}, which this node does not read)")
        return said

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


def s3_warning(settings: Settings, what: str) -> str:
    """A line saying that the attachments' files live in the S3 bucket and what that means here."""
    where = f"{settings.s3_bucket}{'/' + settings.s3_prefix if settings.s3_prefix else ''} at {settings.s3_endpoint}"
    return f"note: the attachments' files are kept in the S3 bucket {where} and {what}"
