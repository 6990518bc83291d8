"""Sign-in links by e-mail: single use, valid for 15 minutes, rate-limited.

A person enters their address and gets a link. The node answers the same
whether or not it knows the address (no account enumeration): a request for
an unknown address is counted like any other, only no mail goes out. At
most `PER_ADDRESS` requests per address and `PER_CLIENT` per client (its IP
address) are accepted in `WINDOW`; more get `RateLimitedError`. Addresses
and clients are kept only as hashes, and only the hash of a link's secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from exchange.accounts.models import Invitation, Person, SignInLink
from exchange.accounts.people import normalise_email, secret_hash
from exchange.errors import RateLimitedError, UnauthenticatedError

LINK_LIFETIME = timedelta(minutes=15)
WINDOW = timedelta(minutes=15)
PER_ADDRESS = 3
PER_CLIENT = 10


class LinkRefusedError(UnauthenticatedError):
    """A sign-in link that cannot be used; `reason` is unknown, used or expired."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class LinkRequest:
    """What to mail: the secret of the link and its person (None: nobody to mail)."""

    token: str
    person: Person | None
    email: str


async def request_link(email: str, *, client: str, now: datetime) -> LinkRequest:
    """Count the request and make a link; raises InvalidInputError or RateLimitedError."""
    email = normalise_email(email)
    email_hash, client_hash = secret_hash("mail:" + email), secret_hash("client:" + client)
    since = now - WINDOW
    if await SignInLink.filter(client_hash=client_hash, created_at__gt=since).count() >= PER_CLIENT:
        raise RateLimitedError("too many sign-in links were asked for from here; please wait 15 minutes")
    if await SignInLink.filter(email_hash=email_hash, created_at__gt=since).count() >= PER_ADDRESS:
        raise RateLimitedError(
            "too many sign-in links were asked for this address; use the newest mail or wait 15 minutes")
    person = await Person.get_or_none(email=email)
    if person is None and await Invitation.exists(email=email, accepted_at=None, expires_at__gt=now):
        person = await Person.create(email=email, display_name=email.split("@")[0], created_at=now)
    token = secrets.token_urlsafe(32)
    await SignInLink.filter(created_at__lt=now - timedelta(days=1)).delete()
    await SignInLink.create(token_hash=secret_hash(token), email_hash=email_hash, client_hash=client_hash,
                            person_id=person.id if person else None, created_at=now,
                            expires_at=now + LINK_LIFETIME)
    return LinkRequest(token, person, email)


async def check_link(token: str, *, now: datetime) -> SignInLink:
    """A link that may still be used (without using it); raises LinkRefusedError."""
    row = await SignInLink.get_or_none(token_hash=secret_hash(token.strip()))
    if row is None or row.person_id is None:
        raise LinkRefusedError("unknown", "this sign-in link is not known to this node")
    if row.used_at is not None:
        raise LinkRefusedError("used", "this sign-in link has been used already; ask for a new one")
    if row.expires_at <= now:
        raise LinkRefusedError("expired", "this sign-in link has expired (after 15 minutes); ask for a new one")
    return row


async def redeem_link(token: str, *, now: datetime) -> Person:
    """Use a link once: the person it signs in; raises LinkRefusedError."""
    row = await check_link(token, now=now)
    async with in_transaction():
        taken = await SignInLink.filter(id=row.id, used_at=None).update(used_at=now)
        if not taken:
            raise LinkRefusedError("used", "this sign-in link has been used already; ask for a new one")
        person = await Person.get_or_none(id=row.person_id)
    if person is None:
        raise LinkRefusedError("unknown", "this sign-in link is not known to this node")
    return person
