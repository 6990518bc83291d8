"""Answers to calls for partners: written on the answering node, addressed to the call's node only.

An answer ("we are interested", a short message, a contact role) is owned and
signed by the node of the answering publisher. Its visibility is `addressed`:
it travels to the call's origin node and nowhere else (never in the change
feed, open data, search, or to other peers, and never relayed), so its row
names its `addressee`. The answering node keeps it until the addressee
confirms it by pulling it (`confirmed_version`); a withdrawal is a new
version that travels the same way.

`accept` is the addressee's side: it stores a verified envelope only when it
is an answer to one of this node's own open calls from another publisher,
sent by the node that signed it; anything else raises `AnswerRefused` with
the reason, which the caller records as a `Refusal` for the operator.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from content import forbidden_character
from exchange.auth import Actor, Publisher, require
from exchange.calls.models import Answer, Refusal
from exchange.calls.terms import is_open
from exchange.envelope import Signer, canonical_json
from exchange.errors import (
    N_,
    ConflictError,
    ExchangeError,
    FieldError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from exchange.models import Entry, Municipality, Organisation

log = logging.getLogger("exchange.calls")
ADDRESSED = "addressed"  # the visibility of an answer: its origin and its addressee, no one else
MAX_MESSAGE = 2000


class AnswerRefused(ValueError):
    """A received answer this node does not store; the message says why."""


def _now() -> datetime:
    return datetime.now(UTC)


async def _publisher_of_call(call: Entry) -> tuple[str, str]:
    if call.municipality_id is not None:
        return "municipality", (await Municipality.get(id=call.municipality_id)).official_key
    return "organisation", (await Organisation.get(id=call.organisation_id)).slug


def build_envelope(answer: Answer) -> dict[str, Any]:
    """The signed form of one version of an answer."""
    return {
        "type": "answer", "id": str(answer.uid), "origin": answer.origin_node, "addressee": answer.addressee,
        "version": answer.version, "visibility": ADDRESSED, "updatedAt": answer.updated_at.isoformat(),
        "answer": {"call": str(answer.call_uid), "state": answer.state, "message": answer.message,
                   "contactRole": answer.contact_role,
                   "publisher": {"type": answer.publisher_kind, "key": answer.publisher_key,
                                 "name": answer.publisher_name}},
    }


def _clean(message: str, contact_role: str) -> tuple[str, str]:
    message, contact_role = message.strip(), contact_role.strip()
    for name, value in (("message", message), ("contact_role", contact_role)):
        hit = forbidden_character(value)
        if hit is not None:
            raise InvalidInputError(hit.message(name))
    if not message:
        raise FieldError("message", N_("Please fill in this field."))
    if len(message) > MAX_MESSAGE:
        raise FieldError("message", N_("This is %(length)s characters long; at most %(most)s are allowed."),
                         length=len(message), most=MAX_MESSAGE)
    if len(contact_role) > 200:
        raise FieldError("contact_role", N_("This is %(length)s characters long; at most %(most)s are allowed."),
                         length=len(contact_role), most=200)
    return message, contact_role


class Answers:
    """Writing answers on this node and taking those addressed to it."""

    def __init__(self, signer: Signer, clock: Callable[[], datetime] = _now) -> None:
        self.signer = signer
        self.clock = clock
        self.listeners: list[Callable[[Answer], Any]] = []  # told after an answer is stored here

    @property
    def node_url(self) -> str:
        return self.signer.node_url

    def _sign(self, answer: Answer) -> None:
        answer.envelope = build_envelope(answer)
        answer.signature = self.signer.sign(canonical_json(answer.envelope))

    async def answer(self, actor: Actor, call_uid: str, message: str, contact_role: str = "") -> Answer:
        """Answer a call (received from its node, or one of this node's own) for the actor's publisher."""
        publisher = require(actor, "publish")
        message, contact_role = _clean(message, contact_role)
        try:
            uid = uuid.UUID(str(call_uid).strip())
        except ValueError:
            raise InvalidInputError(f"{call_uid!r} is not an entry id (a UUID)") from None
        call = await Entry.get_or_none(uid=uid, deleted=False)
        if call is None or call.kind != "call" or call.visibility not in ("public", "network"):
            raise NotFoundError(f"no call for partners with id {call_uid}")
        if not is_open(call.call, self.clock().date()):
            raise ConflictError("this call is closed; it takes no more answers")
        if await _publisher_of_call(call) == (publisher.kind, publisher.key):
            raise InvalidInputError("this is your own call; answers come from other publishers")
        if await Answer.exists(call_uid=uid, publisher_kind=publisher.kind, publisher_key=publisher.key,
                               state="active"):
            raise ConflictError("your publisher has answered this call already; withdraw that answer first")
        now = self.clock()
        answer = Answer(uid=uuid.uuid4(), call_uid=uid, origin_node=self.node_url, addressee=call.origin_node,
                        version=1, publisher_kind=publisher.kind, publisher_key=publisher.key,
                        publisher_name=publisher.name, message=message, contact_role=contact_role, state="active",
                        person_id=actor.person_id, created_at=now, updated_at=now, next_attempt=now)
        if call.origin_node == self.node_url:  # our own node's call: delivered where it is
            answer.confirmed_version = 1
        self._sign(answer)
        await answer.save()
        await self._notify(answer)
        return answer

    async def withdraw(self, actor: Actor, answer_uid: str) -> Answer:
        """Withdraw an answer of the actor's publisher: a new version that travels like the first."""
        publisher = require(actor, "publish")
        answer = await self._own(publisher, answer_uid)
        if answer.state == "withdrawn":
            raise ConflictError("this answer is withdrawn already")
        now = self.clock()
        async with in_transaction():
            updated = await Answer.filter(id=answer.id, version=answer.version).update(
                version=answer.version + 1, state="withdrawn", updated_at=now, next_attempt=now, attempts=0)
            if updated != 1:
                raise ConflictError("the answer changed meanwhile; reload it")
            answer.version, answer.state, answer.updated_at = answer.version + 1, "withdrawn", now
            answer.next_attempt, answer.attempts = now, 0
            if answer.addressee == self.node_url:
                answer.confirmed_version = answer.version
            self._sign(answer)
            await answer.save()
        await self._notify(answer)
        return answer

    async def _own(self, publisher: Publisher, answer_uid: str) -> Answer:
        try:
            uid = uuid.UUID(str(answer_uid).strip())
        except ValueError:
            raise InvalidInputError(f"{answer_uid!r} is not an answer id (a UUID)") from None
        answer = await Answer.get_or_none(uid=uid, origin_node=self.node_url)
        if answer is None:
            raise NotFoundError(f"no answer with id {answer_uid} written on this node")
        if (answer.publisher_kind, answer.publisher_key) != (publisher.kind, publisher.key):
            raise PermissionDeniedError("only the publisher that answered can withdraw its answer")
        return answer

    async def _notify(self, answer: Answer) -> None:
        for listener in self.listeners:
            await listener(answer)

    # -- the addressee's side --------------------------------------------------

    async def accept(self, envelope: dict[str, Any], signature: str, sender: str) -> Answer | None:
        """Store an answer `sender` sent us (its signature checked by the caller against the
        sender's own key); None when this version is held already. AnswerRefused says why not."""
        if envelope.get("origin") != sender:
            raise AnswerRefused(f"the answer comes from {str(envelope.get('origin'))[:100]} but was sent by "
                                f"{sender}: answers are never relayed")
        if envelope.get("addressee") != self.node_url or envelope.get("visibility") != ADDRESSED:
            raise AnswerRefused("the answer is not addressed to this node")
        body = envelope.get("answer")
        version = envelope.get("version")
        if envelope.get("type") != "answer" or not isinstance(body, dict) or type(version) is not int or version < 1:
            raise AnswerRefused("this is not an answer")
        try:
            uid = uuid.UUID(str(envelope.get("id")))
            call_uid = uuid.UUID(str(body.get("call")))
            updated = datetime.fromisoformat(str(envelope.get("updatedAt")))
        except ValueError:
            raise AnswerRefused("the answer's id, call or time is malformed") from None
        publisher = body.get("publisher")
        if not (isinstance(publisher, dict) and publisher.get("type") in ("municipality", "organisation")
                and isinstance(publisher.get("key"), str) and publisher["key"]):
            raise AnswerRefused("the answer names no publisher")
        state = body.get("state")
        message, role = body.get("message"), body.get("contactRole", "")
        if state not in ("active", "withdrawn") or not isinstance(message, str) or not isinstance(role, str):
            raise AnswerRefused("the answer's state, message or contact role is malformed")
        if forbidden_character(envelope) is not None or len(message) > MAX_MESSAGE or len(role) > 200:
            raise AnswerRefused("the answer's text is too long or holds forbidden characters")
        held = await Answer.get_or_none(uid=uid)
        if held is not None:
            if held.origin_node != sender:
                raise AnswerRefused(f"answer {uid} belongs to {held.origin_node}")
            if version == held.version and held.envelope == envelope:
                return None  # sent again until we confirm: held already
            if version <= held.version:
                raise AnswerRefused(f"answer {uid} version {version} replayed (this node holds version "
                                    f"{held.version})")
        call = await Entry.get_or_none(uid=call_uid)
        if call is None or call.kind != "call" or call.origin_node != self.node_url or call.deleted:
            raise AnswerRefused(f"no call {call_uid} of this node")
        if await _publisher_of_call(call) == (publisher["type"], publisher["key"]):
            raise AnswerRefused("an answer to a call from the call's own publisher")
        if held is None and state == "active" and not is_open(call.call, self.clock().date()):
            raise AnswerRefused(f"call {call_uid} is closed; it takes no more answers")
        elsewhere = await _published_from_elsewhere(publisher["type"], publisher["key"], sender)
        if elsewhere is not None:
            raise AnswerRefused(f"publisher {publisher['key']} publishes from {elsewhere}, not from {sender}: "
                                "a forged answer")
        values = {"call_uid": call_uid, "origin_node": sender, "addressee": self.node_url, "version": version,
                  "publisher_kind": publisher["type"], "publisher_key": publisher["key"],
                  "publisher_name": str(publisher.get("name") or "")[:200], "message": message,
                  "contact_role": role, "state": state, "envelope": envelope, "signature": signature,
                  "confirmed_version": version, "updated_at": updated}
        if held is None:
            answer = await Answer.create(uid=uid, created_at=updated, **values)
        else:
            await Answer.filter(id=held.id).update(seen=False, **values)
            answer = await Answer.get(id=held.id)
        await self._notify(answer)
        return answer


async def _published_from_elsewhere(kind: str, key: str, sender: str) -> str | None:
    """The node a publisher's entries come from, when that is another node than `sender`."""
    if kind == "municipality":
        row = await Municipality.get_or_none(official_key=key)
        if row is None:
            return None
        origins = await Entry.filter(municipality_id=row.id).exclude(origin_node=sender).limit(1).values_list(
            "origin_node", flat=True)
    else:
        org = await Organisation.get_or_none(slug=key)
        if org is None:
            return None
        origins = await Entry.filter(organisation_id=org.id).exclude(origin_node=sender).limit(1).values_list(
            "origin_node", flat=True)
    return str(origins[0]) if origins else None


async def refuse(peer_url: str, envelope: Any, reason: str, now: datetime) -> None:
    """Record a refused answer for the operator."""
    uid = str(envelope.get("id"))[:200] if isinstance(envelope, dict) else ""
    await Refusal.create(peer_url=peer_url[:300], answer_uid=uid, reason=reason[:500], created_at=now)


async def answers_to(call: Entry) -> list[Answer]:
    """The answers a call received (for its owner), newest first."""
    return list(await Answer.filter(call_uid=call.uid).order_by("-created_at"))


async def unseen_answers(call_uids: list[uuid.UUID]) -> dict[str, int]:
    """How many answers each call got that its owner has not opened yet (call uid -> count)."""
    counts: dict[str, int] = {}
    for call_uid in await Answer.filter(call_uid__in=call_uids, seen=False, state="active").values_list(
            "call_uid", flat=True):
        counts[str(call_uid)] = counts.get(str(call_uid), 0) + 1
    return counts


def owner_notifier(send: Callable[[str, str, str], Any], node_url: str) -> Callable[[Answer], Any]:
    """An answers listener that mails a call's contact address when an answer to it arrives or is
    withdrawn (the node's mail setting; without one the answer waits on "my entries")."""
    async def notify(answer: Answer) -> None:
        if answer.addressee != node_url:
            return
        call = await Entry.get_or_none(uid=answer.call_uid)
        if call is None or not call.contact_email:
            return
        withdrawn = answer.state == "withdrawn"
        subject = (f"Antwort {'zurückgezogen' if withdrawn else 'erhalten'}: {call.title}"[:200])
        body = (f"{answer.publisher_name or answer.publisher_key} "
                f"{'hat die Antwort zurückgezogen' if withdrawn else 'antwortet auf Ihre Partnersuche'}.\n\n"
                f"{'' if withdrawn else answer.message}\n\n{node_url}/entries/{call.uid}\n")
        try:
            await send(call.contact_email, subject, body)
        except ExchangeError as exc:  # the answer is stored and shown; a mail server that refuses is logged
            log.warning("the notice of an answer to %s was not sent: %s", call.uid, exc.message)
    return notify
