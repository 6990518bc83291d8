"""The lifecycle of API tokens: list them, revoke them.

Creating and checking a token is `exchange.auth`; this module is what an
operator (the `exchange tokens` commands) or an admin token (GraphQL) does
with tokens afterwards. A token is never listed with its secret, which is not
stored. Revoking a token ends every web session that was opened with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from exchange.auth import TOKEN_PREFIX, Actor, Publisher, find_publisher, publisher_of
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
        last_used_at=row.last_used_at, revoked_at=row.revoked_at, revoked=row.revoked,
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


async def revoke(row: ApiToken, *, now: datetime) -> tuple[TokenInfo, int]:
    """Revoke a token (again is a no-op) and end its web sessions; returns how many ended."""
    if not row.revoked:
        await ApiToken.filter(id=row.id, revoked=False).update(revoked=True, revoked_at=now)
        row.revoked, row.revoked_at = True, now
    ended = await end_sessions_of_token(row.id, now=now)
    return info_of(row), ended


async def revoke_as(actor: Actor, token_id: str, *, now: datetime) -> TokenInfo:
    """Revoke for an API caller: a token may revoke itself, an admin token any token."""
    if actor.publisher is None or actor.token_id is None:
        raise UnauthenticatedError("revoking a token needs an API token: send 'Authorization: Bearer <token>'")
    if not token_id.strip().isdigit():
        raise InvalidInputError(f"token id {token_id!r} is not a number")
    own = int(token_id) == actor.token_id
    if not own and "admin" not in actor.scopes:
        raise PermissionDeniedError("a token without the admin scope may revoke only itself")
    info, _ = await revoke(await find_token(token_id), now=now)
    return info
