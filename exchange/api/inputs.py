"""GraphQL input types: filters and the payloads of writes."""

from __future__ import annotations

from typing import Optional

import strawberry
from strawberry.scalars import JSON

from exchange.api.types import EntryKind, EntryOrder, ProjectStatus, ReviewState, Visibility


@strawberry.input(description="Narrow the catalogue. All given conditions must hold.")
class EntryFilter:
    kinds: Optional[list[EntryKind]] = strawberry.field(default=None, description="Only these kinds.")
    topics: Optional[list[str]] = strawberry.field(default=None, description="Topic slugs; any of them.")
    text: Optional[str] = strawberry.field(default=None, description="Full text (German or English, stemmed).")
    publisher: Optional[str] = strawberry.field(default=None, description="Official key (ARS/AGS) or organisation slug.")
    state: Optional[str] = strawberry.field(default=None, description="Land of the publishing municipality: name or code.")
    size_classes: Optional[list[str]] = strawberry.field(default=None, description="Size classes of the publishing municipality.")
    statuses: Optional[list[ProjectStatus]] = strawberry.field(default=None, description="Project statuses.")
    languages: Optional[list[str]] = strawberry.field(default=None, description="Languages (de, en).")
    origin_node: Optional[str] = strawberry.field(default=None, description="Only entries owned by this node URL.")
    endorsed_by: Optional[str] = strawberry.field(default=None, description="Only entries endorsed by this organisation (slug).")


@strawberry.input(description="Narrow the municipality register.")
class MunicipalityFilter:
    name_prefix: Optional[str] = strawberry.field(default=None, description="Name starts with (case-insensitive).")
    state: Optional[str] = strawberry.field(default=None, description="Land: name or code.")
    size_classes: Optional[list[str]] = strawberry.field(default=None, description="Size classes.")
    level: Optional[str] = strawberry.field(default=None, description="gemeinde or kreis.")
    kreis: Optional[str] = strawberry.field(default=None, description="5-digit Kreis key.")
    include_inactive: bool = strawberry.field(default=False, description="Include merged municipalities.")


@strawberry.input(description="An indicator of a goal.")
class IndicatorInput:
    name: str = strawberry.field(description="What is measured.")
    unit: str = strawberry.field(default="", description="Unit.")
    baseline: Optional[float] = strawberry.field(default=None, description="Value before.")
    target: Optional[float] = strawberry.field(default=None, description="Value aimed for.")
    actual: Optional[float] = strawberry.field(default=None, description="Value reached.")


@strawberry.input(description="A goal with indicators.")
class GoalInput:
    goal: str = strawberry.field(description="The goal in words.")
    indicators: list[IndicatorInput] = strawberry.field(default_factory=list, description="Indicators.")


@strawberry.input(description="A link to another entry.")
class EntryLinkInput:
    relation: str = strawberry.field(description="replicates, related, lesson_of or translation_of.")
    target_id: strawberry.ID = strawberry.field(description="Id of the linked entry.")


@strawberry.input(description="Fields of an entry. On publish, kind, title and summary are required.")
class EntryFields:
    title: Optional[str] = strawberry.field(default=None, description="Title (1–300 characters).")
    summary: Optional[str] = strawberry.field(default=None, description="One or two sentences.")
    body_markdown: Optional[str] = strawberry.field(default=None, description="Body in Markdown.")
    topics: Optional[list[str]] = strawberry.field(default=None, description="Topic slugs.")
    language: Optional[str] = strawberry.field(default=None, description="de or en.")
    visibility: Optional[Visibility] = strawberry.field(default=None, description="Who may see it.")
    keywords: Optional[list[str]] = strawberry.field(default=None, description="Free keywords.")
    license: Optional[str] = strawberry.field(default=None, description="SPDX id; default the node's.")
    contact_role: Optional[str] = strawberry.field(default=None, description="Office to contact.")
    contact_email: Optional[str] = strawberry.field(default=None, description="The office's address.")
    status: Optional[ProjectStatus] = strawberry.field(default=None, description="Projects: status.")
    period_start: Optional[str] = strawberry.field(default=None, description="Projects: start (YYYY-MM).")
    period_end: Optional[str] = strawberry.field(default=None, description="Projects: end (YYYY-MM).")
    budget_eur: Optional[int] = strawberry.field(default=None, description="Projects: budget in euros.")
    funding_programme: Optional[str] = strawberry.field(default=None, description="Projects: funding programme.")
    partners: Optional[list[str]] = strawberry.field(default=None, description="Projects: partners.")
    goals: Optional[list[GoalInput]] = strawberry.field(default=None, description="Projects: goals.")
    audience: Optional[str] = strawberry.field(default=None, description="Guides: audience.")
    checklist: Optional[list[str]] = strawberry.field(default=None, description="Guides: checklist items.")
    review_state: Optional[ReviewState] = strawberry.field(default=None, description="Guides: review state.")
    what_worked: Optional[str] = strawberry.field(default=None, description="Lessons: what worked.")
    what_did_not: Optional[str] = strawberry.field(default=None, description="Lessons: what did not.")
    transfer_preconditions: Optional[str] = strawberry.field(default=None, description="Lessons: preconditions for transfer.")
    costs_staffing: Optional[str] = strawberry.field(default=None, description="Lessons: costs and staffing.")
    project_id: Optional[strawberry.ID] = strawberry.field(default=None, description="Lessons: the project it comes from.")
    links: Optional[list[EntryLinkInput]] = strawberry.field(default=None, description="Links to other entries.")


@strawberry.input(description="A new entry.")
class PublishEntryInput(EntryFields):
    kind: EntryKind = strawberry.field(description="project, guide or lesson.")
    publisher: Optional[str] = strawberry.field(
        default=None, description="Publisher key; defaults to the token's publisher (must match it)."
    )


@strawberry.input(description="A new version of an entry.")
class ReviseEntryInput(EntryFields):
    id: strawberry.ID = strawberry.field(description="The entry.")
    expected_version: int = strawberry.field(description="The version you read; a newer one is a conflict.")
    note: Optional[str] = strawberry.field(default=None, description="What changed.")


__all__ = ["EntryFilter", "MunicipalityFilter", "PublishEntryInput", "ReviseEntryInput", "JSON", "EntryOrder"]
