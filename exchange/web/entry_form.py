"""The entry form: every field of every kind, read from a posted form and checked.

The form works without JavaScript. Repeating groups (goals, their indicators
and measurements, partners, checklist items) are added, removed and moved by
submit buttons (`action=add-goal`, `remove-indicator.0.1`, `up-check.3`, ...);
the server changes the group and shows the form again with everything typed
so far. Partners from the register and the project a lesson learned comes
from are found by a name search on the server (`find-partners`,
`find-project`) and chosen with a button.

Field names are the paths `FieldError` names (`goals.0.indicators.1.target`),
so a message of the core lands next to its field. `check_form` collects every
problem it can find before anything is stored (the pure checks of `goals`,
`licences` and the register), so a person sees all of them at once; what only
the catalogue can judge comes back as one `FieldError` or a general message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.datastructures import FormData

from exchange.access import may_see
from exchange.auth import Actor
from exchange.budget import DEFAULT_CURRENCY, check_currency
from exchange.catalogue import MAX_CHECKLIST, MAX_PARTNERS, EntryInput
from exchange.errors import N_, FieldError
from exchange.goals import MAX_GOALS, MAX_INDICATORS, MAX_MEASUREMENTS, check_period, clean_goals
from exchange.licences import canonical_licence
from exchange.models import ENTRY_KINDS, Entry, Municipality
from exchange.placenames import display_name
from exchange.web.call_form import call_links, call_terms, call_values, read_call
from exchange.web.forms import split_list

__all__ = ["EntryForm", "Problem", "apply_action", "check_form", "entry_input", "read_form", "values_of_entry"]

TEXT_FIELDS = ("title", "summary", "body_markdown", "language", "visibility", "contact_role", "contact_email",
               "keywords", "license", "status", "period_start", "period_end", "budget_eur", "budget_currency",
               "funding_programme",
               "audience", "what_worked", "what_did_not", "transfer_preconditions", "costs_staffing",
               "project_id", "project_title", "partner_query", "project_query", "note")
LESSON_PARTS = ("what_worked", "what_did_not", "transfer_preconditions", "costs_staffing")
_INDEX = re.compile(r"^(goals|partners|checklist)\.(\d+)(?:\.(.*))?$")
_SUB = re.compile(r"^(indicators|measurements)\.(\d+)(?:\.(.*))?$")


@dataclass(frozen=True)
class Problem:
    """A message for a person: a catalogue text with its placeholders' values."""

    text: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class EntryForm:
    """What the form shows: the kind, every value as typed, and the problems by field."""

    kind: str
    values: dict[str, Any]
    problems: dict[str, Problem] = field(default_factory=dict)
    general: list[Problem] = field(default_factory=list)
    partner_hits: list[Municipality] = field(default_factory=list)
    project_hits: list[Entry] = field(default_factory=list)

    def add(self, where: str, text: str, /, **params: Any) -> None:
        self.problems.setdefault(where, Problem(text, params))

    def add_error(self, error: FieldError) -> None:
        self.add(error.field, error.text, **error.params)


def _empty_indicator() -> dict[str, Any]:
    return {"name": "", "unit": "", "direction": "", "baseline": "", "target": "", "measurements": []}


def _empty_goal() -> dict[str, Any]:
    return {"goal": "", "indicators": [_empty_indicator()]}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def values_of_entry(entry: Entry | None, topics: list[str], *, kind: str, project_title: str = "") -> dict[str, Any]:
    """The form's values for a new entry of `kind` or for revising `entry`."""
    if entry is None:
        return {"kind": kind, "language": "de", "visibility": "public", "status": "planned", "topics": topics,
                "budget_currency": DEFAULT_CURRENCY,
                "license": "CC-BY-4.0", "goals": [], "partners": [], "checklist": [], "call": call_values(None)}
    values: dict[str, Any] = {name: _text(getattr(entry, name, "")) for name in TEXT_FIELDS if hasattr(entry, name)}
    values["kind"] = entry.kind
    values["keywords"] = ", ".join(entry.keywords or [])
    values["topics"] = topics
    values["project_id"] = str(entry.project_uid) if entry.project_uid else ""
    values["project_title"] = project_title
    values["partners"] = [{"name": str(p), "key": ""} for p in entry.partners or []]
    values["checklist"] = [str(c) for c in entry.checklist or []]
    values["call"] = call_values(entry)
    values["goals"] = [{
        "goal": g.get("goal", ""),
        "indicators": [{
            "name": i.get("name", ""), "unit": i.get("unit", ""), "direction": i.get("direction") or "",
            "baseline": _text(i.get("baseline")), "target": _text(i.get("target")),
            "measurements": [{"date": m.get("date") or "", "value": _text(m.get("value"))}
                             for m in (i.get("measurements") or
                                       ([{"date": "", "value": i["actual"]}] if i.get("actual") is not None else []))],
        } for i in g.get("indicators") or []],
    } for g in entry.goals or []]
    return values


