"""A project's goals and how they are monitored over time (Smart City Charter III c).

A project names goals; each goal has indicators: what is measured (name and
unit), whether a higher or a lower value is better (`direction`), the value
before the project (`baseline`), the value it aims for (`target`), and a series
of dated `measurements`. `actual` is the latest measurement (kept in the
stored form so that readers of older versions, matching and exports find it
where they always did); an indicator written before measurements existed
keeps its single `actual` value.

`clean_goals` checks and normalises what a publisher sends and raises
`FieldError` naming the field (`goals.0.indicators.1.target`), so the web form
shows the message next to the field. `check_period` does the same for a
project's period. Pure functions: the caller passes today's date.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from exchange.errors import N_, FieldError

__all__ = [
    "DIRECTIONS",
    "MAX_GOALS",
    "MAX_INDICATORS",
    "MAX_MEASUREMENTS",
    "check_period",
    "clean_goals",
    "measurements_of",
    "period_date",
    "target_met",
]

DIRECTIONS = ("higher", "lower")
MAX_GOALS = 50
MAX_INDICATORS = 20
MAX_MEASUREMENTS = 100


def period_date(value: str | None, *, end: bool = False) -> date | None:
    """A period bound (YYYY-MM or YYYY-MM-DD) as a date: a month's first day, or its last
    for `end`; None when empty or unreadable."""
    if not value:
        return None
    try:
        if len(value) == 7:
            first = datetime.strptime(value, "%Y-%m").date()
            if not end:
                return first
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None


def check_period(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """The period's bounds, checked: each a month or a date, the end not before the start."""
    cleaned: list[str | None] = []
    for name, value in (("period_start", start), ("period_end", end)):
        value = (value or "").strip() or None
        if value is not None and (len(value) not in (7, 10) or period_date(value) is None):
            raise FieldError(name, N_("Please give a month (YYYY-MM) or a date (YYYY-MM-DD), not %(value)s."),
                             value=value[:40])
        cleaned.append(value)
    first, last = period_date(cleaned[0]), period_date(cleaned[1], end=True)
    if first is not None and last is not None and last < first:
        raise FieldError("period_end", N_("The project cannot end before it starts (%(start)s)."),
                         start=cleaned[0])
    return cleaned[0], cleaned[1]


