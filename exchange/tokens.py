"""The lifecycle of API tokens: personal tokens, listing, revoking.

Checking a token is `exchange.auth`; this module is what people (their
account page, GraphQL), an operator (the `exchange tokens` commands) or an
admin token do with tokens. A person creates tokens for a publisher they are
a member of, with scopes no wider than their role there. A token is never
listed with its secret, which is not stored. Revoking a token ends every
web session that was opened with it. Creating and revoking go to the audit log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from exchange.accounts import audit
from exchange.accounts import roles as R
from exchange.accounts.cache import accounts_changed
from exchange.accounts.people import require_for, role_for
from exchange.auth import (
    TOKEN_PREFIX,
    Actor,
    Publisher,
    create_token,
    find_publisher,
    hash_token,
    publisher_of,
)
from exchange.db import current_connection
from exchange.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from exchange.models import ApiToken
from exchange.sessions import end_sessions_of_token


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown of a token: everything but the secret."""

    id: int
    prefix: str
    publisher: Publisher | None
    scopes: tuple[str, ...]
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked: bool
    person_id: int | None = None

    def state(self, now: datetime) -> str:
        """active, revoked or expired."""
        if self.revoked:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def info_of(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id, prefix=row.prefix, publisher=publisher_of(row.municipality, row.organisation),
        scopes=tuple(row.scopes), label=row.label, created_at=row.created_at, expires_at=row.expires_at,
        last_used_at=row.last_used_at, revoked_at=row.revoked_at, revoked=row.revoked, person_id=row.person_id,
    )


async def list_tokens(publisher: Publisher | None = None) -> list[TokenInfo]:
    """The tokens of one publisher, or of every publisher, oldest first."""
    query = ApiToken.all()
    if publisher is not None:
        column = "municipality_id" if publisher.kind == "municipality" else "organisation_id"
        query = query.filter(**{column: publisher.id})
    rows = await query.order_by("id").prefetch_related("municipality", "organisation")
    return [info_of(row) for row in rows]


async def list_tokens_of(publisher_key: str) -> list[TokenInfo]:
    return await list_tokens(await find_publisher(publisher_key))


async def find_token(ref: str) -> ApiToken:
    """A token by its id (digits) or by the prefix `exchange tokens list` shows."""
    ref = ref.strip()
    if ref.isdigit():
        row = await ApiToken.get_or_none(id=int(ref)).prefetch_related("municipality", "organisation")
        if row is None:
            raise NotFoundError(f"no token with id {ref}")
        return row
    if not ref.startswith(TOKEN_PREFIX) or len(ref) < len(TOKEN_PREFIX) + 4:
        raise InvalidInputError(f"{ref!r} is neither a token id nor a token prefix such as exg_AbCd1234")
    rows = await ApiToken.filter(prefix__startswith=ref[:12]).prefetch_related("municipality", "organisation")
    rows = [row for row in rows if ref.startswith(row.prefix) or row.prefix.startswith(ref)]
    if not rows:
        raise NotFoundError(f"no token with prefix {ref}")
    if len(rows) > 1:
        raise InvalidInputError(f"several tokens start with {ref}: name one by id ({', '.join(str(r.id) for r in rows)})")
    return rows[0]


async def revoke(row: ApiToken, *, now: datetime, actor: Actor | None = None) -> tuple[TokenInfo, int]:
    """Revoke a token (again is a no-op) and end its web sessions; returns how many ended."""
    if not row.revoked:
        await ApiToken.filter(id=row.id, revoked=False).update(revoked=True, revoked_at=now)
        await accounts_changed(current_connection())
        row.revoked, row.revoked_at = True, now
        await audit.record(audit.TOKEN_REVOKED, now=now, actor=actor, target=f"token {row.id} ({row.prefix})")
    ended = await end_sessions_of_token(row.id, now=now)
    return info_of(row), ended


