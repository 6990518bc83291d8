"""Persons and their memberships: operators, invitations, roles.

An operator is made on the command line (`exchange operators add EMAIL`).
A publisher-admin or an operator invites an e-mail address to a publisher
with a role; the invitation's link goes out by mail, expires after
`INVITATION_LIFETIME`, and accepting it creates the membership: only the
invited address may accept (the link was delivered there, or the person
signed in with it verified). Changing a role or removing a membership counts
from the person's next request (`exchange.auth.person_actor` reads it
afresh). Who may do each of these is the roles table (`roles.MANAGE_PEOPLE`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from exchange.accounts import audit
from exchange.accounts import roles as R
from exchange.accounts.cache import accounts_changed
from exchange.accounts.models import Invitation, Membership, Person
from exchange.auth import Actor, Publisher, find_publisher, publisher_of, require_action
from exchange.db import current_connection
from exchange.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from exchange.models import Municipality, Organisation

INVITATION_LIFETIME = timedelta(days=7)
# Deliberately plain: one @, a dot in the domain, no spaces or control characters.
EMAIL = re.compile(r"^[^@\s\x00-\x1f\"<>(),;:\\\[\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")


def normalise_email(text: str) -> str:
    """The address in lower case; InvalidInputError naming the problem when it is not one."""
    email = (text or "").strip().lower()
    if not email:
        raise InvalidInputError("please enter an e-mail address")
    if len(email) > 254 or not EMAIL.match(email):
        raise InvalidInputError(f"{email[:80]!r} is not an e-mail address (name@example.org)")
    return email


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MemberOf:
    """A membership with its publisher, as pages and the API show it."""

    id: int
    person: Person
    publisher: Publisher
    role: str
    since: datetime


async def _publisher_of(m: Membership | Invitation) -> Publisher | None:
    if m.municipality_id is not None:
        return publisher_of(await Municipality.get_or_none(id=m.municipality_id), None)
    return publisher_of(None, await Organisation.get_or_none(id=m.organisation_id))


def _columns(publisher: Publisher) -> dict[str, Any]:
    return {"municipality_id": publisher.id if publisher.kind == "municipality" else None,
            "organisation_id": publisher.id if publisher.kind == "organisation" else None}


async def add_operator(email: str, *, name: str = "", now: datetime) -> tuple[Person, bool]:
    """Make the address an operator (creating the person); returns it and whether it was new."""
    email = normalise_email(email)
    person = await Person.get_or_none(email=email)
    created = person is None
    if person is None:
        person = await Person.create(email=email, display_name=(name or email.split("@")[0])[:120],
                                     operator=True, created_at=now)
    elif not person.operator:
        person.operator = True
        await Person.filter(id=person.id).update(operator=True)
        await accounts_changed(current_connection())
    await audit.record(audit.OPERATOR_ADDED, now=now, who_="command line", target=email)
    return person, created


async def memberships_of(person_id: int) -> list[MemberOf]:
    person = await Person.get(id=person_id)
    found = []
    for m in await Membership.filter(person_id=person_id).order_by("id"):
        publisher = await _publisher_of(m)
        if publisher is not None:
            found.append(MemberOf(m.id, person, publisher, m.role, m.created_at))
    return found


async def people_of(publisher: Publisher) -> list[MemberOf]:
    rows = await Membership.filter(**_columns(publisher)).order_by("id").prefetch_related("person")
    return [MemberOf(m.id, m.person, publisher, m.role, m.created_at) for m in rows]


async def role_for(actor: Actor, publisher: Publisher) -> str | None:
    """The role a signed-in person holds for `publisher` (whichever publisher they act for now)."""
    if actor.person_id is None:
        return None
    m = await Membership.get_or_none(person_id=actor.person_id, **_columns(publisher))
    return m.role if m else None


async def require_for(actor: Actor, action: str, publisher: Publisher) -> None:
    """The roles table for an action on `publisher`: the operator's role, a person's role
    there (acting for it or not), or a token's scopes."""
    if not actor.authenticated:
        raise UnauthenticatedError("please sign in first")
    if actor.operator and R.allowed(frozenset({R.OPERATOR}), action):
        return
    if actor.person_id is not None and actor.token_id is None:
        role = await role_for(actor, publisher)
        if role is None:
            raise PermissionDeniedError(f"you are not a member of {publisher.name}")
        if not R.allowed(frozenset({role}), action):
            raise PermissionDeniedError(f"as {role} of {publisher.name} you may not {action}")
        return
    require_action(actor, action, publisher)