def _nested(form: FormData, prefix: str) -> dict[int, dict[str, str]]:
    """{index: {rest of the name: value}} for the names `prefix.N.rest` of a form."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.multi_items():
        if not name.startswith(prefix):
            continue
        found = re.match(r"^(\d+)(?:\.(.*))?$", name[len(prefix):])
        if found and int(found.group(1)) < 1000:
            rows.setdefault(int(found.group(1)), {})[found.group(2) or ""] = str(value).replace("\r\n", "\n")
    return dict(sorted(rows.items()))


def read_form(form: FormData, kind: str) -> EntryForm:
    """Everything the person typed, as the form shows it again (groups renumbered)."""
    values: dict[str, Any] = {name: str(form.get(name) or "").replace("\r\n", "\n") for name in TEXT_FIELDS}
    values["kind"] = kind
    values["topics"] = [str(t) for t in form.getlist("topics")]
    goals = []
    for i, goal in _nested(form, "goals.").items():
        indicators = []
        for j, ind in _nested(form, f"goals.{i}.indicators.").items():
            series = [{"date": m.get("date", "").strip(), "value": m.get("value", "").strip()}
                      for m in _nested(form, f"goals.{i}.indicators.{j}.measurements.").values()]
            indicators.append({key: ind.get(key, "").strip() for key in
                               ("name", "unit", "direction", "baseline", "target")} | {"measurements": series})
        goals.append({"goal": goal.get("goal", ""), "indicators": indicators})
    values["goals"] = goals
    values["partners"] = [{"name": p.get("name", "").strip(), "key": p.get("key", "").strip()}
                          for p in _nested(form, "partners.").values()]
    values["checklist"] = [c.get("", "") for c in _nested(form, "checklist.").values()]
    values["call"] = read_call(form)
    return EntryForm(kind=kind, values=values)


def apply_action(state: EntryForm, action: str) -> bool:
    """Change a repeating group as a button asks; False when `action` is none of these."""
    v = state.values
    name, _, rest = action.partition(".")
    idx = [int(x) for x in rest.split(".") if x.isdigit()] if rest else []

    def at(seq: list[Any], i: int) -> bool:
        return 0 <= i < len(seq)

    if name == "add-goal":
        if len(v["goals"]) >= MAX_GOALS:
            state.add("goals", N_("At most %(most)s goals per project."), most=MAX_GOALS)
        else:
            v["goals"].append(_empty_goal())
    elif name == "remove-goal" and len(idx) == 1 and at(v["goals"], idx[0]):
        del v["goals"][idx[0]]
    elif name == "add-indicator" and len(idx) == 1 and at(v["goals"], idx[0]):
        indicators = v["goals"][idx[0]]["indicators"]
        if len(indicators) >= MAX_INDICATORS:
            state.add(f"goals.{idx[0]}.indicators", N_("At most %(most)s indicators per goal."), most=MAX_INDICATORS)
        else:
            indicators.append(_empty_indicator())
    elif name == "remove-indicator" and len(idx) == 2 and at(v["goals"], idx[0]) \
            and at(v["goals"][idx[0]]["indicators"], idx[1]):
        del v["goals"][idx[0]]["indicators"][idx[1]]
    elif name == "add-measurement" and len(idx) == 2 and at(v["goals"], idx[0]) \
            and at(v["goals"][idx[0]]["indicators"], idx[1]):
        series = v["goals"][idx[0]]["indicators"][idx[1]]["measurements"]
        if len(series) >= MAX_MEASUREMENTS:
            state.add(f"goals.{idx[0]}.indicators.{idx[1]}.measurements",
                      N_("At most %(most)s measurements per indicator."), most=MAX_MEASUREMENTS)
        else:
            series.append({"date": date.today().isoformat(), "value": ""})
    elif name == "remove-measurement" and len(idx) == 3 and at(v["goals"], idx[0]) \
            and at(v["goals"][idx[0]]["indicators"], idx[1]) \
            and at(v["goals"][idx[0]]["indicators"][idx[1]]["measurements"], idx[2]):
        del v["goals"][idx[0]]["indicators"][idx[1]]["measurements"][idx[2]]
    elif name == "add-partner":
        if len(v["partners"]) >= MAX_PARTNERS:
            state.add("partners", N_("At most %(most)s partners per project."), most=MAX_PARTNERS)
        else:
            v["partners"].append({"name": "", "key": ""})
    elif name == "remove-partner" and len(idx) == 1 and at(v["partners"], idx[0]):
        del v["partners"][idx[0]]
    elif name == "add-check":
        if len(v["checklist"]) >= MAX_CHECKLIST:
            state.add("checklist", N_("A checklist holds at most %(most)s items, not %(count)s."),
                      most=MAX_CHECKLIST, count=len(v["checklist"]) + 1)
        else:
            v["checklist"].append("")
    elif name == "remove-check" and len(idx) == 1 and at(v["checklist"], idx[0]):
        del v["checklist"][idx[0]]
    elif name in ("up-check", "down-check") and len(idx) == 1 and at(v["checklist"], idx[0]):
        i = idx[0]
        j = i - 1 if name == "up-check" else i + 1
        if at(v["checklist"], j):
            v["checklist"][i], v["checklist"][j] = v["checklist"][j], v["checklist"][i]
    elif name == "clear-project":
        v["project_id"] = v["project_title"] = ""
    else:
        return False
    return True


async def find_partners(state: EntryForm) -> None:
    """Municipalities of the register whose name begins with (or holds) the search text."""
    query = state.values.get("partner_query", "").strip()
    if len(query) < 2:
        state.add("partner_query", N_("Please type at least two letters of the name."))
        return
    found = await Municipality.filter(name__istartswith=query, active=True).order_by("name").limit(10)
    if len(found) < 10:
        more = await Municipality.filter(name__icontains=query, active=True).exclude(
            id__in=[m.id for m in found]).order_by("name").limit(10 - len(found))
        found = [*found, *more]
    if not found:
        state.add("partner_query", N_("No municipality of the register is called %(name)s."), name=query[:60])
    state.partner_hits = list(found)


async def pick_partner(state: EntryForm, key: str) -> None:
    muni = await Municipality.get_or_none(official_key=key, active=True)
    if muni is None:
        state.add("partner_query", N_("%(key)s is not a municipality of the register."), key=key[:20])
        return
    if len(state.values["partners"]) >= MAX_PARTNERS:
        state.add("partners", N_("At most %(most)s partners per project."), most=MAX_PARTNERS)
        return
    if all(p["key"] != key for p in state.values["partners"]):
        state.values["partners"].append({"name": display_name(muni.name), "key": key})
    state.values["partner_query"] = ""


async def find_projects(state: EntryForm, actor: Actor) -> None:
    """Project descriptions the node knows whose title holds the search text."""
    query = state.values.get("project_query", "").strip()
    if len(query) < 2:
        state.add("project_query", N_("Please type at least two letters of the title."))
        return
    found = await Entry.filter(kind="project", deleted=False, title__icontains=query).order_by("-updated_at").limit(30)
    state.project_hits = [e for e in found if may_see(e, actor)][:10]
    if not state.project_hits:
        state.add("project_query", N_("No project description here has %(text)s in its title."), text=query[:60])


async def pick_project(state: EntryForm, actor: Actor, uid: str) -> None:
    found = await Entry.filter(kind="project", deleted=False, uid=uid).first() if _is_uuid(uid) else None
    if found is None or not may_see(found, actor):
        state.add("project_query", N_("This project description is not known here."))
        return
    state.values["project_id"] = str(found.uid)
    state.values["project_title"] = found.title
    state.values["project_query"] = ""


def _is_uuid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", value))


async def check_form(state: EntryForm, *, today: date) -> None:
    """Every problem the form can find before the catalogue is asked, each at its field."""
    v = state.values
    if state.kind not in ENTRY_KINDS:
        state.add("kind", N_("Please choose the kind of entry."))
    for name in ("title", "summary"):
        if not v.get(name, "").strip():
            state.add(name, N_("Please fill in this field."))
    if v.get("license"):
        try:
            v["license"] = canonical_licence(v["license"])
        except FieldError as exc:
            state.add_error(exc)
    if v.get("contact_email") and "@" not in v["contact_email"]:
        state.add("contact_email", N_("%(value)s is not an e-mail address."), value=v["contact_email"][:80])
    if state.kind == "project":
        budget = v.get("budget_eur", "").strip().replace(".", "").replace(" ", "")
        if budget and not re.fullmatch(r"-?\d{1,15}", budget):
            state.add("budget_eur", N_("Please give the budget as a whole number, not %(value)s."),
                      value=v["budget_eur"][:40])
        elif budget.startswith("-"):
            state.add("budget_eur", N_("The budget cannot be negative."))
        try:
            v["budget_currency"] = check_currency(v.get("budget_currency"))
        except FieldError as exc:
            state.add_error(exc)
        try:
            check_period(v.get("period_start"), v.get("period_end"))
        except FieldError as exc:
            state.add_error(exc)
        for i, goal in enumerate(v["goals"]):
            given = _goal_input(goal)
            if len(given["indicators"]) > MAX_INDICATORS:
                state.add(f"goals.{i}.indicators", N_("At most %(most)s indicators per goal."), most=MAX_INDICATORS)
                continue
            for j, part in enumerate(_goal_parts(given)):
                try:
                    clean_goals([part], period_start=v.get("period_start") or None, today=today)
                except FieldError as exc:  # fields of the one goal checked: goals.0..., its one indicator 0
                    rest = exc.field.removeprefix("goals.0")
                    if j:
                        rest = rest.replace(".indicators.0", f".indicators.{j - 1}", 1)
                    state.add(f"goals.{i}{rest}", exc.text, **exc.params)
        keys = [p["key"] for p in v["partners"] if p["key"]]
        known = {m.official_key for m in await Municipality.filter(official_key__in=keys)} if keys else set()
        for n, partner in enumerate(v["partners"]):
            if partner["key"] and partner["key"] not in known:
                state.add(f"partners.{n}", N_("%(key)s is not a municipality of the register."), key=partner["key"][:20])
        if len(v["partners"]) > MAX_PARTNERS:
            state.add("partners", N_("At most %(most)s partners per project."), most=MAX_PARTNERS)
    if state.kind == "guide" and len([c for c in v["checklist"] if c.strip()]) > MAX_CHECKLIST:
        state.add("checklist", N_("A checklist holds at most %(most)s items, not %(count)s."),
                  most=MAX_CHECKLIST, count=len(v["checklist"]))


def _goal_parts(goal: dict[str, Any]) -> list[dict[str, Any]]:
    """A goal checked in parts, so that every indicator's problem is named at once, not only
    the goal's first: its text alone, then each indicator alone (under a stand-in text, so
    that a problem of the text is named once)."""
    return [{**goal, "indicators": []}, *({"goal": "-", "indicators": [ind]} for ind in goal["indicators"])]


def _goal_input(goal: dict[str, Any]) -> dict[str, Any]:
    return {"goal": goal["goal"], "indicators": [
        {**{k: ind[k] for k in ("name", "unit", "baseline", "target")}, "direction": ind["direction"] or None,
         "measurements": [m for m in ind["measurements"] if m["date"] or m["value"]]}
        for ind in goal["indicators"]]}


def entry_input(state: EntryForm) -> EntryInput:
    """What the checked form asks the catalogue to store."""
    v = state.values
    data = EntryInput(
        title=v["title"], summary=v["summary"], body_markdown=v["body_markdown"],
        language=v["language"] or "de", visibility=v["visibility"] or "public", topics=v["topics"],
        keywords=split_list(v["keywords"]), contact_role=v["contact_role"].strip(),
        contact_email=v["contact_email"].strip(), license=v["license"].strip() or None,
    )
    if state.kind == "project":
        budget = v["budget_eur"].strip().replace(".", "").replace(" ", "")
        data.status = v["status"] or "planned"
        data.period_start = v["period_start"].strip()
        data.period_end = v["period_end"].strip()
        data.budget_eur = int(budget) if budget else None
        data.budget_currency = v["budget_currency"].strip() or DEFAULT_CURRENCY
        data.funding_programme = v["funding_programme"].strip()
        data.partners = [p["name"] for p in v["partners"] if p["name"].strip()]
        data.goals = [_goal_input(g) for g in v["goals"]]
    elif state.kind == "guide":
        data.audience = v["audience"].strip()
        data.checklist = [c.strip() for c in v["checklist"] if c.strip()]
    elif state.kind == "lesson":
        for name in LESSON_PARTS:
            setattr(data, name, v[name])
        data.project_id = v["project_id"].strip()
    elif state.kind == "call":
        data.call, data.links = call_terms(v["call"]), call_links(v["call"])
    return data
