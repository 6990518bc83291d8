"""GraphQL face of people: `viewer`, invitations, roles, personal tokens.

The same rules as the web pages (the roles table in `exchange.accounts.roles`,
applied by `exchange.accounts.people` and `exchange.tokens`), the same error
codes as every other write: UNAUTHENTICATED without a usable token,
FORBIDDEN when the role does not allow it, BAD_USER_INPUT and CONFLICT for
what is wrong with the request. Persons are shown only to themselves and to
those who manage them; nothing here is federated.
"""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry import Info

from exchange.accounts.people import (
    MemberOf,
    change_role,
    invite,
    memberships_of,
    remove_membership,
)
from exchange.api.tokens import ApiTokenType, token_of
from exchange.api.types import Municipality, Organisation, Publisher
from exchange.auth import Publisher as PublisherRef
from exchange.errors import InvalidInputError
from exchange.models import Municipality as MunicipalityRow
from exchange.models import Organisation as OrganisationRow
from exchange.tokens import create_own
from exchange.web.i18n import DEFAULT_LOCALE
from exchange.web.mails import send_invitation


async def publisher_type(ref: PublisherRef) -> Publisher | None:
    if ref.kind == "municipality":
        m = await MunicipalityRow.get_or_none(id=ref.id)
        return Municipality.from_model(m) if m else None
    o = await OrganisationRow.get_or_none(id=ref.id)
    return Organisation.from_model(o) if o else None


@strawberry.type(description="A person's role for one publisher.")
class Membership:
    id: strawberry.ID = strawberry.field(description="The membership's id on this node.")
    role: str = strawberry.field(description="editor, curator or publisher-admin.")
    since: datetime = strawberry.field(description="When it began.")
    person_name: str = strawberry.field(description="The member's display name.")
    _publisher: strawberry.Private[PublisherRef]

    @strawberry.field(description="The publisher.")
    async def publisher(self) -> Publisher | None:
        return await publisher_type(self._publisher)


def membership_of(m: MemberOf) -> Membership:
    return Membership(id=strawberry.ID(str(m.id)), role=m.role, since=m.since, person_name=m.person.display_name,
                      _publisher=m.publisher)


@strawberry.type(description="Who is asking: the person behind a personal token, or a publisher's service token.")
class Viewer:
    name: str | None = strawberry.field(description="The person's display name; null for a service token.")
    operator: bool = strawberry.field(description="Whether the person operates this node.")
    scopes: list[str] = strawberry.field(description="What the caller may do now, for `publisher`.")
    token_id: strawberry.ID | None = strawberry.field(description="The id of the token in use.")
    _publisher: strawberry.Private[PublisherRef | None]
    _person_id: strawberry.Private[int | None]

    @strawberry.field(description="The publisher the caller acts for.")
    async def publisher(self) -> Publisher | None:
        return await publisher_type(self._publisher) if self._publisher else None

    @strawberry.field(description="The person's memberships (empty for a service token).")
    async def memberships(self) -> list[Membership]:
        if self._person_id is None:
            return []
        return [membership_of(m) for m in await memberships_of(self._person_id)]


@strawberry.type(description="An invitation as sent (its link went to the invited address only).")
class Invitation:
    email: str = strawberry.field(description="The invited address.")
    role: str = strawberry.field(description="The role it grants.")
    expires_at: datetime = strawberry.field(description="When it expires.")
    mail_sent: bool = strawberry.field(description="Whether the invitation mail went out.")
    _publisher: strawberry.Private[PublisherRef]

    @strawberry.field(description="The publisher it is for.")
    async def publisher(self) -> Publisher | None:
        return await publisher_type(self._publisher)


@strawberry.type(description="A new personal token: the secret, shown this once, and what is stored of it.")
class CreateApiTokenPayload:
    token: str = strawberry.field(description="The token itself; it is not stored and never shown again.")
    api_token: ApiTokenType = strawberry.field(description="The token as listed from now on.")


@strawberry.type
class Query:
    @strawberry.field(description="The caller: null without a token.")
    async def viewer(self, info: Info) -> Viewer | None:
        actor = info.context.actor
        if actor is None or not actor.authenticated:
            return None
        return Viewer(name=actor.person_name if actor.person_id is not None else None, operator=actor.operator,
                      scopes=sorted(actor.scopes),
                      token_id=strawberry.ID(str(actor.token_id)) if actor.token_id is not None else None,
                      _publisher=actor.publisher, _person_id=actor.person_id)


@strawberry.type
class Mutation:
    @strawberry.mutation(description=(
        "Invite an e-mail address to a publisher (official key or slug) with a role: editor, curator "
        "(organisations) or publisher-admin. Needs a publisher-admin of that publisher or an operator."
    ))
    async def invite_person(self, info: Info, email: str, publisher: str, role: str) -> Invitation:
        ctx = info.context
        made = await invite(ctx.actor, email, publisher, role, now=datetime.now(UTC))
        services = ctx.services
        settings = services.extra.get("settings")
        sent = False
        if settings is not None:
            sent = await send_invitation(services.extra["mailer"], settings, DEFAULT_LOCALE, made.invitation.email,
                                         made.token, made.publisher, role)
        return Invitation(email=made.invitation.email, role=role, expires_at=made.invitation.expires_at,
                          mail_sent=sent, _publisher=made.publisher)

    @strawberry.mutation(description="Change a member's role (publisher-admin of the publisher, or operator).")
    async def change_role(self, info: Info, membership_id: strawberry.ID, role: str) -> Membership:
        return membership_of(await change_role(info.context.actor, _number(membership_id), role,
                                               now=datetime.now(UTC)))

    @strawberry.mutation(description="Remove a membership; it counts from the person's next request.")
    async def remove_membership(self, info: Info, membership_id: strawberry.ID) -> Membership:
        return membership_of(await remove_membership(info.context.actor, _number(membership_id),
                                                     now=datetime.now(UTC)))

    @strawberry.mutation(description=(
        "Create a personal token for one of the caller's publishers, with scopes no wider than the caller's "
        "role there and than the token in use. Needs a personal token."
    ))
    async def create_api_token(
        self, info: Info, publisher: str, label: str, scopes: list[str] | None = None, expires_in_days: int = 90
    ) -> CreateApiTokenPayload:
        now = datetime.now(UTC)
        token, made = await create_own(info.context.actor, publisher_key=publisher, scopes=scopes or ["publish"],
                                       label=label, valid_days=expires_in_days, now=now)
        return CreateApiTokenPayload(token=token, api_token=token_of(made, now))


def _number(value: strawberry.ID) -> int:
    if not str(value).strip().isdigit():
        raise InvalidInputError(f"{str(value)[:40]!r} is not an id")
    return int(str(value))