@dataclass(frozen=True)
class NewInvitation:
    token: str  # goes into the mail's link, shown nowhere else
    invitation: Invitation
    publisher: Publisher


async def invite(actor: Actor, email: str, publisher_key: str, role: str, *, now: datetime) -> NewInvitation:
    """Invite an address to a publisher with a role (nothing is created when anything is wrong)."""
    email = normalise_email(email)
    publisher = await find_publisher(publisher_key)
    await require_for(actor, R.MANAGE_PEOPLE, publisher)
    problem = R.check_role(role, publisher.kind)
    if problem:
        raise InvalidInputError(problem)
    person = await Person.get_or_none(email=email)
    if person is not None and await Membership.exists(person_id=person.id, **_columns(publisher)):
        raise ConflictError(f"{email} is already a member of {publisher.name}; change the role instead")
    token = secrets.token_urlsafe(24)
    async with in_transaction():
        # A new invitation replaces an open one for the same address and publisher.
        await Invitation.filter(email=email, accepted_at=None, expires_at__gt=now,
                                **_columns(publisher)).update(expires_at=now)
        row = await Invitation.create(token_hash=secret_hash(token), email=email, role=role,
                                      invited_by_id=actor.person_id, created_at=now,
                                      expires_at=now + INVITATION_LIFETIME, **_columns(publisher))
        await audit.record(audit.INVITED, now=now, actor=actor, target=email,
                           detail=f"{role} of {publisher.kind}:{publisher.key}")
    return NewInvitation(token, row, publisher)


@dataclass(frozen=True)
class OpenInvitation:
    invitation: Invitation
    publisher: Publisher


async def open_invitation(token: str, *, now: datetime) -> OpenInvitation:
    """An invitation that may still be accepted; InvalidInputError saying why not."""
    row = await Invitation.get_or_none(token_hash=secret_hash(token.strip()))
    if row is None:
        raise NotFoundError("this invitation link is not known to this node; check that it was copied completely")
    if row.accepted_at is not None:
        raise InvalidInputError("this invitation has been accepted already; sign in instead")
    if row.expires_at <= now:
        raise InvalidInputError(
            f"this invitation expired on {row.expires_at:%Y-%m-%d %H:%M} UTC; ask for a new one")
    publisher = await _publisher_of(row)
    if publisher is None:
        raise NotFoundError("the publisher of this invitation no longer exists")
    return OpenInvitation(row, publisher)


async def accept(token: str, *, email: str, name: str = "", now: datetime) -> tuple[Person, MemberOf]:
    """Accept an invitation as the verified address `email` (creating the person when new)."""
    found = await open_invitation(token, now=now)
    inv, publisher = found.invitation, found.publisher
    if normalise_email(email) != inv.email:
        raise PermissionDeniedError(
            f"this invitation is for {inv.email}, but you are signed in as {email}; "
            "sign in with the invited address to accept it")
    async with in_transaction():
        taken = await Invitation.filter(id=inv.id, accepted_at=None).update(accepted_at=now)
        if not taken:
            raise InvalidInputError("this invitation has been accepted already; sign in instead")
        person = await Person.get_or_none(email=inv.email)
        if person is None:
            display = " ".join(name.split())[:120] or inv.email.split("@")[0]
            person = await Person.create(email=inv.email, display_name=display, created_at=now)
        await Invitation.filter(id=inv.id).update(accepted_by_id=person.id)
        m = await Membership.get_or_none(person_id=person.id, **_columns(publisher))
        if m is None:
            m = await Membership.create(person_id=person.id, role=inv.role, created_at=now, **_columns(publisher))
            await accounts_changed(current_connection())
        await audit.record(audit.INVITATION_ACCEPTED, now=now, who_=f"{person.display_name} [person {person.id}]",
                           person_id=person.id, target=inv.email,
                           detail=f"{inv.role} of {publisher.kind}:{publisher.key}")
    return person, MemberOf(m.id, person, publisher, m.role, m.created_at)


