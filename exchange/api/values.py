"""Small GraphQL value types: a contact, goals and indicators, a revision, a Kreis, paging state.

They refer to no other type of the API, so the entry types (`types`) and the
resolvers use them alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from exchange.goals import DIRECTIONS, measurements_of, target_met


@strawberry.type(description="A role address to contact about an entry (never a person's private data).")
class Contact:
    role: str = strawberry.field(description="The office, e.g. 'Digitalisierungsbüro'.")
    email: str | None = strawberry.field(description="The office's address.")


@strawberry.type(description="One dated value of an indicator.")
class Measurement:
    date: str | None = strawberry.field(description="When it was measured (YYYY-MM-DD); null for a value "
                                                    "recorded before measurements were dated.")
    value: float = strawberry.field(description="The measured value.")


@strawberry.type(description="A measurable indicator of a project goal, monitored over time.")
class Indicator:
    name: str = strawberry.field(description="What is measured.")
    unit: str = strawberry.field(description="Unit of the values (may be empty).")
    direction: str | None = strawberry.field(description="higher or lower: which values are better "
                                                         "(null when neither baseline nor target say).")
    baseline: float | None = strawberry.field(description="Value before the project.")
    target: float | None = strawberry.field(description="Value the project aims for.")
    actual: float | None = strawberry.field(description="The latest measured value (null until evaluated).")
    measurements: list[Measurement] = strawberry.field(description="The dated measurements, oldest first.")
    target_met: bool | None = strawberry.field(description="Whether the latest measurement reaches the target "
                                                          "(null without a target or a measurement).")

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Indicator:
        """The indicator as stored in an entry's goals (ours or a peer's, older forms included)."""
        return cls(
            name=str(stored.get("name") or ""), unit=str(stored.get("unit") or ""),
            direction=stored.get("direction") if stored.get("direction") in DIRECTIONS else None,
            baseline=_float(stored.get("baseline")), target=_float(stored.get("target")),
            actual=_float(stored.get("actual")),
            measurements=[Measurement(date=m.get("date"), value=float(m["value"]))
                          for m in measurements_of(stored) if _float(m.get("value")) is not None],
            target_met=target_met(stored),
        )


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@strawberry.type(description="A goal of a project with its indicators.")
class Goal:
    goal: str = strawberry.field(description="The goal in words.")
    indicators: list[Indicator] = strawberry.field(description="How it is measured.")


@strawberry.type(description="One stored version of an entry.")
class Revision:
    version: int = strawberry.field(description="Version number, 1 for the first.")
    created_at: datetime = strawberry.field(description="When this version was stored at its origin.")
    author: str = strawberry.field(description="Who stored it (publisher key or node).")
    note: str = strawberry.field(description="What changed, in the author's words.")
    title: str = strawberry.field(description="Title in this version.")
    deleted: bool = strawberry.field(description="True for the tombstone that unpublished the entry.")


@strawberry.type(description="A Kreis (district) of the register.")
class Kreis:
    official_key: str = strawberry.field(description="5-digit Kreis key.")
    name: str = strawberry.field(description="Official name.")


@strawberry.type(description="Paging state of a connection (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow.")
    has_previous_page: bool = strawberry.field(description="Items precede (an `after` cursor was given).")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item; pass as `after`.")
