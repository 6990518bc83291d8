"""`exchange operators add EMAIL`: the people who run this node.

An operator manages peers, people and tokens of every publisher and reads
the audit log. The first operator is made here; they sign in with a link
mailed to that address (or through the OpenID provider, by the same
verified address) and invite everyone else from the web pages.
"""

from __future__ import annotations

import click

from exchange.cli.runner import run
from exchange.db import Database
from exchange.settings import Settings


@click.group()
def operators() -> None:
    """The people who run this node."""


@operators.command("add")
@click.argument("email")
@click.option("--name", default="", help="Display name (default: the part of the address before @).")
def operators_add(email: str, name: str) -> None:
    """Make EMAIL an operator of this node (creating the person when new)."""
    from exchange.accounts.people import add_operator
    from exchange.catalogue import utcnow

    async def go(db: Database, s: Settings) -> str:
        person, created = await add_operator(email, name=name, now=utcnow())
        state = "added as a new person" if created else "is now an operator"
        return (f"{person.email} {state}; sign in at {s.node_url}/signin with a link mailed to that address"
                + (" or through the OpenID provider" if s.oidc_issuer else ""))

    click.echo(run(go))


@operators.command("list")
def operators_list() -> None:
    """The operators of this node."""
    from exchange.accounts.models import Person

    async def go(db: Database, s: Settings) -> list[str]:
        return [f"{p.email}  {p.display_name}" for p in await Person.filter(operator=True).order_by("email")]

    rows = run(go)
    click.echo("\n".join(rows) if rows else "no operators yet (exchange operators add EMAIL)")
