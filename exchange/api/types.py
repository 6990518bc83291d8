"""The GraphQL types: entries, publishers, topics and their connections.

Types are thin: plain fields are copied once from the database row when the
object is made, relations resolve through the request's DataLoaders. Every
type and field carries a description, which is what integrators read in
GraphiQL and in `graphql/schema.graphql`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

import strawberry
from strawberry import Info
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from exchange import models

if TYPE_CHECKING:
    from exchange.api.context import Context
    from exchange.api.curation import Endorsement
    from exchange.api.inputs import EntryFilter


def _ctx(info: Info) -> Context:
    return info.context  # type: ignore[no-any-return]


F = TypeVar("F", bound=Callable[..., Any])


def prefetched(attribute: str) -> Callable[[F], F]:
    """Mark a resolver that returns `self.<attribute>` whenever that is set (not None).

    The query plans (api/plans.py) then read the attribute and call the resolver
    only when it is unset, saving a resolve-info object per field.
    """

    def mark(function: F) -> F:
        function._exchange_prefetched = attribute  # type: ignore[attr-defined]
        return function

    return mark


@strawberry.enum(description="The three kinds of entries.")
class EntryKind(Enum):
    PROJECT = "project"
    GUIDE = "guide"
    LESSON = "lesson"


@strawberry.enum(description="Who may see an entry and where it travels.")
class Visibility(Enum):
    PUBLIC = strawberry.enum_value("public", description="Everyone; federates to every peer; open data.")
    NETWORK = strawberry.enum_value("network", description="Members of the alliance; federates only to member peers.")
    LOCAL = strawberry.enum_value("local", description="Members of this node; never leaves it.")
    DRAFT = strawberry.enum_value("draft", description="Only its publisher; never leaves the node.")


@strawberry.enum(description="Where a project stands.")
class ProjectStatus(Enum):
    PLANNED = "planned"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"


@strawberry.enum(description="Review state of a guide.")
class ReviewState(Enum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


@strawberry.enum(description="Orderings of the catalogue.")
class EntryOrder(Enum):
    NEWEST = strawberry.enum_value("newest", description="Most recently changed first (default).")
    OLDEST = strawberry.enum_value("oldest", description="Least recently changed first.")
    TITLE = strawberry.enum_value("title", description="By title, A to Z.")
    RELEVANCE = strawberry.enum_value("relevance", description="Best full-text match first (with `text`).")
    ENDORSED = strawberry.enum_value("endorsed", description="Most endorsed by organisations first.")


@strawberry.type(description="A controlled topic with German and English labels.")
class Topic:
    slug: str = strawberry.field(description="Stable identifier, used in filters and URLs.")
    label_de: str = strawberry.field(description="German label.")
    label_en: str = strawberry.field(description="English label.")
    scheme: str = strawberry.field(description="The vocabulary it comes from (mdk: Musterdatenkatalog).")
    eu_theme: str | None = strawberry.field(description="Code of the EU data theme it maps to (e.g. GOVE).")
    _parent_id: strawberry.Private[int | None]
    _id: strawberry.Private[int]

    @strawberry.field(description="Label in the requested language (de or en).")
    def label(self, language: str = "de") -> str:
        return self.label_en if language == "en" else self.label_de

    @strawberry.field(description="The broader topic, if any.")
    def parent(self, info: Info) -> Topic | None:
        if self._parent_id is None:
            return None
        return _parent_topic(info, self._parent_id)  # type: ignore[return-value]

    @classmethod
    def from_model(cls, t: models.Topic) -> Topic:
        return cls(slug=t.slug, label_de=t.label_de, label_en=t.label_en, scheme=t.scheme,
                   eu_theme=t.eu_theme or None, _parent_id=t.parent_id, _id=t.id)  # type: ignore[attr-defined]


def topic_of(t: models.Topic) -> Topic:
    return Topic.from_model(t)


async def _parent_topic(info: Info, parent_id: int) -> Topic | None:
    t = await _ctx(info).loaders.topic.load(parent_id)
    return topic_of(t) if t else None


@strawberry.type(description="A role address to contact about an entry (never a person's private data).")
class Contact:
    role: str = strawberry.field(description="The office, e.g. 'Digitalisierungsbüro'.")
    email: str | None = strawberry.field(description="The office's address.")


@strawberry.type(description="A measurable indicator of a project goal.")
class Indicator:
    name: str = strawberry.field(description="What is measured.")
    unit: str = strawberry.field(description="Unit of the values (may be empty).")
    baseline: float | None = strawberry.field(description="Value before the project.")
    target: float | None = strawberry.field(description="Value the project aims for.")
    actual: float | None = strawberry.field(description="Value reached (null until evaluated).")


@strawberry.type(description="A goal of a project with its indicators.")
class Goal:
    goal: str = strawberry.field(description="The goal in words.")
    indicators: list[Indicator] = strawberry.field(description="How it is measured.")


@strawberry.type(description="A link from an entry to another entry.")
class EntryLink:
    relation: str = strawberry.field(description="replicates, related, lesson_of or translation_of.")
    target_id: strawberry.ID = strawberry.field(description="Id of the linked entry.")

    @strawberry.field(description="The linked entry, when this node holds it.")
    async def target(self, info: Info) -> Annotated[Entry, strawberry.lazy("exchange.api.types")] | None:
        import uuid

        e = await _ctx(info).loaders.entry_by_uid.load(uuid.UUID(str(self.target_id)))
        return entry_of(e) if e is not None and _visible(info, e) else None


@strawberry.type(description="One stored version of an entry.")
class Revision:
    version: int = strawberry.field(description="Version number, 1 for the first.")
    created_at: datetime = strawberry.field(description="When this version was stored at its origin.")
    author: str = strawberry.field(description="Who stored it (publisher key or node).")
    note: str = strawberry.field(description="What changed, in the author's words.")
    title: str = strawberry.field(description="Title in this version.")
    deleted: bool = strawberry.field(description="True for the tombstone that unpublished the entry.")


def _visible(info: Info, e: models.Entry) -> bool:
    from exchange.catalogue import may_see

    return may_see(e, _ctx(info).actor)


@strawberry.interface(description="Who publishes entries: a municipality or an organisation.")
class Publisher:
    name: str = strawberry.field(description="Official or registered name.")
    _pk: strawberry.Private[int]

    @strawberry.field(description="Entries of this publisher, newest first.")
    async def entries(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        filter: Annotated[EntryFilter, strawberry.lazy("exchange.api.inputs")] | None = None,
    ) -> Annotated[EntryConnection, strawberry.lazy("exchange.api.types")]:
        from exchange.api.queries import entry_connection

        kind = "municipality" if isinstance(self, Municipality) else "organisation"
        return await entry_connection(info, first=first, after=after, filter=filter, publisher=(kind, self._pk))


@strawberry.type(description="A Kreis (district) of the register.")
class Kreis:
    official_key: str = strawberry.field(description="5-digit Kreis key.")
    name: str = strawberry.field(description="Official name.")


@strawberry.type(
    description="A municipality (Gemeinde) or a Landkreis of an official register.",
    directives=[Key(fields=FieldSet("officialKey"))],
)
class Municipality(Publisher):
    official_key: str = strawberry.field(description="12-digit ARS (Gemeinde) or 5-digit key (Kreis).")
    ags: str | None = strawberry.field(description="8-digit AGS of a Gemeinde.")
    scheme: str = strawberry.field(description="The register: de-ars for Destatis keys.")
    level: str = strawberry.field(description="gemeinde or kreis.")
    type_label: str = strawberry.field(description="Type from the register, e.g. Stadt, Markt, Landkreis.")
    state: str = strawberry.field(description="The Land, e.g. Bayern.")
    state_code: str = strawberry.field(description="Two-digit code of the Land.")
    kreis: Kreis | None = strawberry.field(description="The Kreis it belongs to.")
    association: str | None = strawberry.field(description="Its Gemeindeverband (Amt, Verbandsgemeinde ...), if any.")
    population: int | None = strawberry.field(description="Inhabitants per the register.")
    area_km2: float | None = strawberry.field(description="Area in km².")
    size_class: str = strawberry.field(description="BBSR size class: Landgemeinde, Kleinstadt, Mittelstadt, Großstadt.")
    latitude: float | None = strawberry.field(description="Latitude (WGS84) of its centre, where known.")
    longitude: float | None = strawberry.field(description="Longitude (WGS84) of its centre, where known.")
    active: bool = strawberry.field(description="False once the register no longer lists it (merged).")
    postcode: str = strawberry.field(description="Postcode of its seat.")

    @classmethod
    def from_model(cls, m: models.Municipality) -> Municipality:
        return cls(
            _pk=m.id, name=m.name, official_key=m.official_key, ags=m.ags, scheme=m.scheme,
            level=m.level, type_label=m.type_label, state=m.land_name, state_code=m.land_code,
            kreis=Kreis(official_key=m.kreis_key, name=m.kreis_name) if m.kreis_key and m.level == "gemeinde" else None,
            association=m.verband_name or None, population=m.population,
            area_km2=round(m.area_ha / 100, 2) if m.area_ha is not None else None,
            size_class=m.size_class, latitude=m.latitude, longitude=m.longitude,
            active=m.active, postcode=m.postcode,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **representation: Any) -> Municipality | None:
        """Federation: a representation carries the key as the schema spells it (`officialKey`)."""
        from exchange.auth import find_municipality
        from exchange.errors import NotFoundError

        key = representation.get("officialKey", representation.get("official_key"))
        if not isinstance(key, str):
            return None
        try:
            return cls.from_model(await find_municipality(key))
        except NotFoundError:
            return None


@strawberry.type(description="An alliance, umbrella organisation, company or research institute.",
                 directives=[Key(fields=FieldSet("slug"))])
class Organisation(Publisher):
    slug: str = strawberry.field(description="Stable identifier.")
    kind: str = strawberry.field(description="alliance, umbrella, company or research.")
    website: str = strawberry.field(description="Its website.")
    description: str = strawberry.field(description="What it does.")

    @classmethod
    def from_model(cls, o: models.Organisation) -> Organisation:
        return cls(_pk=o.id, name=o.name, slug=o.slug, kind=o.kind, website=o.website, description=o.description)

    @classmethod
    async def resolve_reference(cls, info: Info, slug: str) -> Organisation | None:
        o = await models.Organisation.get_or_none(slug=slug)
        return cls.from_model(o) if o else None


@strawberry.interface(description="A project description, guide or lesson learned: the current version.")
class Entry:
    id: strawberry.ID = strawberry.field(description="Global id (a UUID chosen by the origin node).")
    kind: EntryKind = strawberry.field(description="Which kind of entry.")
    title: str = strawberry.field(description="Title.")
    summary: str = strawberry.field(description="One or two sentences.")
    body_markdown: str = strawberry.field(description="The body as Markdown.")
    body_html: str = strawberry.field(description="The body rendered to safe HTML.")
    language: str = strawberry.field(description="de or en.")
    license: str = strawberry.field(description="SPDX id of the licence, e.g. CC-BY-4.0.")
    visibility: Visibility = strawberry.field(description="Who may see it and where it travels.")
    version: int = strawberry.field(description="Version number; revise with the version you read.")
    origin_node: str = strawberry.field(description="Base URL of the node that owns the entry.")
    created_at: datetime = strawberry.field(description="When it was first published.")
    updated_at: datetime = strawberry.field(description="When this version was stored.")
    deleted: bool = strawberry.field(description="True when unpublished (a tombstone).")
    keywords: list[str] = strawberry.field(description="Free keywords.")
    contact: Contact | None = strawberry.field(description="A role address to ask about it.")
    links: list[EntryLink] = strawberry.field(description="Links to other entries.")
    _row: strawberry.Private[models.Entry]
    # Relations fetched once for a whole page (queries.prefetch_page): when set, the
    # resolvers below answer synchronously and graphql-core completes the page without
    # a coroutine per field. Unset, they fall back to the request's DataLoaders.
    _pre_topics: ClassVar[list[Topic] | None] = None
    _pre_publisher: ClassVar[Any] = None

    @strawberry.field(description="Controlled topics.")
    @prefetched("_pre_topics")
    def topics(self, info: Info) -> list[Topic]:
        if self._pre_topics is not None:
            return self._pre_topics
        return _load_topics(info, self._row.id)  # type: ignore[return-value]

    @strawberry.field(description="The municipality or organisation that published it.")
    @prefetched("_pre_publisher")
    def publisher(self, info: Info) -> Publisher | None:
        if self._pre_publisher is not None:
            return self._pre_publisher  # type: ignore[no-any-return]
        return _load_publisher(info, self._row)  # type: ignore[return-value]

    @strawberry.field(description="Stored versions, newest first: those the caller could see "
                      "when each was stored (a version stored as local or draft stays hidden "
                      "from whoever may not see local or draft entries).")
    async def revisions(self, info: Info) -> list[Revision]:
        from exchange.catalogue import visible_revisions

        revs = visible_revisions(self._row, await _ctx(info).loaders.revisions.load(self._row.id),
                                 _ctx(info).actor)
        return [
            Revision(version=r.version, created_at=r.created_at, author=r.author, note=r.note,
                     title=str(r.envelope.get("entry", {}).get("title", "")),
                     deleted=r.envelope.get("type") == "tombstone")
            for r in revs
        ]

    @strawberry.field(description="Organisations that endorse this entry, oldest first.")
    async def endorsements(
        self, info: Info
    ) -> list[Annotated[Endorsement, strawberry.lazy("exchange.api.curation")]]:
        from exchange.api.curation import endorsements_for

        return await endorsements_for(info, self._row.uid)


async def _load_topics(info: Info, entry_id: int) -> list[Topic]:
    return [topic_of(t) for t in await _ctx(info).loaders.topics_by_entry.load(entry_id)]


async def _load_publisher(info: Info, row: models.Entry) -> Publisher | None:
    loaders = _ctx(info).loaders
    if row.municipality_id is not None:
        m = await loaders.municipality.load(row.municipality_id)
        return Municipality.from_model(m) if m else None
    if row.organisation_id is not None:
        o = await loaders.organisation.load(row.organisation_id)
        return Organisation.from_model(o) if o else None
    return None


def set_prefetched(entry: Entry, topics: list[Topic] | None, publisher: Publisher | None) -> None:
    """Attach relations fetched for the whole page (None keeps the DataLoader path)."""
    if topics is not None:
        entry._pre_topics = topics  # type: ignore[misc]
    if publisher is not None:
        entry._pre_publisher = publisher  # type: ignore[misc]


def _entry_fields(e: models.Entry) -> dict[str, Any]:
    return {
        "id": strawberry.ID(str(e.uid)), "kind": EntryKind(e.kind), "title": e.title,
        "summary": e.summary, "body_markdown": e.body_markdown, "body_html": e.body_html,
        "language": e.language, "license": e.license, "visibility": Visibility(e.visibility),
        "version": e.version, "origin_node": e.origin_node, "created_at": e.created_at,
        "updated_at": e.updated_at, "deleted": e.deleted, "keywords": list(e.keywords or []),
        "contact": Contact(role=e.contact_role, email=e.contact_email or None) if e.contact_role or e.contact_email else None,
        "links": [EntryLink(relation=link["relation"], target_id=strawberry.ID(link["target"])) for link in (e.links or [])],
        "_row": e,
    }


@strawberry.type(description="A project description: what a municipality did or plans, with goals and indicators.",
                 directives=[Key(fields=FieldSet("id"))])
class ProjectDescription(Entry):
    status: ProjectStatus = strawberry.field(description="planned, running, completed or stopped.")
    period_start: str | None = strawberry.field(description="Start (YYYY-MM or YYYY-MM-DD).")
    period_end: str | None = strawberry.field(description="End (YYYY-MM or YYYY-MM-DD).")
    budget_eur: int | None = strawberry.field(description="Budget in euros.")
    funding_programme: str = strawberry.field(description="Funding programme, if any.")
    partners: list[str] = strawberry.field(description="Partners.")
    goals: list[Goal] = strawberry.field(description="Goals with indicators (baseline, target, actual).")

    @strawberry.field(description="Lessons learned from this project.")
    async def lessons(self, info: Info) -> list[Annotated[LessonLearned, strawberry.lazy("exchange.api.types")]]:
        rows = await _ctx(info).loaders.lessons_by_project.load(self._row.uid)
        return [entry_of(r) for r in rows if _visible(info, r)]  # type: ignore[misc]

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Entry | None:
        return await _reference(info, id)


@strawberry.type(description="A guide or checklist, curated by an organisation.", directives=[Key(fields=FieldSet("id"))])
class Guide(Entry):
    audience: str = strawberry.field(description="Who it is written for.")
    checklist: list[str] = strawberry.field(description="Checklist items, in order.")
    review_state: ReviewState = strawberry.field(description="draft, in review, published or withdrawn.")

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Entry | None:
        return await _reference(info, id)


@strawberry.type(description="A lesson learned from a project: what worked, what did not, what it takes.",
                 directives=[Key(fields=FieldSet("id"))])
class LessonLearned(Entry):
    what_worked: str = strawberry.field(description="What worked (Markdown).")
    what_did_not: str = strawberry.field(description="What did not work (Markdown).")
    transfer_preconditions: str = strawberry.field(description="What another municipality needs to repeat it.")
    costs_staffing: str = strawberry.field(description="Costs and staffing it took.")

    @strawberry.field(description="The project it comes from.")
    async def project(self, info: Info) -> ProjectDescription | None:
        if self._row.project_uid is None:
            return None
        e = await _ctx(info).loaders.entry_by_uid.load(self._row.project_uid)
        return entry_of(e) if e is not None and _visible(info, e) else None  # type: ignore[return-value]

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Entry | None:
        return await _reference(info, id)


async def _reference(info: Info, id: strawberry.ID) -> Entry | None:
    from exchange.catalogue import parse_uid

    e = await _ctx(info).loaders.entry_by_uid.load(parse_uid(str(id)))
    return entry_of(e) if e is not None and _visible(info, e) else None


def entry_of(e: models.Entry) -> Entry:
    """The GraphQL object for an entry row."""
    base = _entry_fields(e)
    if e.kind == "project":
        return ProjectDescription(
            **base, status=ProjectStatus(e.status or "planned"), period_start=e.period_start,
            period_end=e.period_end, budget_eur=e.budget_eur, funding_programme=e.funding_programme,
            partners=list(e.partners or []),
            goals=[Goal(goal=g["goal"], indicators=[Indicator(**i) for i in g.get("indicators", [])])
                   for g in (e.goals or [])],
        )
    if e.kind == "guide":
        return Guide(**base, audience=e.audience, checklist=list(e.checklist or []),
                     review_state=ReviewState(e.review_state or "published"))
    return LessonLearned(**base, what_worked=e.what_worked, what_did_not=e.what_did_not,
                         transfer_preconditions=e.transfer_preconditions, costs_staffing=e.costs_staffing)


@strawberry.type(description="Paging state of a connection (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow.")
    has_previous_page: bool = strawberry.field(description="Items precede (an `after` cursor was given).")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item; pass as `after`.")


@strawberry.type(description="An entry and its cursor.")
class EntryEdge:
    cursor: str = strawberry.field(description="Opaque position; pass as `after`.")
    node: Entry = strawberry.field(description="The entry.")


@strawberry.type(description="One page of entries (Relay connection with keyset cursors).")
class EntryConnection:
    edges: list[EntryEdge] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    _count: strawberry.Private[Any]

    @strawberry.field(description="How many entries match the filter in all.")
    def total_count(self) -> int:
        if isinstance(self._count, int):
            return self._count
        return _await_count(self._count)  # type: ignore[return-value]


async def _await_count(count: Any) -> int:
    return int(await count())


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
