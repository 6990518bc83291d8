"""The terms of a call for partners in the entry form: read, shown again, checked.

The fields are named as `exchange.calls` names its problems (`call.deadline`,
`call.radius_km`, ...), so every message lands next to its field. Related
entries (the project to replicate, the guide it follows) are given by their
address or id and stored as the entry's links.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from starlette.datastructures import FormData

from exchange.calls import BLANK, clean_terms
from exchange.errors import N_, FieldError, InvalidInputError
from exchange.models import Entry

__all__ = ["call_links", "call_terms", "call_values", "check_call", "read_call"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
RELATED = (("replicates", "call.replicates"), ("related", "call.follows"))


def call_values(entry: Entry | None) -> dict[str, Any]:
    """The form's values of a call's terms (a new call: open, one partner)."""
    terms = {**BLANK, **((entry.call if entry is not None else None) or {})}
    links = {link["relation"]: link["target"] for link in (entry.links if entry is not None else None) or []}
    return {"form": terms["form"] if entry is not None else "", "region": terms["region"],
            "radius_km": "" if terms["radius_km"] is None else str(terms["radius_km"]),
            "size_classes": list(terms["size_classes"]), "partners_wanted": str(terms["partners_wanted"]),
            "deadline": terms["deadline"], "replicates": links.get("replicates", ""),
            "follows": links.get("related", "")}


def read_call(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(f"call.{name}") or "").strip() for name in
                              ("form", "region", "radius_km", "partners_wanted", "deadline", "replicates", "follows")}
    values["size_classes"] = [str(s) for s in form.getlist("call.size_classes")]
    return values


def _number(values: dict[str, Any], name: str) -> int | None:
    text = values[name].replace(" ", "").removesuffix("km")
    if not text:
        return None
    if not re.fullmatch(r"-?\d{1,6}", text):
        raise FieldError(f"call.{name}", N_("Please give a whole number, not %(value)s."), value=values[name][:40])
    return int(text)


def call_terms(values: dict[str, Any]) -> dict[str, Any]:
    """The terms the catalogue is asked to store (FieldError for a number that is none)."""
    partners = _number(values, "partners_wanted")
    return {"form": values["form"] or None, "region": values["region"], "radius_km": _number(values, "radius_km"),
            "size_classes": values["size_classes"], "partners_wanted": partners if partners is not None else 0,
            "deadline": values["deadline"]}


def call_links(values: dict[str, Any]) -> list[dict[str, str]]:
    """The links of a call to the entries it names (FieldError for an address that names none)."""
    links = []
    for relation, field in RELATED:
        text = values[field.removeprefix("call.")]
        if not text:
            continue
        found = _UUID.search(text)
        if found is None:
            raise FieldError(field, N_("Please give the address of an entry, such as /entries/…"))
        links.append({"relation": relation, "target": found.group(0).lower()})
    return links


def check_call(values: dict[str, Any], today: date, *, creating: bool, previous: dict[str, Any] | None
               ) -> list[FieldError]:
    """Every problem of the terms the form can find, each naming its field."""
    problems: list[FieldError] = []
    terms: dict[str, Any] = {}
    for name in ("radius_km", "partners_wanted"):
        try:
            terms[name] = _number(values, name)
        except FieldError as exc:
            problems.append(exc)
    try:
        call_links(values)
    except FieldError as exc:
        problems.append(exc)
    if problems:
        return problems
    try:
        dated = creating or values["deadline"] != (previous or {}).get("deadline")
        clean_terms(call_terms(values), today=today if dated else None, previous=previous)
    except FieldError as exc:
        problems.append(exc)
    except InvalidInputError as exc:
        problems.append(FieldError("call.form", exc.message))
    return problems
