"""Read resolvers: the catalogue, entries, the register, organisations, topics.

Resolvers stay thin: read the arguments, call a service, convert the rows.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import Info

from exchange import models
from exchange.access import may_see
from exchange.api.entryquery import check_first
from exchange.api.enums import EntryOrder
from exchange.api.inputs import EntryFilter, MunicipalityFilter
from exchange.api.topics import Topic, topic_of
from exchange.api.types import (
    Entry,
    EntryConnection,
    Municipality,
    Organisation,
    entry_connection,
    entry_of,
)
from exchange.api.values import PageInfo
from exchange.auth import find_municipality
from exchange.catalogue import parse_uid
from exchange.errors import InvalidInputError, NotFoundError
from exchange.search import land_code


def _municipality_queryset(f: MunicipalityFilter) -> Any:
    qs = models.Municipality.all()
    if not f.include_inactive:
        qs = qs.filter(active=True)
    if f.name_prefix:
        prefix = f.name_prefix.strip()
        if len(prefix) > 100:
            raise InvalidInputError("name_prefix is longer than 100 characters")
        qs = qs.filter(name__istartswith=prefix)
    if f.state:
        qs = qs.filter(land_code=land_code(f.state))
    if f.size_classes:
        qs = qs.filter(size_class__in=list(f.size_classes))
    if f.level:
        if f.level not in ("gemeinde", "kreis"):
            raise InvalidInputError("level must be gemeinde or kreis")
        qs = qs.filter(level=f.level)
    if f.kreis:
        qs = qs.filter(kreis_key=f.kreis)
    return qs


@strawberry.type(description="A municipality and its cursor.")
class MunicipalityEdge:
    cursor: str = strawberry.field(description="Opaque position; pass as `after`.")
    node: Municipality = strawberry.field(description="The municipality.")


@strawberry.type(description="One page of municipalities.")
class MunicipalityConnection:
    edges: list[MunicipalityEdge] = strawberry.field(description="The municipalities of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    _count: strawberry.Private[Any]

    @strawberry.field(description="How many municipalities match in all.")
    async def total_count(self) -> int:
        return int(await self._count())


@strawberry.type(description="The node itself.")
class NodeInfo:
    id: str = strawberry.field(description="Base URL: the node's id in the network.")
    name: str = strawberry.field(description="Name shown to people and peers.")


@strawberry.type(description="Everything one can read from this node.")
class Query:
    @strawberry.field(description="The catalogue: one page of entries, newest first, with filters.")
    async def entries(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        filter: EntryFilter | None = None,
        order_by: EntryOrder = EntryOrder.NEWEST,
    ) -> EntryConnection:
        return await entry_connection(info, first=first, after=after, filter=filter, order=order_by)

    @strawberry.field(description="One entry by id (null when unknown or not visible to you).")
    async def entry(self, info: Info, id: strawberry.ID) -> Entry | None:
        row = await info.context.loaders.entry_by_uid.load(parse_uid(str(id)))
        if row is None or not may_see(row, info.context.actor):
            return None
        return entry_of(row)

    @strawberry.field(description="A municipality or Kreis by official key: 12-digit ARS, 8-digit AGS or 5-digit Kreis key.")
    async def municipality(self, info: Info, official_key: str) -> Municipality | None:
        try:
            m = await find_municipality(official_key)
        except NotFoundError:
            return None
        return Municipality.from_model(m)

    @strawberry.field(description="The municipality register, by name.")
    async def municipalities(
        self, info: Info, first: int = 20, after: str | None = None, filter: MunicipalityFilter | None = None
    ) -> MunicipalityConnection:
        check_first(first)
        codec = info.context.services.extra["cursors"]
        qs = _municipality_queryset(filter or MunicipalityFilter())
        page_qs = qs
        if after:
            name, ident = codec.decode(after, "municipalities")
            if not isinstance(name, str):
                raise InvalidInputError("the cursor does not fit this list")
            from tortoise.expressions import Q

            page_qs = qs.filter(Q(name__gt=name) | Q(name=name, id__gt=ident))
        rows = await page_qs.order_by("name", "id").limit(first + 1)
        has_next = len(rows) > first
        rows = rows[:first]
        edges = [MunicipalityEdge(cursor=codec.encode("municipalities", m.name, m.id), node=Municipality.from_model(m)) for m in rows]

        async def count() -> int:
            return int(await qs.count())

        return MunicipalityConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=has_next, has_previous_page=after is not None,
                               start_cursor=edges[0].cursor if edges else None,
                               end_cursor=edges[-1].cursor if edges else None),
            _count=count,
        )

    @strawberry.field(description="Organisations known to this node.")
    async def organisations(self) -> list[Organisation]:
        return [Organisation.from_model(o) for o in await models.Organisation.all().order_by("name")]

    @strawberry.field(description="An organisation by slug.")
    async def organisation(self, slug: str) -> Organisation | None:
        o = await models.Organisation.get_or_none(slug=slug)
        return Organisation.from_model(o) if o else None

    @strawberry.field(description="The controlled topics (top level first, then by position).")
    async def topics(self) -> list[Topic]:
        return [topic_of(t) for t in await models.Topic.all().order_by("position", "slug")]

    @strawberry.field(description="A topic by slug.")
    async def topic(self, slug: str) -> Topic | None:
        t = await models.Topic.get_or_none(slug=slug)
        return topic_of(t) if t else None

    @strawberry.field(description="This node: its id and name.")
    def node(self, info: Info) -> NodeInfo:
        return NodeInfo(id=info.context.catalogue.node_url, name=info.context.services.node_name)
