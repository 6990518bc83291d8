"""GraphQL for curation: collections, endorsements, review moves, diffs, checklist progress.

Resolvers stay thin and call `exchange.curation.collections` and
`exchange.curation.review`. The `Endorsement` type is an entry's field, so it
lives with the entry types (`types`).
Review moves, collections and endorsements need a token of an organisation
with the `curate` scope; checklist progress needs a municipality token and
stays on this node.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import Info

from exchange import models
from exchange.access import may_see
from exchange.api.enums import ReviewState
from exchange.api.mutations import EntryPayload
from exchange.api.types import Endorsement, Entry, Organisation, entry_of
from exchange.auth import require
from exchange.catalogue import parse_uid
from exchange.curation import collections as service
from exchange.curation import review
from exchange.errors import InvalidInputError, NotFoundError


@strawberry.type(description="One entry of a collection, at its position, with the curators' note.")
class CollectionItem:
    position: int = strawberry.field(description="0-based position.")
    note: str = strawberry.field(description="Why it is in the collection.")
    entry_id: strawberry.ID = strawberry.field(
        description="Id of the entry (it may live on another node)."
    )
    entry: Entry | None = strawberry.field(
        description="The entry, when this node holds it and you may see it."
    )


@strawberry.type(
    description="An ordered, annotated list of entries from any node, curated by an organisation."
)
class Collection:
    id: strawberry.ID = strawberry.field(description="Global id.")
    title: str = strawberry.field(description="Title.")
    summary: str = strawberry.field(description="What the collection is for.")
    language: str = strawberry.field(description="de or en.")
    version: int = strawberry.field(description="Version number.")
    origin_node: str = strawberry.field(description="The node that owns it.")
    updated_at: datetime = strawberry.field(description="When this version was stored.")
    _row: strawberry.Private[models.Collection]

    @strawberry.field(description="The organisation that curates it.")
    async def organisation(self, info: Info) -> Organisation | None:
        o = await info.context.loaders.organisation.load(self._row.organisation_id)  # type: ignore[attr-defined]
        return Organisation.from_model(o) if o else None

    @strawberry.field(description="The entries in order.")
    async def items(self, info: Info) -> list[CollectionItem]:
        pairs = await service.collection_entries(self._row, info.context.actor)
        return [
            CollectionItem(
                position=i.position,
                note=i.note,
                entry_id=strawberry.ID(str(i.entry_uid)),
                entry=entry_of(e) if e is not None else None,
            )
            for i, e in pairs
        ]


def collection_of(c: models.Collection) -> Collection:
    return Collection(
        id=strawberry.ID(str(c.uid)),
        title=c.title,
        summary=c.summary,
        language=c.language,
        version=c.version,
        origin_node=c.origin_node,
        updated_at=c.updated_at,
        _row=c,
    )


@strawberry.type(
    description="The difference between two stored versions of an entry, as a unified diff of its Markdown."
)
class VersionDiff:
    from_version: int = strawberry.field(description="The older version.")
    to_version: int = strawberry.field(description="The newer version.")
    diff: str = strawberry.field(description="Unified diff of title, summary, checklist and body.")
    added: int = strawberry.field(description="Lines added.")
    removed: int = strawberry.field(description="Lines removed.")


@strawberry.type(description="A move of a guide between review states.")
class ReviewEvent:
    version: int = strawberry.field(description="The version the move produced.")
    from_state: ReviewState | None = strawberry.field(
        description="State before (null when created)."
    )
    to_state: ReviewState = strawberry.field(description="State after.")
    actor: str = strawberry.field(description="Who moved it (publisher key).")
    note: str = strawberry.field(description="The reviewer's note.")
    created_at: datetime = strawberry.field(description="When.")


@strawberry.type(
    description="One checklist item of a guide with your municipality's progress (local to this node)."
)
class ChecklistItem:
    index: int = strawberry.field(description="0-based position in the checklist.")
    text: str = strawberry.field(description="The item.")
    done: bool = strawberry.field(description="Ticked by your municipality.")
    updated_at: datetime | None = strawberry.field(
        description="When it was last ticked or unticked."
    )


@strawberry.input(description="One entry of a collection with a note.")
class CollectionItemInput:
    entry_id: strawberry.ID = strawberry.field(description="The entry (any node).")
    note: str = strawberry.field(
        default="", description="Why it belongs here (up to 500 characters)."
    )


@strawberry.input(description="A collection to create (no id) or replace (with id).")
class CollectionInput:
    id: strawberry.ID | None = strawberry.field(
        default=None, description="The collection to change."
    )
    title: str = strawberry.field(description="Title.")
    summary: str = strawberry.field(default="", description="What the collection is for.")
    language: str = strawberry.field(default="de", description="de or en.")
    items: list[CollectionItemInput] = strawberry.field(
        default_factory=list, description="Entries in order."
    )


async def _guide(info: Info, id: strawberry.ID) -> models.Entry:
    entry = await models.Entry.get_or_none(uid=parse_uid(str(id)))
    if entry is None or entry.kind != "guide" or not may_see(entry, info.context.actor):
        raise NotFoundError(f"no guide with id {id}")
    return entry


def _checklist(items: list[review.ChecklistItemState]) -> list[ChecklistItem]:
    return [
        ChecklistItem(index=i.index, text=i.text, done=i.done, updated_at=i.updated_at)
        for i in items
    ]


@strawberry.type(description="Curation: collections, diffs, review history, checklist progress.")
class Query:
    @strawberry.field(
        description="Collections known to this node (own and received), newest first."
    )
    async def collections(
        self, organisation: str | None = None, first: int = 50
    ) -> list[Collection]:
        if not 0 <= first <= 100:
            raise InvalidInputError("first must be between 0 and 100")
        qs = models.Collection.filter(deleted=False, visibility="public")
        if organisation:
            qs = qs.filter(organisation__slug=organisation)
        return [collection_of(c) for c in await qs.order_by("-updated_at", "-id").limit(first)]

    @strawberry.field(description="One collection by id (null when unknown).")
    async def collection(self, id: strawberry.ID) -> Collection | None:
        c = await models.Collection.get_or_none(
            uid=parse_uid(str(id)), deleted=False, visibility="public"
        )
        return collection_of(c) if c else None

    @strawberry.field(description="The diff between two stored versions of an entry, both of "
                      "which the caller could see when they were stored.")
    async def entry_diff(
        self, info: Info, id: strawberry.ID, from_version: int, to_version: int
    ) -> VersionDiff:
        entry = await models.Entry.get_or_none(uid=parse_uid(str(id)))
        if entry is None or not may_see(entry, info.context.actor):
            raise NotFoundError(f"no entry with id {id}")
        d = await review.diff_versions(entry, from_version, to_version, info.context.actor)
        return VersionDiff(
            from_version=d.from_version,
            to_version=d.to_version,
            diff=d.diff,
            added=d.added,
            removed=d.removed,
        )

    @strawberry.field(
        description="Who moved a guide between review states, and when (oldest first)."
    )
    async def review_history(self, info: Info, id: strawberry.ID) -> list[ReviewEvent]:
        entry = await _guide(info, id)
        return [
            ReviewEvent(
                version=e.version,
                from_state=ReviewState(e.from_state) if e.from_state else None,
                to_state=ReviewState(e.to_state),
                actor=e.actor,
                note=e.note,
                created_at=e.created_at,
            )
            for e in await review.review_history(entry)
        ]

    @strawberry.field(
        description="A guide's checklist with your municipality's progress (municipality token)."
    )
    async def checklist_progress(self, info: Info, guide_id: strawberry.ID) -> list[ChecklistItem]:
        publisher = require(info.context.actor, "publish")
        entry = await _guide(info, guide_id)
        if publisher.kind != "municipality":
            raise InvalidInputError(
                "checklist progress belongs to a municipality; use a municipality token"
            )
        return _checklist(await review.checklist_state(publisher.id, entry))


@strawberry.type(
    description="Curation writes (scope curate; checklist progress: a municipality token)."
)
class Mutation:
    @strawberry.mutation(
        description="Move a guide to another review state: DRAFT -> IN_REVIEW -> PUBLISHED -> WITHDRAWN."
    )
    async def move_guide(
        self,
        info: Info,
        id: strawberry.ID,
        to: ReviewState,
        note: str = "",
        expected_version: int | None = None,
    ) -> EntryPayload:
        ctx = info.context
        entry = await review.set_review_state(
            ctx.catalogue,
            ctx.actor,
            str(id),
            to.value,
            note=note,
            expected_version=expected_version,
        )
        return EntryPayload(entry=entry_of(entry))

    @strawberry.mutation(
        description="Endorse an entry (own or another node's) for your organisation, with a note."
    )
    async def endorse_entry(self, info: Info, id: strawberry.ID, note: str = "") -> Endorsement:
        ctx = info.context
        e = await service.endorse(ctx.catalogue, ctx.actor, str(id), note)
        await e.fetch_related("organisation")
        return Endorsement.from_model(e)

    @strawberry.mutation(description="Withdraw your organisation's endorsement of an entry.")
    async def withdraw_endorsement(self, info: Info, id: strawberry.ID) -> bool:
        ctx = info.context
        await service.withdraw_endorsement(ctx.catalogue, ctx.actor, str(id))
        return True

    @strawberry.mutation(description="Create or replace a collection of your organisation.")
    async def save_collection(self, info: Info, input: CollectionInput) -> Collection:
        ctx = info.context
        uid = parse_uid(str(input.id)) if input.id else uuid.uuid4()
        items = [(parse_uid(str(i.entry_id)), i.note) for i in input.items]
        c = await service.put_collection(
            ctx.catalogue,
            ctx.actor,
            uid=uid,
            title=input.title,
            summary=input.summary,
            language=input.language,
            items=items,
        )
        return collection_of(c)

    @strawberry.mutation(
        description="Delete a collection of your organisation (a signed tombstone travels)."
    )
    async def delete_collection(self, info: Info, id: strawberry.ID) -> bool:
        ctx = info.context
        await service.delete_collection(ctx.catalogue, ctx.actor, parse_uid(str(id)))
        return True

    @strawberry.mutation(
        description="Tick or untick a checklist item of a guide for your municipality (local only)."
    )
    async def set_checklist_item(
        self, info: Info, guide_id: strawberry.ID, index: int, done: bool
    ) -> list[ChecklistItem]:
        ctx = info.context
        entry = await _guide(info, guide_id)
        return _checklist(
            await review.set_checklist_item(ctx.actor, entry, index, done, ctx.catalogue.clock())
        )
