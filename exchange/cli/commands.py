"""Commands that other parts of the node add to `exchange` (peers, sync, match, tokens, operators, guides).

Each part keeps its commands in its own face module (`exchange/cli_*.py`);
this list names them, so `exchange/cli.py` stays small.
"""

from __future__ import annotations

import click


def commands() -> list[click.Command]:
    found: list[click.Command] = []
    from exchange.cli_init import init

    found.append(init)
    from exchange.cli_backup import backup, restore

    found.extend([backup, restore])
    from exchange.cli_keys import keys

    found.append(keys)
    from exchange.cli.match import match

    found.append(match)
    from exchange.cli.peers import commands as federation_commands

    found.extend(federation_commands())
    from exchange.cli_tokens import tokens

    found.append(tokens)
    from exchange.cli_operators import operators

    found.append(operators)
    return found


def import_commands() -> list[click.Command]:
    """Subcommands of `exchange import` from other parts of the node (guides)."""
    from exchange.cli.guides import import_guides_command

    return [import_guides_command]
