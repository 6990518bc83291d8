"""A budget's currency, and single "actual" values turned into dated measurements.

`entry.budget_currency` holds the ISO 4217 code of the budget's currency; every
budget stored so far was in euros, so the column starts as EUR.

An indicator written before measurements existed held one undated `actual`
value. It becomes one measurement, dated the day of the version that reported
it (the entry's `updated_at`; not before the project's start, where that is
later), so that the entry page draws it as a point of the series and a revision
in the form does not ask for the missing date. `actual` stays (the latest
measurement, as for every indicator). The signed versions are not changed: the
next version of the entry carries the measurement like any other.
"""

import json
from datetime import date, datetime
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from exchange.goals import period_date


def dated_goals(goals: Any, reported: date, period_start: str | None) -> list[Any] | None:
    """The goals with each undated `actual` as one measurement; None when nothing changes."""
    if not isinstance(goals, list):
        return None
    start = period_date(period_start)
    when = max(reported, start) if start is not None and start <= date.today() else reported
    changed = False
    out = []
    for goal in goals:
        if isinstance(goal, dict) and isinstance(goal.get("indicators"), list):
            indicators = []
            for ind in goal["indicators"]:
                if (isinstance(ind, dict) and ind.get("actual") is not None
                        and not ind.get("measurements")):
                    ind = {**ind, "measurements": [{"date": when.isoformat(), "value": float(ind["actual"])}]}
                    changed = True
                indicators.append(ind)
            goal = {**goal, "indicators": indicators}
        out.append(goal)
    return out if changed else None


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


async def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    postgres = "postgres" in client.capabilities.dialect
    marks = ("$1", "$2") if postgres else ("?", "?")
    _, rows = await client.execute_query(
        "SELECT id, goals, period_start, updated_at FROM entry WHERE kind = 'project' AND goals LIKE '%\"actual\"%'"
        if not postgres else
        "SELECT id, goals, period_start, updated_at FROM entry WHERE kind = 'project' AND goals::text LIKE '%\"actual\"%'")
    for row in map(dict, rows):
        goals = row["goals"]
        goals = json.loads(goals) if isinstance(goals, (str, bytes)) else goals
        dated = dated_goals(goals, _day(row["updated_at"]), row["period_start"])
        if dated is not None:
            cast = "::jsonb" if postgres else ""
            await client.execute_query(f"UPDATE entry SET goals = {marks[0]}{cast} WHERE id = {marks[1]}",
                                       [json.dumps(dated, separators=(",", ":")), int(row["id"])])


async def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    return None  # the measurements say what `actual` said; nothing to undo


class Migration(migrations.Migration):
    dependencies = [("models", "0012_attachments")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Entry",
            name="budget_currency",
            field=fields.CharField(default="EUR", db_default="EUR", max_length=3),
        ),
        ops.RunPython(forward, backward),
    ]
