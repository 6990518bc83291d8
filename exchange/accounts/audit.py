"""The audit log: sign-ins, invitations, role changes and token changes on this node.

Operators read it (`/operator/audit`). It is local like everything about
people: never federated, never exported. Each event names who did it (a
person, a token, or the command line) and what it was done to.
"""

from __future__ import annotations

from datetime import datetime

from exchange.accounts.models import AuditEvent
from exchange.auth import Actor

SIGNED_IN = "signed in"
SIGN_IN_REFUSED = "sign-in refused"
SIGNED_OUT_EVERYWHERE = "signed out everywhere"
INVITED = "invited"
INVITATION_ACCEPTED = "invitation accepted"
ROLE_CHANGED = "role changed"
MEMBERSHIP_REMOVED = "membership removed"
OPERATOR_ADDED = "operator added"
TOKEN_CREATED = "token created"
TOKEN_REVOKED = "token revoked"


def who(actor: Actor | None) -> str:
    """How the log names an actor."""
    if actor is None:
        return "command line"
    if actor.person_id is not None:
        via = f" (token {actor.token_id})" if actor.token_id is not None else ""
        return f"{actor.person_name} [person {actor.person_id}]{via}"
    if actor.token_id is not None:
        return f"token {actor.token_id} of {actor.label}"
    return actor.label


async def record(
    action: str, *, now: datetime, actor: Actor | None = None, who_: str = "", person_id: int | None = None,
    target: str = "", detail: str = "",
) -> None:
    await AuditEvent.create(
        at=now, person_id=person_id if person_id is not None else actor.person_id if actor else None,
        actor=(who_ or who(actor))[:300], action=action, target=target[:300], detail=detail[:500],
    )


async def events(*, first: int = 100, before: int | None = None) -> list[AuditEvent]:
    """The newest events first; `before` an event id, to page back."""
    query = AuditEvent.all()
    if before is not None:
        query = query.filter(id__lt=before)
    return list(await query.order_by("-id").limit(max(1, min(first, 500))))
