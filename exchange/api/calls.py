"""GraphQL for calls for partners: the `Call` entry type, its suggested partners, closing a call.

A call is an entry (kind "call") and is published and revised with
`publishEntry` and `reviseEntry` (their `call` input holds its terms);
`closeCall` closes it as filled or withdrawn with a reason. The terms are
checked by `exchange.calls`.
"""

from __future__ import annotations

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
from exchange.calls import BLANK, closing, suggested_partners
from exchange.catalogue import EntryInput, publisher_of_entry
from exchange.errors import InvalidInputError

MAX_SUGGESTED = 20


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
        results = await suggested_partners(matcher_of(info), self._row, first=first, language=language)
        return [PublisherMatch(publisher=_publisher(r.publisher), **fields)
                for r, fields in zip(results, await _fields(results), strict=True)]

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


__all__ = ["Call", "Mutation", "call_of"]
