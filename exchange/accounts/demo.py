"""The demo operator of `exchange serve --demo`, and how to sign in as it."""

from __future__ import annotations

from datetime import UTC, datetime

from exchange.accounts.links import request_link
from exchange.accounts.people import add_operator
from exchange.settings import Settings

DEMO_OPERATOR = "operator@demo.example"


async def demo_operator(settings: Settings) -> str:
    """Make the demo operator (once) and say how to sign in as it, with a fresh link."""
    now = datetime.now(UTC)
    person, _ = await add_operator(DEMO_OPERATOR, name="Demo Operator", now=now)
    link = await request_link(person.email, client="exchange serve --demo", now=now)
    where = ("the sign-in links and invitations the node mails are printed in this terminal"
             if not settings.smtp_host else f"mail goes out through {settings.smtp_host}:{settings.smtp_port}")
    return (f"demo operator: {person.email} — sign in at {settings.node_url}/signin with that address "
            f"({where}), or open this link within 15 minutes (it works once):\n"
            f"  {settings.node_url}/signin/link/{link.token}")
