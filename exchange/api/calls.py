"""GraphQL for calls for partners: the `Call` entry type, its suggested partners and answers,
closing a call, answering one and withdrawing an answer.

A call is an entry (kind "call") and is published and revised with
`publishEntry` and `reviseEntry` (their `call` input holds its terms);
`closeCall` closes it as filled or withdrawn with a reason. The terms are
checked by `exchange.calls`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from exchange import models
from exchange.api.enums import CallState, CooperationForm
from exchange.api.later import Later
from exchange.api.matching import PublisherMatch, _fields, _publisher, matcher_of
from exchange.api.mutations import EntryPayload
from exchange.api.types import KIND_TYPES, Entry, _reference, entry_of
from exchange.auth import require
from exchange.calls import (
    BLANK,
    Answer,
    Answers,
    answers_to,
    closing,
    subscribe,
    suggested_partners,
    unsubscribe_feed,
)
from exchange.catalogue import EntryInput, publisher_of_entry
from exchange.errors import InvalidInputError, PermissionDeniedError

MAX_SUGGESTED = 20


@strawberry.type(description="An answer to a call for partners. Its visibility is ADDRESSED: it travels only "
                 "from the answering node to the call's node, and only the call's owner and its author see it.")
class CallAnswer:
    id: strawberry.ID = strawberry.field(description="Global id (a UUID chosen by the answering node).")
    call_id: strawberry.ID = strawberry.field(description="The call it answers.")
    publisher_name: str = strawberry.field(description="The answering municipality or organisation.")
    publisher_key: str = strawberry.field(description="Its official key or slug.")
    message: str = strawberry.field(description="What the answer says.")
    contact_role: str = strawberry.field(description="A role address to contact.")
    withdrawn: bool = strawberry.field(description="True when its author withdrew it.")
    version: int = strawberry.field(description="1, or 2 once withdrawn.")
    origin_node: str = strawberry.field(description="The node of the answering publisher, which signed it.")
    delivered: bool = strawberry.field(description="Whether the call's node holds this version.")
    created_at: datetime = strawberry.field(description="When it was written.")
    updated_at: datetime = strawberry.field(description="When this version was stored.")

    @classmethod
    def of(cls, a: Answer) -> CallAnswer:
        return cls(id=strawberry.ID(str(a.uid)), call_id=strawberry.ID(str(a.call_uid)), publisher_name=a.publisher_name,
                   publisher_key=a.publisher_key, message=a.message, contact_role=a.contact_role,
                   withdrawn=a.state == "withdrawn", version=a.version, origin_node=a.origin_node,
                   delivered=a.confirmed_version >= a.version, created_at=a.created_at, updated_at=a.updated_at)


@strawberry.type(description="The result of writing an answer: the answer as now stored.")
class AnswerPayload:
    answer: CallAnswer = strawberry.field(description="The answer as now stored.")


@strawberry.type(description="A call for partners: what a municipality plans and the partners it looks for.",
                 directives=[Key(fields=FieldSet("id"))])
class Call(Entry):
    form: CooperationForm = strawberry.field(description="The form of cooperation.")
    region: str = strawberry.field(description="The region it is open to, in words (may be empty).")
    radius_km: int | None = strawberry.field(description="Open to municipalities within this distance; null: anywhere.")
    size_classes: list[str] = strawberry.field(description="Size classes sought; empty: all.")
    partners_wanted: int = strawberry.field(description="How many partners it looks for.")
    deadline: str = strawberry.field(description="Answers until this day (YYYY-MM-DD).")
    state: CallState = strawberry.field(description="Open, or closed as filled or withdrawn.")
    close_reason: str = strawberry.field(description="Why it was closed (empty while open).")

    @strawberry.field(description=(
        "Municipalities and organisations that could join: the peer matcher's ranking for the call's text, "
        "with its reasons; the size classes sought and the radius (from the calling municipality) filter them, "
        "which leaves organisations out. See /matching."))
    async def suggested_partners(self, info: Info, first: int = 5, language: str = "de") -> list[PublisherMatch]:
        if not 0 <= first <= MAX_SUGGESTED:
            raise InvalidInputError(f"first must be between 0 and {MAX_SUGGESTED}")
        results = await suggested_partners(matcher_of(info), self._row, first=first, language=language,
                                           cache=info.context.services.extra.get("call_partners"))
        return [PublisherMatch(publisher=_publisher(r.publisher), **fields)
                for r, fields in zip(results, await _fields(results), strict=True)]

    @strawberry.field(description="The answers this call received, newest first: for the call's owner only "
                      "(FORBIDDEN for anyone else).")
    async def answers(self, info: Info) -> list[CallAnswer]:
        ctx = info.context
        row: models.Entry = self._row
        if row.origin_node != ctx.catalogue.node_url:
            raise PermissionDeniedError("the answers to a call are kept by the call's own node")
        require(ctx.actor, "publish", await publisher_of_entry(row))
        return [CallAnswer.of(a) for a in await answers_to(row)]

    @classmethod
    def resolve_reference(cls, info: Info, id: strawberry.ID) -> Later[Entry | None]:
        return Later(lambda: _reference(info, id))


def call_of(e: models.Entry, base: dict[str, Any]) -> Call:
    terms = {**BLANK, **(e.call or {})}
    return Call(**base, form=CooperationForm(terms["form"]), region=terms["region"], radius_km=terms["radius_km"],
                size_classes=list(terms["size_classes"]), partners_wanted=terms["partners_wanted"],
                deadline=terms["deadline"], state=CallState(terms["state"]), close_reason=terms["close_reason"])


KIND_TYPES["call"] = call_of


@strawberry.type(description="Writes about calls for partners.")
class Mutation:
    @strawberry.mutation(description="Close a call for partners as FILLED or WITHDRAWN, with a reason; "
                         "a new version that travels like any other.")
    async def close_call(self, info: Info, id: strawberry.ID, state: CallState, reason: str = "",
                         expected_version: int | None = None) -> EntryPayload:
        ctx = info.context
        entry = await ctx.catalogue.get(str(id), ctx.actor)
        require(ctx.actor, "publish", await publisher_of_entry(entry))
        change = closing(entry.kind, entry.call, state.value, reason)
        entry = await ctx.catalogue.revise(ctx.actor, str(id), expected_version or entry.version,
                                           EntryInput(call=change), note="closed")
        return EntryPayload(entry=entry_of(entry))

    @strawberry.mutation(description="Answer a call for partners for the token's publisher: a short message and a "
                         "contact role. The answer goes to the call's node only, and its owner alone sees it.")
    async def answer_call(self, info: Info, call_id: strawberry.ID, message: str,
                          contact_role: str = "") -> AnswerPayload:
        ctx = info.context
        answers: Answers = ctx.services.extra["answers"]
        return AnswerPayload(answer=CallAnswer.of(await answers.answer(ctx.actor, str(call_id), message, contact_role)))

    @strawberry.mutation(description="Withdraw an answer of the token's publisher; the withdrawal travels like "
                         "the answer.")
    async def withdraw_answer(self, info: Info, id: strawberry.ID) -> AnswerPayload:
        ctx = info.context
        answers: Answers = ctx.services.extra["answers"]
        return AnswerPayload(answer=CallAnswer.of(await answers.withdraw(ctx.actor, str(id))))

    @strawberry.mutation(description="Subscribe the signed-in person to new calls for partners matching topics "
                         "and a region (a municipality and a radius): an Atom feed at the returned address and, "
                         "with an e-mail address, a daily or weekly digest. Stays on this node, never federated.")
    async def subscribe_to_calls(self, info: Info, topics: list[str], centre_key: str = "",
                                 radius_km: int | None = None, frequency: str = "weekly", email: str = "",
                                 language: str = "de") -> str:
        ctx = info.context
        if ctx.actor.person_id is None:
            raise PermissionDeniedError("a subscription belongs to a person: sign in as one (a personal token)")
        _, token = await subscribe(ctx.actor.person_id, email, topics=topics, centre_key=centre_key,
                                   radius_km=radius_km, frequency=frequency, language=language,
                                   now=ctx.catalogue.clock())
        return f"{ctx.catalogue.node_url}/calls/feed/{token}"

    @strawberry.mutation(description="Delete a subscription of the signed-in person to new calls, named by the "
                         "address of its feed (what subscribeToCalls returned); the feed stops working and no more "
                         "digests are sent. NOT_FOUND for an address that is none of the person's.")
    async def unsubscribe_from_calls(self, info: Info, feed: str) -> bool:
        ctx = info.context
        if ctx.actor.person_id is None:
            raise PermissionDeniedError("a subscription belongs to a person: sign in as one (a personal token)")
        await unsubscribe_feed(ctx.actor.person_id, feed)
        return True


__all__ = ["AnswerPayload", "Call", "CallAnswer", "Mutation", "call_of"]
