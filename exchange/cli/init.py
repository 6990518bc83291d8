"""`exchange init`: write the node's exchange.toml, create its database and key.

The file holds the node's URL (its id in the network), name, database and key
file; `exchange serve` and every other command read it (under the
environment), so the server and the commands are the same node.
"""

from __future__ import annotations

from pathlib import Path

import click

from exchange.cli.runner import run, settings_from_env
from exchange.db import Database
from exchange.settings import CONFIG_NAME, Settings, config_home, write_config_file


@click.command()
@click.option("--node-url", required=True, help="The node's public base URL, its id in the network.")
@click.option("--name", "node_name", default=None, help="The node's name, shown to people and peers.")
@click.option("--database", "database_url", default=None,
              help="Database URL (default: EXCHANGE_DATABASE_URL, else sqlite://exchange.db).")
@click.option("--key-file", default=None, help="The node's key (default: beside the SQLite file).")
@click.option("--force", is_flag=True, help="Overwrite an existing exchange.toml.")
def init(node_url: str, node_name: str | None, database_url: str | None, key_file: str | None,
         force: bool) -> None:
    """Write exchange.toml (beside the SQLite database), migrate the database, create the key."""
    from exchange.preflight import masked
    from federation.identity import NodeKey, normalize_node_url

    settings = settings_from_env()
    try:
        url = normalize_node_url(node_url.strip())
    except ValueError as exc:
        raise click.ClickException(f"--node-url: {exc}") from None
    changes: dict[str, object] = {"node_url": url}
    if node_name:
        changes["node_name"] = node_name
    if database_url:
        from exchange.settings import load_settings

        changes["database_url"] = load_settings({"EXCHANGE_DATABASE_URL": database_url}).database_url
    settings = settings.with_(**changes)
    if key_file:
        settings = settings.with_(key_file=str(Path(key_file).resolve()))
    settings = settings.with_(key_file=str(settings.resolved_key_file.resolve()))
    path = config_home(settings) / CONFIG_NAME
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists already; edit it, or pass --force to write it anew")

    async def go(db: Database, s: Settings) -> str:
        key = NodeKey.load_or_create(settings.resolved_key_file, settings.node_url)
        return key.key_id

    key_id = run(go, settings=settings)
    write_config_file(path, {"node_url": settings.node_url, "node_name": settings.node_name,
                             "database_url": settings.database_url, "key_file": settings.key_file})
    click.echo(f"wrote {path}\n  node URL  {settings.node_url}\n  name      {settings.node_name}\n"
               f"  database  {masked(settings.database_url)}\n  key       {settings.key_file} ({key_id})")