def _number(raw: Any, field: str) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise FieldError(field, N_("Please give a number, not %(value)s."), value=str(raw))
    try:
        value = float(str(raw).strip().replace(",", ".")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise FieldError(field, N_("Please give a number, not %(value)s."), value=str(raw)[:40]) from None
    if not math.isfinite(value):
        raise FieldError(field, N_("Please give a number, not %(value)s."), value=str(raw)[:40])
    return value


def _text(raw: Any, field: str, most: int, *, required: str | None = None) -> str:
    value = str(raw or "").strip()
    if required is not None and not value:
        raise FieldError(field, required)
    if len(value) > most:
        raise FieldError(field, N_("This is %(length)s characters long; at most %(most)s are allowed."),
                         length=len(value), most=most)
    return value


def _measurements(raw: Any, field: str, *, starts: date | None, today: date) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FieldError(field, N_("Measurements must be a list of dates with values."))
    if len(raw) > MAX_MEASUREMENTS:
        raise FieldError(field, N_("At most %(most)s measurements per indicator."), most=MAX_MEASUREMENTS)
    out = []
    for k, m in enumerate(raw):
        here = f"{field}.{k}"
        if not isinstance(m, dict):
            raise FieldError(here, N_("A measurement needs a date and a value."))
        when_raw = str(m.get("date") or "").strip()
        try:
            when = datetime.strptime(when_raw, "%Y-%m-%d").date()
        except ValueError:
            raise FieldError(f"{here}.date", N_("Please give the date of the measurement (YYYY-MM-DD).")) from None
        if when > today:
            raise FieldError(f"{here}.date", N_("A measurement cannot lie in the future (%(date)s)."),
                             date=when_raw)
        if starts is not None and when < starts:
            raise FieldError(f"{here}.date", N_("This measurement lies before the project started (%(start)s)."),
                             start=starts.isoformat())
        value = _number(m.get("value"), f"{here}.value")
        if value is None:
            raise FieldError(f"{here}.value", N_("Please give the measured value."))
        out.append({"date": when.isoformat(), "value": value})
    return sorted(out, key=lambda m: str(m["date"]))


def _indicator(raw: Any, field: str, *, starts: date | None, today: date) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise FieldError(field, N_("An indicator needs a name."))
    name = _text(raw.get("name"), f"{field}.name", 200, required=N_("Please name what is measured."))
    unit = _text(raw.get("unit"), f"{field}.unit", 40)
    baseline = _number(raw.get("baseline"), f"{field}.baseline")
    target = _number(raw.get("target"), f"{field}.target")
    direction = str(raw.get("direction") or "").strip().lower() or None
    if direction is not None and direction not in DIRECTIONS:
        raise FieldError(f"{field}.direction", N_("Please choose whether a higher or a lower value is better."))
    if baseline is not None and target is not None:
        if target == baseline:
            raise FieldError(f"{field}.target", N_("The target equals the baseline; what should change?"))
        implied = "higher" if target > baseline else "lower"
        if direction is not None and direction != implied:
            raise FieldError(f"{field}.target", N_("A higher value is better, but the target lies below the baseline.")
                             if direction == "higher" else
                             N_("A lower value is better, but the target lies above the baseline."))
        direction = implied
    measurements = _measurements(raw.get("measurements"), f"{field}.measurements", starts=starts, today=today)
    if measurements:
        actual: float | None = float(measurements[-1]["value"])
    else:
        actual = _number(raw.get("actual"), f"{field}.actual")
    return {"name": name, "unit": unit, "direction": direction, "baseline": baseline, "target": target,
            "actual": actual, "measurements": measurements}


def clean_goals(goals: Any, *, period_start: str | None, today: date) -> list[dict[str, Any]]:
    """The goals as stored, or FieldError naming the first field that is wrong."""
    if not goals:
        return []
    if not isinstance(goals, list):
        raise FieldError("goals", N_("Goals must be a list."))
    if len(goals) > MAX_GOALS:
        raise FieldError("goals", N_("At most %(most)s goals per project."), most=MAX_GOALS)
    starts = period_date(period_start)
    cleaned = []
    for i, goal in enumerate(goals):
        field = f"goals.{i}"
        if not isinstance(goal, dict):
            raise FieldError(f"{field}.goal", N_("Please describe the goal."))
        text = _text(goal.get("goal"), f"{field}.goal", 500, required=N_("Please describe the goal."))
        indicators = goal.get("indicators") or []
        if not isinstance(indicators, list):
            raise FieldError(f"{field}.indicators", N_("Indicators must be a list."))
        if len(indicators) > MAX_INDICATORS:
            raise FieldError(f"{field}.indicators", N_("At most %(most)s indicators per goal."), most=MAX_INDICATORS)
        cleaned.append({"goal": text, "indicators": [
            _indicator(ind, f"{field}.indicators.{j}", starts=starts, today=today)
            for j, ind in enumerate(indicators)]})
    return cleaned


def measurements_of(indicator: dict[str, Any]) -> list[dict[str, Any]]:
    """An indicator's dated measurements; a single undated `actual` of an indicator written
    before measurements existed counts as one measurement without a date."""
    series = indicator.get("measurements")
    if isinstance(series, list) and series:
        return [m for m in series if isinstance(m, dict)]
    if indicator.get("actual") is not None:
        return [{"date": None, "value": indicator["actual"]}]
    return []


def target_met(indicator: dict[str, Any]) -> bool | None:
    """Whether the latest measurement reaches the target; None when there is nothing to judge."""
    series = measurements_of(indicator)
    target, baseline = indicator.get("target"), indicator.get("baseline")
    if not series or target is None:
        return None
    latest = float(series[-1]["value"])
    direction = indicator.get("direction")
    if direction not in DIRECTIONS:
        direction = "lower" if baseline is not None and float(target) < float(baseline) else "higher"
    return latest >= float(target) if direction == "higher" else latest <= float(target)
