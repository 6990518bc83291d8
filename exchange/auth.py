"""API tokens and the actor they stand for.

A token belongs to exactly one publisher (a municipality or an organisation)
and carries scopes. Only the SHA-256 of a token is stored; the token itself
is shown once, when it is created. `authenticate` turns the bearer string of
a request into an `Actor`, `require` checks that the actor may act for a
publisher with a scope.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from exchange.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from exchange.models import ApiToken, Municipality, Organisation

SCOPES = ("publish", "curate", "admin")
TOKEN_PREFIX = "exg_"


@dataclass(frozen=True)
class Publisher:
    """Who publishes: a municipality (by official key) or an organisation (by slug)."""

    kind: str  # "municipality" | "organisation"
    id: int
    key: str
    name: str


@dataclass(frozen=True)
class Actor:
    """The caller of a write: a publisher with scopes, or nobody."""

    publisher: Publisher | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: int | None = None

    @property
    def authenticated(self) -> bool:
        return self.publisher is not None

    @property
    def label(self) -> str:
        return f"{self.publisher.kind}:{self.publisher.key}" if self.publisher else "anonymous"


ANONYMOUS = Actor()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def find_publisher(key: str) -> Publisher:
    """A publisher by official key (12-digit ARS, 8-digit AGS, 5-digit Kreis) or slug."""
    key = key.strip()
    if not key:
        raise InvalidInputError("publisher key is empty")
    if key.isdigit():
        muni = await find_municipality(key)
        return Publisher("municipality", muni.id, muni.official_key, muni.name)
    org = await Organisation.get_or_none(slug=key)
    if org is None:
        raise NotFoundError(f"no organisation with slug {key!r} (and it is not an official key)")
    return Publisher("organisation", org.id, org.slug, org.name)


async def find_municipality(key: str) -> Municipality:
    """A municipality by 12-digit ARS, 8-digit AGS or 5-digit Kreis key."""
    key = key.strip()
    if not key.isdigit() or len(key) not in (5, 8, 12):
        raise InvalidInputError(
            f"official key {key!r} is not a 12-digit ARS, an 8-digit AGS or a 5-digit Kreis key"
        )
    if len(key) == 8:
        muni = await Municipality.filter(ags=key, level="gemeinde").order_by("-active").first()
    else:
        muni = await Municipality.get_or_none(scheme="de-ars", official_key=key)
    if muni is None:
        raise NotFoundError(f"no municipality with official key {key} in the register")
    return muni


def publisher_of(muni: Municipality | None, org: Organisation | None) -> Publisher | None:
    if muni is not None:
        return Publisher("municipality", muni.id, muni.official_key, muni.name)
    if org is not None:
        return Publisher("organisation", org.id, org.slug, org.name)
    return None


async def create_token(
    publisher_key: str,
    scopes: list[str],
    *,
    now: datetime,
    label: str = "",
    valid_days: int | None = None,
) -> tuple[str, ApiToken]:
    """Create a token for a publisher; returns the token (shown once) and its row."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInputError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if not scopes:
        raise InvalidInputError("a token needs at least one scope")
    publisher = await find_publisher(publisher_key)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = await ApiToken.create(
        token_hash=hash_token(token),
        prefix=token[:12],
        municipality_id=publisher.id if publisher.kind == "municipality" else None,
        organisation_id=publisher.id if publisher.kind == "organisation" else None,
        scopes=sorted(set(scopes)),
        label=label,
        created_at=now,
        expires_at=now + timedelta(days=valid_days) if valid_days else None,
    )
    return token, row


async def authenticate(authorization: str | None, *, now: datetime) -> Actor:
    """The actor for an `Authorization` header value; anonymous when there is none."""
    if not authorization:
        return ANONYMOUS
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("the Authorization header must be 'Bearer <token>'")
    row = await ApiToken.get_or_none(token_hash=hash_token(token.strip())).prefetch_related(
        "municipality", "organisation"
    )
    if row is None or row.revoked:
        raise UnauthenticatedError("the API token is not valid (unknown or revoked)")
    if row.expires_at is not None and row.expires_at <= now:
        raise UnauthenticatedError("the API token has expired")
    publisher = publisher_of(row.municipality, row.organisation)
    return Actor(publisher=publisher, scopes=frozenset(row.scopes), token_id=row.id)


def require(actor: Actor, scope: str, publisher: Publisher | None = None) -> Publisher:
    """Check that the actor holds `scope` (and acts for `publisher`); return its publisher."""
    if actor.publisher is None:
        raise UnauthenticatedError(
            "this needs an API token: send 'Authorization: Bearer <token>'"
        )
    if scope not in actor.scopes:
        raise PermissionDeniedError(f"the API token lacks the {scope!r} scope")
    if publisher is not None and (publisher.kind, publisher.id) != (
        actor.publisher.kind,
        actor.publisher.id,
    ):
        raise PermissionDeniedError(
            f"the API token belongs to {actor.publisher.name}, not to {publisher.name}"
        )
    return actor.publisher
