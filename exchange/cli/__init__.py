"""The `exchange` command: run a node and operate it.

This module assembles the command group from the parts, one module per
command or group of commands: `init`, `backup` (backup, restore), `keys`, `serve`
(serve, migrate, export-schema), `register` (import municipalities),
`guides` (import guides), `tokens`, `operators`, `peers` (peers, sync) and
`match`. The parts share `runner` (settings, the database, errors as one
line) and never import this module.
"""

from __future__ import annotations

from typing import Any

import click

from exchange.cli import (
    backup,
    guides,
    init,
    keys,
    match,
    operators,
    peers,
    register,
    serve,
    tokens,
)
from exchange.cli.runner import configure_logging, json_error
from exchange.settings import SETTINGS

ENV_HELP = "\n".join(f"  {s.env:<28} {s.help} (default: {s.default or '-'})" for s in SETTINGS)


class Commands(click.Group):
    """The command group; with EXCHANGE_LOG_FORMAT=json a command's error is a JSON line too."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if json_error(exc):
                ctx.exit(exc.exit_code)
            raise


@click.group(cls=Commands, epilog="Environment variables:\n\n" + ENV_HELP,
             context_settings={"max_content_width": 110})
@click.version_option(package_name="exchange")
def main() -> None:
    """Run and operate a node of the exchange, where municipalities share what they
    learned from their digital projects."""
    configure_logging()


@main.group(name="import")
def import_() -> None:
    """Import the municipality register or guide bundles."""


import_.add_command(register.import_municipalities)
import_.add_command(guides.import_guides_command)
for command in (init.init, backup.backup, backup.restore, keys.keys, serve.serve, serve.migrate,
                serve.export_schema, tokens.tokens, operators.operators, *peers.commands(), match.match):
    main.add_command(command)

__all__ = ["main"]