async def _membership(actor: Actor, membership_id: int) -> tuple[Membership, Publisher]:
    m = await Membership.get_or_none(id=membership_id).prefetch_related("person")
    publisher = await _publisher_of(m) if m is not None else None
    if m is None or publisher is None:
        raise NotFoundError(f"no membership with id {membership_id}")
    await require_for(actor, R.MANAGE_PEOPLE, publisher)
    return m, publisher


async def change_role(actor: Actor, membership_id: int, role: str, *, now: datetime) -> MemberOf:
    m, publisher = await _membership(actor, membership_id)
    problem = R.check_role(role, publisher.kind)
    if problem:
        raise InvalidInputError(problem)
    if m.role != role:
        old = m.role
        await Membership.filter(id=m.id).update(role=role)
        await accounts_changed(current_connection())
        m.role = role
        await audit.record(audit.ROLE_CHANGED, now=now, actor=actor, target=m.person.email,
                           detail=f"{old} -> {role} of {publisher.kind}:{publisher.key}")
    return MemberOf(m.id, m.person, publisher, m.role, m.created_at)


async def remove_membership(actor: Actor, membership_id: int, *, now: datetime) -> MemberOf:
    m, publisher = await _membership(actor, membership_id)
    await Membership.filter(id=m.id).delete()
    await accounts_changed(current_connection())
    await audit.record(audit.MEMBERSHIP_REMOVED, now=now, actor=actor, target=m.person.email,
                       detail=f"{m.role} of {publisher.kind}:{publisher.key}")
    return MemberOf(m.id, m.person, publisher, m.role, m.created_at)


async def invitations_of(publisher: Publisher, *, now: datetime) -> list[Invitation]:
    return list(await Invitation.filter(accepted_at=None, expires_at__gt=now, **_columns(publisher)).order_by("id"))


async def all_people() -> list[Person]:
    return list(await Person.all().order_by("display_name", "id"))


async def open_invitations_for(email: str, *, now: datetime) -> list[Invitation]:
    return list(await Invitation.filter(email=email, accepted_at=None, expires_at__gt=now).order_by("id"))


async def last_change_by(entry_id: int) -> tuple[str, datetime] | None:
    """Who (a person's name) made the newest revision of an entry that records a person, and when."""
    from exchange.models import Revision

    rev = await Revision.filter(entry_id=entry_id, person_id__not_isnull=True).order_by("-version").first()
    if rev is None or rev.person_id is None:
        return None
    person = await Person.get_or_none(id=rev.person_id)
    return (person.display_name, rev.created_at) if person is not None else None


async def accept_open_invitations(person: Person, *, now: datetime) -> int:
    """Accept every open invitation to the person's (verified) address; returns how many."""
    accepted = 0
    for inv in await open_invitations_for(person.email, now=now):
        publisher = await _publisher_of(inv)
        if publisher is None or not await Invitation.filter(id=inv.id, accepted_at=None).update(
                accepted_at=now, accepted_by_id=person.id):
            continue
        if not await Membership.exists(person_id=person.id, **_columns(publisher)):
            await Membership.create(person_id=person.id, role=inv.role, created_at=now, **_columns(publisher))
            await accounts_changed(current_connection())
        await audit.record(audit.INVITATION_ACCEPTED, now=now, who_=f"{person.display_name} [person {person.id}]",
                           person_id=person.id, target=inv.email,
                           detail=f"{inv.role} of {publisher.kind}:{publisher.key} (OpenID sign-in)")
        accepted += 1
    return accepted