async def revoke_as(actor: Actor, token_id: str, *, now: datetime) -> TokenInfo:
    """Revoke for a caller: a token may revoke itself, a person their own tokens; beyond that
    the roles table (publisher-admins their publisher's tokens, operators any), and a service
    token with the admin scope any token of this node, as before people had accounts."""
    if not actor.authenticated:
        raise UnauthenticatedError("revoking a token needs an API token: send 'Authorization: Bearer <token>'")
    if not token_id.strip().isdigit():
        raise InvalidInputError(f"token id {token_id!r} is not a number")
    own = int(token_id) == actor.token_id
    row = await ApiToken.get_or_none(id=int(token_id)).prefetch_related("municipality", "organisation")
    if row is not None and actor.person_id is not None and row.person_id == actor.person_id:
        own = True
    if not own:
        if actor.person_id is None and actor.token_id is not None:
            if "admin" not in actor.scopes:
                raise PermissionDeniedError("a token without the admin scope may revoke only itself")
        else:
            publisher = publisher_of(row.municipality, row.organisation) if row is not None else None
            if publisher is None:
                if not actor.operator:
                    raise PermissionDeniedError("only operators revoke tokens of other people")
            else:
                await require_for(actor, R.PUBLISHER_TOKENS, publisher)
    if row is None:
        raise NotFoundError(f"no token with id {token_id}")
    info, _ = await revoke(row, now=now, actor=actor)
    return info


async def create_own(
    actor: Actor, *, publisher_key: str, scopes: list[str], label: str, valid_days: int, now: datetime
) -> tuple[str, TokenInfo]:
    """A signed-in person makes a personal token for one of their publishers, with scopes
    no wider than their role there; returns the token (shown once) and what may be listed."""
    if not actor.authenticated:
        raise UnauthenticatedError("personal tokens are made by people who signed in, or with a personal token")
    if actor.person_id is None:
        raise PermissionDeniedError("a service token cannot make tokens; an operator makes them with "
                                    "exchange tokens create")
    if not 1 <= valid_days <= 3650:
        raise InvalidInputError(f"a token is valid for 1 to 3650 days, not {valid_days}")
    label = " ".join(label.split())[:200]
    if not label:
        raise InvalidInputError("please name the token (what is it for?)")
    if not publisher_key.strip() and actor.operator and actor.token_id is None:
        return await _operator_token(actor, label=label, valid_days=valid_days, now=now)
    publisher = await find_publisher(publisher_key)
    await require_for(actor, R.OWN_TOKENS, publisher)
    role = await role_for(actor, publisher)
    granted = R.scopes_of_role(role, publisher.kind) if role else frozenset()
    if actor.token_id is not None:  # a personal token makes tokens no wider than itself
        if actor.publisher is None or (actor.publisher.kind, actor.publisher.id) != (publisher.kind, publisher.id):
            raise PermissionDeniedError(f"this token acts for another publisher than {publisher.name}")
        granted &= actor.scopes
    wider = sorted(set(scopes) - granted)
    if wider:
        raise PermissionDeniedError(
            f"your role for {publisher.name} ({role or 'none'}) and token do not grant the scope(s) "
            f"{', '.join(wider)}")
    token, row = await create_token(publisher.key, scopes, now=now, label=label, valid_days=valid_days)
    await ApiToken.filter(id=row.id).update(person_id=actor.person_id)
    row.person_id = actor.person_id
    await audit.record(audit.TOKEN_CREATED, now=now, actor=actor, target=f"token {row.id} ({row.prefix})",
                       detail=f"{','.join(sorted(set(scopes)))} for {publisher.kind}:{publisher.key}")
    await row.fetch_related("municipality", "organisation")
    return token, info_of(row)


async def _operator_token(actor: Actor, *, label: str, valid_days: int, now: datetime) -> tuple[str, TokenInfo]:
    """An operator's token for the node's own work (people, tokens, peers): no publisher, no scopes."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = await ApiToken.create(token_hash=hash_token(token), prefix=token[:12], scopes=[], label=label,
                                created_at=now, expires_at=now + timedelta(days=valid_days),
                                person_id=actor.person_id)
    await audit.record(audit.TOKEN_CREATED, now=now, actor=actor, target=f"token {row.id} ({row.prefix})",
                       detail="operator token")
    await row.fetch_related("municipality", "organisation")
    return token, info_of(row)


async def tokens_of_person(person_id: int) -> list[TokenInfo]:
    rows = await ApiToken.filter(person_id=person_id).order_by("-id").prefetch_related("municipality", "organisation")
    return [info_of(row) for row in rows]
