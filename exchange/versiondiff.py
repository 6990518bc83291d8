"""What changed between two versions of an entry, field by field.

Each field of the two signed envelopes is turned into lines (a text field
line by line; a list one item a line; goals one line per goal, indicator and
measurement; a value one line), and the lines are compared with difflib. A
field that did not change is left out. Pure functions: the caller picks the
envelopes a reader may see (`access.visible_revisions`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

__all__ = ["FIELDS", "FieldChange", "Line", "field_changes", "lines_of"]

# The fields a reader compares, in the order the entry shows them.
FIELDS = (
    "title", "summary", "body_markdown", "status", "period_start", "period_end", "budget_eur", "budget_currency",
    "funding_programme", "partners", "goals", "what_worked", "what_did_not", "transfer_preconditions",
    "costs_staffing", "projectId", "audience", "checklist", "review_state", "topics", "keywords", "language",
    "license", "visibility", "contact_role", "contact_email", "links",
)


@dataclass(frozen=True)
class Line:
    """One line of a field's diff: `op` is "+" (added), "-" (removed) or " " (kept)."""

    op: str
    text: str


@dataclass(frozen=True)
class FieldChange:
    name: str
    lines: list[Line]

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.op == "+")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.op == "-")


def _number(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return "" if value is None else str(value)


def lines_of(name: str, value: Any) -> list[str]:
    """A field's value as the lines its diff compares."""
    if value is None or value == "" or value == []:
        return []
    if name == "goals" and isinstance(value, list):
        out = []
        for goal in value:
            if not isinstance(goal, dict):
                continue
            out.append(str(goal.get("goal", "")))
            for ind in goal.get("indicators") or []:
                if not isinstance(ind, dict):
                    continue
                unit = f" {ind.get('unit')}" if ind.get("unit") else ""
                out.append(f"  {ind.get('name', '')}: {_number(ind.get('baseline'))} → {_number(ind.get('target'))}{unit}"
                           + (f" ({ind['direction']})" if ind.get("direction") else ""))
                series = ind.get("measurements") or (
                    [{"date": "", "value": ind["actual"]}] if ind.get("actual") is not None else [])
                out.extend(f"    {m.get('date') or '–'}: {_number(m.get('value'))}{unit}"
                           for m in series if isinstance(m, dict))
        return out
    if name == "links" and isinstance(value, list):
        return [f"{link.get('relation')}: {link.get('target')}" for link in value if isinstance(link, dict)]
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, str):
        return value.splitlines() or [""]
    return [_number(value)]


def _diff(old: list[str], new: list[str]) -> list[Line]:
    out: list[Line] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(Line(" ", text) for text in old[a1:a2])
        else:
            out.extend(Line("-", text) for text in old[a1:a2])
            out.extend(Line("+", text) for text in new[b1:b2])
    return out


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    """The fields that differ between two envelopes, each with its lines marked."""
    a = {**(old.get("entry") or {}), "visibility": old.get("visibility")}
    b = {**(new.get("entry") or {}), "visibility": new.get("visibility")}
    for body in (a, b):  # a budget without a currency is in euros; no budget, no currency
        if body.get("budget_amount") is not None:  # an amount in another currency (exchange.budget)
            body["budget_eur"] = body["budget_amount"]
        body["budget_currency"] = (body.get("budget_currency") or "EUR") if body.get("budget_eur") is not None else None
    changes = []
    for name in FIELDS:
        before, after = lines_of(name, a.get(name)), lines_of(name, b.get(name))
        if before != after:
            changes.append(FieldChange(name, _diff(before, after)))
    return changes
