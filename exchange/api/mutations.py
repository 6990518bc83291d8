"""Write resolvers: publish, revise and unpublish, each needing a token with scope."""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry
from strawberry import Info

from exchange.api.inputs import EntryFields, PublishEntryInput, ReviseEntryInput
from exchange.api.types import Entry, entry_of
from exchange.catalogue import EntryInput
from exchange.errors import InvalidInputError


@strawberry.type(description="The result of a write: the entry as now stored.")
class EntryPayload:
    entry: Entry = strawberry.field(description="The entry as now stored.")


def to_entry_input(data: EntryFields, kind: str | None = None) -> EntryInput:
    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(v) for v in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {k: plain(v) for k, v in vars(value).items()}
        if hasattr(value, "value") and value.__class__.__module__.startswith("exchange.api"):
            return value.value
        return value

    values: dict[str, Any] = {}
    for f in dataclasses.fields(EntryInput):
        if f.name == "kind":
            continue
        if f.name == "call" and data.call is not None:
            values["call"] = {k: plain(v) for k, v in vars(data.call).items()
                              if v is not strawberry.UNSET and (v is not None or k == "radius_km")}
            continue
        if f.name == "links" and data.links is not None:
            values["links"] = [{"relation": link.relation, "target": str(link.target_id)} for link in data.links]
            continue
        raw = getattr(data, f.name, None)
        if raw is not None and raw is not strawberry.UNSET:
            values[f.name] = plain(raw)
    if "project_id" in values:
        values["project_id"] = str(values["project_id"])
    amount = getattr(data, "budget_amount", None)
    if amount is not None and amount is not strawberry.UNSET:
        if "budget_eur" in values:
            raise InvalidInputError("give the budget either as budgetEur or as budgetAmount, not both")
        values["budget_eur"] = amount
    elif "budget_eur" in values and "budget_currency" not in values:
        values["budget_currency"] = "EUR"
    return EntryInput(kind=kind, **values)


@strawberry.type(description="Writes. Each needs `Authorization: Bearer <token>` with the publish scope.")
class Mutation:
    @strawberry.mutation(description="Publish a new entry for the token's publisher.")
    async def publish_entry(self, info: Info, input: PublishEntryInput) -> EntryPayload:
        ctx = info.context
        entry = await ctx.catalogue.publish(
            ctx.actor, to_entry_input(input, kind=input.kind.value), publisher_key=input.publisher
        )
        return EntryPayload(entry=entry_of(entry))

    @strawberry.mutation(description="Store a new version; fails with CONFLICT when expectedVersion is stale.")
    async def revise_entry(self, info: Info, input: ReviseEntryInput) -> EntryPayload:
        ctx = info.context
        entry = await ctx.catalogue.revise(
            ctx.actor, str(input.id), input.expected_version, to_entry_input(input), note=input.note or ""
        )
        return EntryPayload(entry=entry_of(entry))

    @strawberry.mutation(description="Unpublish an entry: a signed tombstone replaces it across the network.")
    async def unpublish_entry(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> EntryPayload:
        ctx = info.context
        entry = await ctx.catalogue.unpublish(ctx.actor, str(id), expected_version)
        return EntryPayload(entry=entry_of(entry))
