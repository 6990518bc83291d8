"""Read resolvers: the catalogue, entries, the register, organisations, topics.

Resolvers stay thin: read the arguments, call a service, convert the rows.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import Info

from exchange import models
from exchange.api.inputs import EntryFilter, MunicipalityFilter
from exchange.api.types import (
    Entry,
    EntryConnection,
    EntryEdge,
    EntryOrder,
    Municipality,
    MunicipalityConnection,
    MunicipalityEdge,
    Organisation,
    PageInfo,
    Topic,
    entry_of,
    set_prefetched,
    topic_of,
)
from exchange.auth import find_municipality, find_publisher
from exchange.catalogue import may_see, parse_uid
from exchange.errors import InvalidInputError, NotFoundError
from exchange.search import MAX_PAGE, EntryQuery, count_entries, find_entries, land_code
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode


def _check_first(first: int) -> None:
    if not 0 <= first <= MAX_PAGE:
        raise InvalidInputError(f"first must be between 0 and {MAX_PAGE}, not {first}")


async def entry_query(filter: EntryFilter | None, order: EntryOrder, publisher: tuple[str, int] | None) -> EntryQuery:
    f = filter or EntryFilter()
    if f.publisher:
        p = await find_publisher(f.publisher)
        key = (p.kind, p.id)
        if publisher is not None and key != publisher:
            key = (p.kind, -1)  # two different publishers: nothing matches
        publisher = key
    return EntryQuery(
        kinds=tuple(k.value for k in f.kinds or ()),
        topics=tuple(f.topics or ()),
        publisher=publisher,
        land=f.state or None,
        size_classes=tuple(f.size_classes or ()),
        statuses=tuple(s.value for s in f.statuses or ()),
        languages=tuple(f.languages or ()),
        text=f.text,
        origin=f.origin_node,
        endorsed_by=f.endorsed_by or None,
        order=str(order.value),
    ).validated()


async def entry_connection(
    info: Info,
    *,
    first: int,
    after: str | None,
    filter: EntryFilter | None,
    order: EntryOrder = EntryOrder.NEWEST,
    publisher: tuple[str, int] | None = None,
) -> EntryConnection:
    _check_first(first)
    ctx = info.context
    q = await entry_query(filter, order, publisher)
    codec = ctx.services.extra["cursors"]
    what = "entries:" + q.effective_order
    position = codec.decode(after, what) if after else None
    wanted = selected_fields(info, "edges", "node")
    page = await find_entries(q, ctx.actor, first=first, after=position, leave_out=unselected_texts(wanted))
    selected = selected_fields(info)
    nodes = [entry_of(e) for e in page.entries]
    if nodes:
        await prefetch_page(info, page.entries, nodes, wanted)
    edges = [
        EntryEdge(cursor=codec.encode(what, value, ident), node=node)
        for node, (value, ident) in zip(nodes, page.keys)
    ]

    async def count() -> int:
        return await count_entries(q, ctx.actor, ctx.services.counts)

    return EntryConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        _count=await count() if "totalCount" in selected else count,
    )


# The GraphQL fields that show each long text of an entry (search_terms none: it is internal)
_TEXT_FIELDS = {"body_markdown": "bodyMarkdown", "body_html": "bodyHtml", "what_worked": "whatWorked",
                "what_did_not": "whatDidNot", "transfer_preconditions": "transferPreconditions",
                "costs_staffing": "costsStaffing", "search_terms": None}


def unselected_texts(wanted: set[str]) -> frozenset[str]:
    """The long texts of entries a page need not read: those whose field is not selected."""
    return frozenset(column for column, field in _TEXT_FIELDS.items() if field not in wanted)


def selected_fields(info: Info, *path: str) -> set[str]:
    """Names of the fields selected below this field along `path` (through fragments)."""
    raw = info._raw_info
    level: list[SelectionSetNode] = [n.selection_set for n in raw.field_nodes if n.selection_set]
    for step in (*path, None):
        found: dict[str, list[FieldNode]] = {}
        stack = list(level)
        while stack:
            for sel in stack.pop().selections:
                if isinstance(sel, FieldNode):
                    found.setdefault(sel.name.value, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    stack.append(sel.selection_set)
                elif isinstance(sel, FragmentSpreadNode) and sel.name.value in raw.fragments:
                    stack.append(raw.fragments[sel.name.value].selection_set)
        if step is None:
            return set(found)
        level = [f.selection_set for f in found.get(step, []) if f.selection_set]
    return set()


async def prefetch_page(info: Info, rows: list[models.Entry], nodes: list[Entry], wanted: set[str]) -> None:
    """Topics and publishers of a whole page in one query each, attached to the nodes.

    The entries' topic and publisher fields then resolve synchronously: no coroutine,
    future and DataLoader round per entry (half the execution time of a page). The
    loaders' batch functions are called directly: a whole page is one batch already,
    and a future per key with its callbacks would cost more than the queries.
    """
    loaders = info.context.loaders
    topics: list[list[Topic]] | list[None] = [None] * len(rows)
    publishers: list[Any] = [None] * len(rows)
    if "topics" in wanted:
        cache: dict[int, Topic] = {}
        topics = [[cache.get(t.id) or cache.setdefault(t.id, topic_of(t)) for t in ts]
                  for ts in await loaders.topics_by_entry.load_fn([r.id for r in rows])]
    if "publisher" in wanted:
        mids = sorted({r.municipality_id for r in rows if r.municipality_id is not None})
        oids = sorted({r.organisation_id for r in rows if r.organisation_id is not None})
        found: dict[tuple[str, int | None], Any] = {}
        for m in await loaders.municipality.load_fn(mids) if mids else []:
            if m is not None:
                found[("m", m.id)] = Municipality.from_model(m)
        for o in await loaders.organisation.load_fn(oids) if oids else []:
            if o is not None:
                found[("o", o.id)] = Organisation.from_model(o)
        publishers = [found.get(("m", r.municipality_id)) if r.municipality_id is not None
                      else found.get(("o", r.organisation_id)) for r in rows]
    for node, ts, publisher in zip(nodes, topics, publishers):
        set_prefetched(node, ts, publisher)


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
        _check_first(first)
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
