"""`exchange import municipalities FILE`: the official register of municipalities.

Reads a Destatis GV100AD file (fixed-width, plain or .gz) and creates or
updates the municipalities and Kreise it lists; those it no longer lists are
kept and marked inactive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from exchange.cli.runner import progress_bar, run
from exchange.db import Database
from exchange.settings import Settings


@click.command("municipalities")
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
