"""GraphQL face of API tokens: list a publisher's tokens, revoke one.

`apiTokens` shows an admin token the tokens of its own publisher, never a
secret (only hashes are stored). `revokeToken(id)` lets a token revoke itself
and an admin token revoke any token of this node; a revoked token is refused
with UNAUTHENTICATED from then on, and its web sessions end. Resolvers stay
thin: the rules live in `exchange.tokens`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import strawberry
from strawberry import Info

from exchange.api.types import Municipality, Organisation, Publisher
from exchange.errors import PermissionDeniedError, UnauthenticatedError
from exchange.tokens import TokenInfo, list_tokens, revoke_as


@strawberry.enum(description="Whether a token can be used.")
class TokenState(Enum):
    ACTIVE = strawberry.enum_value("active", description="Accepted.")
    EXPIRED = strawberry.enum_value("expired", description="Past its expiry; refused.")
    REVOKED = strawberry.enum_value("revoked", description="Revoked; refused.")


@strawberry.type(name="ApiToken", description="An API token of a publisher, without its secret (which is not stored).")
class ApiTokenType:
    id: strawberry.ID = strawberry.field(description="The token's id on this node (what revokeToken takes).")
    prefix: str = strawberry.field(description="The first characters of the token, to recognise it.")
    scopes: list[str] = strawberry.field(description="publish, curate, admin.")
    label: str = strawberry.field(description="What the token is for, as given when it was created.")
    created_at: datetime = strawberry.field(description="When it was created.")
    expires_at: datetime | None = strawberry.field(description="When it expires; null: never (older tokens).")
    last_used_at: datetime | None = strawberry.field(description="When it was last used, to the minute.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; null: not revoked.")
    state: TokenState = strawberry.field(description="Whether it is accepted now.")
    _publisher: strawberry.Private[tuple[str, int] | None]

    @strawberry.field(description="The publisher the token acts for.")
    async def publisher(self, info: Info) -> Publisher | None:
        if self._publisher is None:
            return None
        kind, pk = self._publisher
        loaders = info.context.loaders
        if kind == "municipality":
            m = await loaders.municipality.load(pk)
            return Municipality.from_model(m) if m else None
        o = await loaders.organisation.load(pk)
        return Organisation.from_model(o) if o else None


def token_of(info: TokenInfo, now: datetime) -> ApiTokenType:
    return ApiTokenType(
        id=strawberry.ID(str(info.id)), prefix=info.prefix, scopes=list(info.scopes), label=info.label,
        created_at=info.created_at, expires_at=info.expires_at, last_used_at=info.last_used_at,
        revoked_at=info.revoked_at, state=TokenState(info.state(now)),
        _publisher=(info.publisher.kind, info.publisher.id) if info.publisher else None,
    )


@strawberry.type(description="The result of revokeToken: the token as now stored.")
class RevokeTokenPayload:
    token: ApiTokenType = strawberry.field(description="The revoked token.")


@strawberry.type
class Query:
    @strawberry.field(description="The API tokens of the caller's publisher, oldest first (admin token).")
    async def api_tokens(self, info: Info) -> list[ApiTokenType]:
        actor = info.context.actor
        if actor is None or actor.publisher is None:
            raise UnauthenticatedError("tokens are shown to admin tokens only: send 'Authorization: Bearer <token>'")
        if "admin" not in actor.scopes:
            raise PermissionDeniedError("tokens are shown to tokens with the admin scope only")
        now = datetime.now(UTC)
        return [token_of(t, now) for t in await list_tokens(actor.publisher)]


@strawberry.type
class Mutation:
    @strawberry.mutation(description=(
        "Revoke an API token: it is refused from then on and its web sessions end. "
        "A token may revoke itself; a token with the admin scope may revoke any token of this node."
    ))
    async def revoke_token(self, info: Info, id: strawberry.ID) -> RevokeTokenPayload:
        now = datetime.now(UTC)
        return RevokeTokenPayload(token=token_of(await revoke_as(info.context.actor, str(id), now=now), now))
