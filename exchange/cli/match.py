"""`exchange match KEY`: peer matches of a municipality, as a table with reasons.

The command builds its own matcher from the node's database (profiles of all
public entries, the register), asks it like the GraphQL API does and prints
one row per peer: score, the peer, and each signal's score with its reason.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from exchange.cli.runner import run
from exchange.db import Database
from exchange.matching import Matcher, Need, PeerResult
from exchange.models import Municipality
from exchange.settings import Settings

SOURCE_TEXT = {
    "own": ("nach den eigenen Einträgen", "from its own entries"),
    "about": ("nach der Projektbeschreibung", "for the described project"),
    "neighbours": ("nach den Einträgen von Kreis und Nachbarn", "from the entries of its Kreis and neighbours"),
    "none": ("nur nach Struktur (keine Einträge in der Nähe)", "by structure only (no entries nearby)"),
}


def render(key: str, need: Need, results: list[PeerResult], language: str) -> Table:
    """The table the command prints (also used by its test)."""
    de = language == "de"
    title = (f"Peers für {key} " if de else f"Peers of {key} ") + SOURCE_TEXT[need.source][0 if de else 1]
    table = Table(title=title, show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("Score", justify="right")
    table.add_column("Kommune" if de else "Municipality")
    table.add_column("Gründe" if de else "Reasons")
    for i, r in enumerate(results, 1):
        m = r.publisher
        who = (f"{m.name}\n{m.official_key}\n{m.size_class or m.type_label}" if isinstance(m, Municipality)
               else f"{m.name}\n{m.slug}")
        why = "\n".join(f"{x.signal} {x.score:.2f}: {x.explanation}" for x in r.reasons)
        table.add_row(str(i), f"{r.match.score:.3f}", who, why)
    return table


@click.command("match")
@click.argument("key")
@click.option("--about", default=None, help="A planned project in a few sentences (German or English).")
@click.option("--first", default=10, show_default=True, type=int, help="How many peers (1–50).")
@click.option("--language", default="de", show_default=True, type=click.Choice(["de", "en"]),
              help="Language of the reasons.")
@click.option("--same-state", is_flag=True, help="Only peers in the same Land.")
@click.option("--radius-km", default=None, type=float, help="Only peers within this distance.")
def match(key: str, about: str | None, first: int, language: str, same_state: bool,
          radius_km: float | None) -> None:
    """Print peer matches of a municipality (official key) with their reasons."""

    async def go(db: Database, s: Settings) -> tuple[Need, list[PeerResult]]:
        matcher = Matcher.from_settings(s.matching_weights)
        await matcher.startup()
        return await matcher.peers(key, about=about, first=first, language=language,
                                   same_state=same_state, radius_km=radius_km)

    need, results = run(go)
    console = Console(width=max(100, Console().width))
    if not results:
        console.print("Keine Peers gefunden." if language == "de" else "No peers found.")
        return
    console.print(render(key, need, results, language))
