"""API tokens, signed-in people, and the actor they stand for.

A token belongs to exactly one publisher (a municipality or an organisation)
and carries scopes; a personal token also belongs to a person, and its scopes
are cut down, on every use, to what that person's membership of the
publisher still grants. A person signed in on the web acts for one of their
publishers with the scopes of their role there (`actor_of_person`). Who may
do what is the table in `exchange.accounts.roles`; `require` consults it. Only the SHA-256 of a token is stored; the token itself
is shown once, when it is created. `authenticate` turns the bearer string of
a request into an `Actor`, `require` checks that the actor may act for a
publisher with a scope. A token that is unknown, revoked or expired is refused
with a `TokenRefusedError` whose `reason` says which (the web sign-in form
shows it in the page's language). Using a token stamps its `last_used_at`, at
most once a minute, so that reads do not become writes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from exchange.accounts import roles as R
from exchange.accounts.cache import cache_of
from exchange.accounts.models import Membership, Person
from exchange.db import current_connection, dialect_of
from exchange.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from exchange.models import ApiToken, Municipality, Organisation

SCOPES = ("publish", "curate", "admin")
TOKEN_PREFIX = "exg_"
USE_RESOLUTION = timedelta(minutes=1)  # how fresh `last_used_at` is kept


@dataclass(frozen=True)
class Publisher:
    """Who publishes: a municipality (by official key) or an organisation (by slug)."""

    kind: str  # "municipality" | "organisation"
    id: int
    key: str
    name: str


@dataclass(frozen=True)
class Actor:
    """The caller: a publisher with scopes (through a token or a person's role), or nobody.

    `person_id` is set when a person signed in (or uses a personal token);
    an operator may have no publisher at all.
    """

    publisher: Publisher | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: int | None = None
    person_id: int | None = None
    person_name: str = ""
    operator: bool = False

    @property
    def authenticated(self) -> bool:
        return self.publisher is not None or self.person_id is not None

    @property
    def roles(self) -> frozenset[str]:
        """The roles the actor holds now: for its publisher, and `operator` for the node."""
        roles = R.roles_of_scopes(self.scopes)
        return roles | {R.OPERATOR} if self.operator else roles

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


class TokenRefusedError(UnauthenticatedError):
    """A token that cannot be used; `reason` is unknown, revoked, expired or scope."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


async def _memberships(person_id: int) -> list[Membership]:
    return list(await Membership.filter(person_id=person_id).order_by("id"))


async def _publisher(m: Membership) -> Publisher | None:
    if m.municipality_id is not None:
        muni = await Municipality.filter(id=m.municipality_id).only("id", "official_key", "name").first()
        return publisher_of(muni, None)
    return publisher_of(None, await Organisation.filter(id=m.organisation_id).only("id", "slug", "name").first())


async def person_actor(
    person: Person, *, acting: tuple[str, int] | None = None, token_scopes: frozenset[str] | None = None,
    token_id: int | None = None,
) -> Actor:
    """The actor a person is now: acting for `acting` (or their first publisher) with the scopes
    of their role there, cut down to `token_scopes` for a personal token. Read afresh every time,
    so that a removed membership or a changed role counts from the next request on."""
    memberships = await _memberships(person.id)
    chosen = None
    for m in memberships:
        ref = ("municipality", m.municipality_id) if m.municipality_id else ("organisation", m.organisation_id)
        if acting is None or ref == acting:
            chosen = m
            break
    publisher = None
    scopes: frozenset[str] = frozenset()
    if chosen is not None:
        publisher = await _publisher(chosen)
        if publisher is not None:
            scopes = R.scopes_of_role(chosen.role, publisher.kind)
    if token_scopes is not None:
        scopes &= token_scopes
    return Actor(publisher=publisher, scopes=scopes, token_id=token_id, person_id=person.id,
                 person_name=person.display_name, operator=person.operator)


async def check_token(token: str, *, now: datetime) -> ApiToken:
    """The row of a usable token (with its publisher); raises TokenRefusedError."""
    # One query: the token with its publisher (LEFT JOINs), not one per relation.
    row = await ApiToken.filter(token_hash=hash_token(token)).select_related("municipality", "organisation").first()
    if row is None:
        raise TokenRefusedError("unknown", "the API token is not known to this node")
    if row.revoked:
        when = f" on {row.revoked_at:%Y-%m-%d}" if row.revoked_at else ""
        raise TokenRefusedError("revoked", f"the API token was revoked{when}; ask the node's operator for a new one")
    if row.expires_at is not None and row.expires_at <= now:
        raise TokenRefusedError(
            "expired", f"the API token expired on {row.expires_at:%Y-%m-%d}; ask the node's operator for a new one"
        )
    await note_use(row, now)
    return row


async def note_use(row: ApiToken, now: datetime) -> None:
    """Stamp `last_used_at`, at most once per USE_RESOLUTION."""
    if row.last_used_at is None or now - row.last_used_at >= USE_RESOLUTION:
        row.last_used_at = now
        await ApiToken.filter(id=row.id).update(last_used_at=now)


async def actor_of_token(row: ApiToken) -> Actor:
    """The actor a (checked) token row stands for; its publisher must be prefetched.
    A personal token acts for its publisher only while its person is still a member there."""
    publisher = publisher_of(row.municipality, row.organisation)
    if row.person_id is None:
        return Actor(publisher=publisher, scopes=frozenset(row.scopes), token_id=row.id)
    person = await Person.get_or_none(id=row.person_id)
    if person is None:
        raise TokenRefusedError("unknown", "the person this API token belonged to is no longer known")
    if publisher is None:  # an operator's token
        return Actor(token_id=row.id, person_id=person.id, person_name=person.display_name,
                     operator=person.operator)
    actor = await person_actor(person, acting=(publisher.kind, publisher.id),
                               token_scopes=frozenset(row.scopes), token_id=row.id)
    if actor.publisher is None:
        return Actor(token_id=row.id, person_id=person.id, person_name=person.display_name,
                     operator=person.operator)
    return actor


async def authenticate(authorization: str | None, *, now: datetime) -> Actor:
    """The actor for an `Authorization` header value; anonymous when there is none."""
    if not authorization:
        return ANONYMOUS
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("the Authorization header must be 'Bearer <token>'")
    return await token_actor(token.strip(), now=now)


# A token, its publisher, and for a personal token its person and that person's role at the
# publisher, in one round trip: this runs on every request that carries a token.
_TOKEN_ACTOR_SQL = (
    "SELECT t.id, t.scopes, t.expires_at, t.revoked, t.revoked_at, t.last_used_at, t.person_id, "
    "m.id AS m_id, m.official_key AS m_key, m.name AS m_name, o.id AS o_id, o.slug AS o_key, o.name AS o_name, "
    "p.id AS p_id, p.display_name AS p_name, p.operator AS p_operator, ms.role AS ms_role "
    "FROM api_token t "
    "LEFT JOIN municipality m ON m.id = t.municipality_id "
    "LEFT JOIN organisation o ON o.id = t.organisation_id "
    "LEFT JOIN person p ON p.id = t.person_id "
    "LEFT JOIN membership ms ON ms.person_id = t.person_id "
    "AND (ms.municipality_id = t.municipality_id OR ms.organisation_id = t.organisation_id) "
    "WHERE t.token_hash = {mark} ORDER BY ms.id LIMIT 1"
)


def as_datetime(value: object) -> datetime | None:
    """A timestamp as a raw query returns it: a datetime (PostgreSQL) or ISO text (SQLite), in UTC."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def as_scopes(value: object) -> frozenset[str]:
    """A JSON list of scopes as a raw query returns it (text, or already a list)."""
    items = json.loads(value) if isinstance(value, (str, bytes)) else value
    return frozenset(str(item) for item in items) if isinstance(items, list) else frozenset()


async def token_actor(token: str, *, now: datetime) -> Actor:
    """What `actor_of_token(await check_token(...))` answers, read in one query; raises
    TokenRefusedError for an unknown, revoked or expired token, and for one whose person is gone."""
    conn = current_connection()
    key = hash_token(token)
    cache = cache_of(conn)
    kept: _KeptToken | None = cache.get(key)
    if kept is not None and (kept.expires_at is None or now < kept.expires_at) \
            and now - kept.last_used_at < USE_RESOLUTION:
        return kept.actor
    stamp = cache.stamp()
    mark = "$1" if dialect_of(conn) == "postgres" else "?"
    rows = await conn.execute_query_dict(_TOKEN_ACTOR_SQL.format(mark=mark), [key])
    if not rows:
        raise TokenRefusedError("unknown", "the API token is not known to this node")
    actor, expires_at, last_used = await _token_actor_of_row(rows[0], now)
    if last_used is not None:
        cache.put(key, _KeptToken(actor, expires_at, last_used), stamp)
    return actor


@dataclass(frozen=True)
class _KeptToken:
    """What `token_actor` answered for a token, kept while the accounts are unchanged."""

    actor: Actor
    expires_at: datetime | None
    last_used_at: datetime  # as stamped: once it is USE_RESOLUTION old, the row is read (and stamped) again


async def _token_actor_of_row(r: dict[str, Any], now: datetime) -> tuple[Actor, datetime | None, datetime | None]:
    """The actor of a `_TOKEN_ACTOR_SQL` row, its expiry, and when its use was last stamped
    (None when the actor must not be kept)."""
    if r["revoked"]:
        revoked_at = as_datetime(r["revoked_at"])
        when = f" on {revoked_at:%Y-%m-%d}" if revoked_at else ""
        raise TokenRefusedError("revoked", f"the API token was revoked{when}; ask the node's operator for a new one")
    expires_at = as_datetime(r["expires_at"])
    if expires_at is not None and expires_at <= now:
        raise TokenRefusedError(
            "expired", f"the API token expired on {expires_at:%Y-%m-%d}; ask the node's operator for a new one"
        )
    last_used = as_datetime(r["last_used_at"])
    if last_used is None or now - last_used >= USE_RESOLUTION:
        await ApiToken.filter(id=r["id"]).update(last_used_at=now)
        last_used = None  # the stamp is a write: keep the actor from the next read on
    publisher = (
        Publisher("municipality", r["m_id"], r["m_key"], r["m_name"]) if r["m_id"] is not None
        else Publisher("organisation", r["o_id"], r["o_key"], r["o_name"]) if r["o_id"] is not None
        else None
    )
    scopes = as_scopes(r["scopes"])
    if r["person_id"] is None:
        return Actor(publisher=publisher, scopes=scopes, token_id=r["id"]), expires_at, last_used
    if r["p_id"] is None:
        raise TokenRefusedError("unknown", "the person this API token belonged to is no longer known")
    person = {"token_id": r["id"], "person_id": r["p_id"], "person_name": r["p_name"], "operator": bool(r["p_operator"])}
    if publisher is None or r["ms_role"] is None:  # an operator's token, or no longer a member there
        return Actor(**person), expires_at, last_used
    actor = Actor(publisher=publisher, scopes=R.scopes_of_role(r["ms_role"], publisher.kind) & scopes, **person)
    return actor, expires_at, last_used


def require(actor: Actor, scope: str, publisher: Publisher | None = None) -> Publisher:
    """Check that the actor may do what `scope` stands for (the table in `exchange.accounts.roles`)
    and acts for `publisher`; return its publisher."""
    if not actor.authenticated:
        raise UnauthenticatedError(
            "this needs an API token: send 'Authorization: Bearer <token>'"
        )
    if actor.publisher is None:
        raise PermissionDeniedError("you are not a member of any publisher on this node")
    # The scope itself counts, not only the role it stands for: a token made with `curate`
    # alone stands for a curator, who may also write, but it was not given `publish`.
    if scope not in actor.scopes or not R.allowed(actor.roles, R.SCOPE_ACTION[scope]):
        if actor.person_id is not None and actor.token_id is None:
            raise PermissionDeniedError(f"your role for {actor.publisher.name} does not allow this ({scope})")
        raise PermissionDeniedError(f"the API token lacks the {scope!r} scope")
    if publisher is not None and (publisher.kind, publisher.id) != (
        actor.publisher.kind,
        actor.publisher.id,
    ):
        raise PermissionDeniedError(
            f"the API token belongs to {actor.publisher.name}, not to {publisher.name}"
        )
    return actor.publisher


def require_action(actor: Actor, action: str, publisher: Publisher | None = None) -> None:
    """Check an action of the roles table: for `publisher` (its members' roles count, and the
    operator's), or for the node (`publisher` None)."""
    if not actor.authenticated:
        raise UnauthenticatedError("please sign in first")
    if R.OPERATOR in actor.roles and R.allowed(frozenset({R.OPERATOR}), action):
        return
    if publisher is not None and actor.publisher is not None and (publisher.kind, publisher.id) != (
        actor.publisher.kind, actor.publisher.id
    ):
        raise PermissionDeniedError(f"you do not act for {publisher.name}")
    if not R.allowed(actor.roles - {R.OPERATOR}, action):
        raise PermissionDeniedError(f"your role does not allow this ({action})")
