"""`exchange tokens create|list|revoke`: the API tokens of this node's publishers.

`create` prints the new token on stdout and nothing else (it is shown only
this once; its expiry goes to stderr). `list` shows every token without its
secret: id, prefix, publisher, scopes, created, expires, last used and whether
it was revoked. `revoke` takes an id or a prefix from that list; the token is
refused from then on and its web sessions end at once.
"""

from __future__ import annotations

from datetime import datetime

import click

from exchange.cli.runner import run
from exchange.db import Database
from exchange.settings import Settings

DEFAULT_EXPIRY_DAYS = 365


def _when(moment: datetime | None, empty: str = "never") -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else empty


@click.group()
def tokens() -> None:
    """API tokens for publishers: create, list, revoke."""


@tokens.command("create")
@click.option("--publisher", required=True, help="Official key (ARS/AGS) of a municipality, or an organisation slug.")
@click.option("--scope", "scopes", multiple=True, default=("publish",), show_default=True,
              type=click.Choice(["publish", "curate", "admin"]), help="Scope; repeat for several.")
@click.option("--label", default="", help="What the token is for.")
@click.option("--expires-in", "--days", "days", type=click.IntRange(1, 3650), default=DEFAULT_EXPIRY_DAYS,
              show_default=True, metavar="DAYS", help="The token expires after this many days.")
def tokens_create(publisher: str, scopes: tuple[str, ...], label: str, days: int) -> None:
    """Print a new API token (shown once; only its hash is stored)."""
    from exchange.auth import create_token
    from exchange.catalogue import utcnow
    from exchange.demo import ensure_reference_data

    async def go(db: Database, s: Settings) -> tuple[str, datetime | None]:
        await ensure_reference_data()
        from exchange.accounts import audit

        now = utcnow()
        token, row = await create_token(publisher, list(scopes), now=now, label=label, valid_days=days)
        await audit.record(audit.TOKEN_CREATED, now=now, who_="command line", target=f"token {row.id} ({row.prefix})",
                           detail=f"{','.join(sorted(set(scopes)))} for {publisher}")
        return token, row.expires_at

    token, expires = run(go)
    click.echo(token)
    click.echo(f"expires {_when(expires)} UTC", err=True)


@tokens.command("list")
@click.option("--publisher", default=None, help="Only the tokens of this publisher (key or slug).")
def tokens_list(publisher: str | None) -> None:
    """Tokens without their secret: id, prefix, publisher, scopes, dates, state."""
    from exchange.catalogue import utcnow
    from exchange.tokens import list_tokens, list_tokens_of

    async def go(db: Database, s: Settings) -> list[list[str]]:
        found = await list_tokens_of(publisher) if publisher else await list_tokens()
        now = utcnow()
        return [[str(t.id), t.prefix, f"{t.publisher.kind}:{t.publisher.key}" if t.publisher else "-",
                 ",".join(t.scopes), _when(t.created_at), _when(t.expires_at), _when(t.last_used_at),
                 f"revoked {_when(t.revoked_at, '')}".strip() if t.revoked else t.state(now), t.label]
                for t in found]

    rows = run(go)
    if not rows:
        click.echo("no tokens yet (exchange tokens create --publisher KEY)")
        return
    header = ["id", "prefix", "publisher", "scopes", "created (UTC)", "expires", "last used", "state", "label"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@tokens.command("revoke")
@click.argument("token_ref", metavar="ID")
def tokens_revoke(token_ref: str) -> None:
    """Revoke a token by its id or prefix (see `exchange tokens list`); its web sessions end."""
    from exchange.catalogue import utcnow
    from exchange.tokens import find_token, revoke

    async def go(db: Database, s: Settings) -> str:
        row = await find_token(token_ref)
        was_revoked = row.revoked
        info, ended = await revoke(row, now=utcnow())
        who = f"{info.publisher.kind}:{info.publisher.key}" if info.publisher else "-"
        if was_revoked:
            return f"token {info.id} ({info.prefix}, {who}) was already revoked on {_when(info.revoked_at)} UTC"
        return f"token {info.id} ({info.prefix}, {who}) revoked; {ended} web session(s) ended"

    click.echo(run(go))
