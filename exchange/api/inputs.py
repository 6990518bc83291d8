"""GraphQL input types: filters and the payloads of writes."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from exchange.api.enums import (
    CooperationForm,
    EntryKind,
    EntryOrder,
    ProjectStatus,
    ReviewState,
    Visibility,
)


@strawberry.input(description="Narrow the catalogue. All given conditions must hold.")
class EntryFilter:
    kinds: list[EntryKind] | None = strawberry.field(default=None, description="Only these kinds.")
    topics: list[str] | None = strawberry.field(default=None, description="Topic slugs; any of them.")
    text: str | None = strawberry.field(default=None, description="Full text (German or English, stemmed).")
    publisher: str | None = strawberry.field(default=None, description="Official key (ARS/AGS) or organisation slug.")
    state: str | None = strawberry.field(default=None, description="Land of the publishing municipality: name or code.")
    size_classes: list[str] | None = strawberry.field(default=None, description="Size classes of the publishing municipality.")
    statuses: list[ProjectStatus] | None = strawberry.field(default=None, description="Project statuses.")
    languages: list[str] | None = strawberry.field(default=None, description="Languages (de, en).")
    origin_node: str | None = strawberry.field(default=None, description="Only entries owned by this node URL.")
    endorsed_by: str | None = strawberry.field(default=None, description="Only entries endorsed by this organisation (slug).")


@strawberry.input(description="Narrow the municipality register.")
class MunicipalityFilter:
    name_prefix: str | None = strawberry.field(default=None, description="Name starts with (case-insensitive).")
    state: str | None = strawberry.field(default=None, description="Land: name or code.")
    size_classes: list[str] | None = strawberry.field(default=None, description="Size classes.")
    level: str | None = strawberry.field(default=None, description="gemeinde or kreis.")
    kreis: str | None = strawberry.field(default=None, description="5-digit Kreis key.")
    include_inactive: bool = strawberry.field(default=False, description="Include merged municipalities.")


@strawberry.input(description="One dated value of an indicator.")
class MeasurementInput:
    date: str = strawberry.field(description="When it was measured (YYYY-MM-DD): not in the future, "
                                             "not before the project's start.")
    value: float = strawberry.field(description="The measured value.")


@strawberry.input(description="An indicator of a goal.")
class IndicatorInput:
    name: str = strawberry.field(description="What is measured.")
    unit: str = strawberry.field(default="", description="Unit.")
    direction: str | None = strawberry.field(default=None, description="higher or lower: which values are "
                                                                       "better; implied by baseline and target.")
    baseline: float | None = strawberry.field(default=None, description="Value before.")
    target: float | None = strawberry.field(default=None, description="Value aimed for (not the baseline).")
    actual: float | None = strawberry.field(default=None, description="Value reached, undated; "
                                                                     "ignored when measurements are given.")
    measurements: list[MeasurementInput] | None = strawberry.field(
        default=None, description="The dated measurements (at most 100).")


@strawberry.input(description="A goal with indicators.")
class GoalInput:
    goal: str = strawberry.field(description="The goal in words.")
    indicators: list[IndicatorInput] = strawberry.field(default_factory=list, description="Indicators.")


@strawberry.input(description="A link to another entry.")
class EntryLinkInput:
    relation: str = strawberry.field(description="replicates, related, lesson_of or translation_of.")
    target_id: strawberry.ID = strawberry.field(description="Id of the linked entry.")


@strawberry.input(description="The terms of a call for partners (unset ones keep their value on revise).")
class CallTermsInput:
    form: CooperationForm | None = strawberry.field(default=None, description="The form of cooperation.")
    region: str | None = strawberry.field(default=None, description="The region it is open to, in words.")
    radius_km: int | None = strawberry.field(
        default=strawberry.UNSET, description="Open to municipalities within this distance (1-1000 km); null: anywhere.")
    size_classes: list[str] | None = strawberry.field(
        default=None, description="Size classes sought (Landgemeinde, Kleinstadt, Mittelstadt, Großstadt); empty: all.")
    partners_wanted: int | None = strawberry.field(default=None, description="How many partners (1-100).")
    deadline: str | None = strawberry.field(default=None, description="Answers until this day (YYYY-MM-DD).")


@strawberry.input(description="Fields of an entry. On publish, kind, title and summary are required.")
class EntryFields:
    title: str | None = strawberry.field(default=None, description="Title (1–300 characters).")
    summary: str | None = strawberry.field(default=None, description="One or two sentences.")
    body_markdown: str | None = strawberry.field(default=None, description="Body in Markdown.")
    topics: list[str] | None = strawberry.field(default=None, description="Topic slugs.")
    language: str | None = strawberry.field(default=None, description="de or en.")
    visibility: Visibility | None = strawberry.field(default=None, description="Who may see it.")
    keywords: list[str] | None = strawberry.field(default=None, description="Free keywords.")
    license: str | None = strawberry.field(default=None, description="SPDX id; default the node's.")
    contact_role: str | None = strawberry.field(default=None, description="Office to contact.")
    contact_email: str | None = strawberry.field(default=None, description="The office's address.")
    status: ProjectStatus | None = strawberry.field(default=None, description="Projects: status.")
    period_start: str | None = strawberry.field(default=None, description="Projects: start (YYYY-MM).")
    period_end: str | None = strawberry.field(default=None, description="Projects: end (YYYY-MM).")
    budget_eur: int | None = strawberry.field(default=None, description="Projects: budget in euros "
                                              "(sets the currency to EUR; or give budgetAmount and budgetCurrency).")
    budget_amount: int | None = strawberry.field(default=None, description="Projects: budget, a whole amount "
                                                 "in budgetCurrency.")
    budget_currency: str | None = strawberry.field(default=None, description="Projects: ISO 4217 code of the "
                                                   "budget's currency (EUR, CHF, DKK, PLN, CZK, SEK, NOK, HUF, GBP, "
                                                   "USD); default EUR.")
    funding_programme: str | None = strawberry.field(default=None, description="Projects: funding programme.")
    partners: list[str] | None = strawberry.field(default=None, description="Projects: partners.")
    goals: list[GoalInput] | None = strawberry.field(default=None, description="Projects: goals.")
    audience: str | None = strawberry.field(default=None, description="Guides: audience.")
    checklist: list[str] | None = strawberry.field(default=None, description="Guides: checklist items.")
    review_state: ReviewState | None = strawberry.field(default=None, description="Guides: review state.")
    what_worked: str | None = strawberry.field(default=None, description="Lessons: what worked.")
    what_did_not: str | None = strawberry.field(default=None, description="Lessons: what did not.")
    transfer_preconditions: str | None = strawberry.field(default=None, description="Lessons: preconditions for transfer.")
    costs_staffing: str | None = strawberry.field(default=None, description="Lessons: costs and staffing.")
    project_id: strawberry.ID | None = strawberry.field(default=None, description="Lessons: the project it comes from.")
    links: list[EntryLinkInput] | None = strawberry.field(default=None, description="Links to other entries.")
    call: CallTermsInput | None = strawberry.field(default=None, description="Calls for partners: the terms.")


@strawberry.input(description="A new entry.")
class PublishEntryInput(EntryFields):
    kind: EntryKind = strawberry.field(description="project, guide, lesson or call.")
    publisher: str | None = strawberry.field(
        default=None, description="Publisher key; defaults to the token's publisher (must match it)."
    )


@strawberry.input(description="A new version of an entry.")
class ReviseEntryInput(EntryFields):
    id: strawberry.ID = strawberry.field(description="The entry.")
    expected_version: int = strawberry.field(description="The version you read; a newer one is a conflict.")
    note: str | None = strawberry.field(default=None, description="What changed.")


__all__ = ["JSON", "CallTermsInput", "EntryFilter", "EntryOrder", "MunicipalityFilter", "PublishEntryInput", "ReviseEntryInput"]
