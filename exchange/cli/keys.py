"""`exchange keys show|rotate`: the node's Ed25519 key.

`rotate` makes a new key, keeps the old one beside it (`<key file>.<key
id>.retired`, mode 0600) and stores the announcement signed by the old key,
which the node serves in its descriptor once restarted: peers that pinned
the old key take the new one at their next pull or `peers add`, without
`--confirm-key-change`. `rotate --compromised` announces nothing (the old
key may be in other hands): peers re-pin only after their operator confirms.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from exchange.cli.runner import settings_from_env
from federation.identity import NodeKey, seed_path


@click.group()
def keys() -> None:
    """The node's key: show it, rotate it."""


@keys.command("show")
def keys_show() -> None:
    """Print the node's key id and public key."""
    settings = settings_from_env()
    key_file = settings.resolved_key_file
    if not key_file.is_file():
        raise click.ClickException(f"there is no node key at {key_file} (EXCHANGE_KEY_FILE)")
    key = _load(key_file, settings.node_url)
    click.echo(f"{key.key_id} {key.public_key_b64} ({key_file})")


def _load(path: Path, node_url: str) -> NodeKey:
    from federation.errors import KeyFileError

    try:
        return NodeKey.load_or_create(path, node_url)
    except KeyFileError as exc:
        raise click.ClickException(exc.message) from None


@keys.command("rotate")
@click.option("--compromised", is_flag=True,
              help="The old key may be known to others: announce nothing, peers re-pin after asking you.")
def keys_rotate(compromised: bool) -> None:
    """Make a new node key; announce it to peers signed by the old one (restart the server after)."""
    import json

    from federation.rotation import announce, statement_path

    settings = settings_from_env()
    key_file = settings.resolved_key_file
    if not key_file.is_file():
        raise click.ClickException(f"there is no node key at {key_file} to rotate (EXCHANGE_KEY_FILE)")
    old = _load(key_file, settings.node_url)
    new = NodeKey.generate(settings.node_url)
    retired = key_file.with_name(f"{key_file.name}.{old.key_id}.retired")
    _write_private(retired, old.to_pem())
    if not seed_path(key_file).exists():  # cursors and cookies stay valid across the rotation
        _write_private(seed_path(key_file), old.private_key.private_bytes_raw())
    statement = statement_path(key_file)
    if compromised:
        statement.unlink(missing_ok=True)
    else:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        _write_private(statement, json.dumps(announce(old, new, at), indent=2).encode())
    _write_private(key_file, new.to_pem())
    click.echo(f"new key {new.key_id} (was {old.key_id}, kept as {retired}); restart the server to use it")
    if compromised:
        click.echo("the old key is revoked without an announcement: ask each peer's operator to run "
                   f"`exchange peers add {settings.node_url} --confirm-key-change` after checking key {new.key_id}")
    else:
        click.echo("peers take the new key at their next pull: the old key signed its announcement")


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
