"""The terms of a call for partners and their rules (pure: no I/O).

A call says what is planned (its title, summary and body, as every entry), the
form of cooperation, the region or radius it is open to, the size classes of
municipality it seeks, how many partners, until when, and its state: open,
or closed as filled or withdrawn, with a reason. The terms are stored as one
JSON object (`Entry.call`) and travel in the signed envelope as `entry.call`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from exchange.errors import N_, ConflictError, FieldError, InvalidInputError
from exchange.registry import SIZE_CLASSES

FORMS = ("joint_procurement", "shared_service", "funding_application", "experience_exchange", "pilot")
STATES = ("open", "filled", "withdrawn")
CLOSED = ("filled", "withdrawn")
MAX_RADIUS_KM = 1000
MAX_PARTNERS = 100
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The keys of `Entry.call`, with what a missing one stands for.
BLANK: dict[str, Any] = {
    "form": "experience_exchange", "region": "", "radius_km": None, "centre_key": "", "size_classes": [],
    "partners_wanted": 1, "deadline": "", "state": "open", "close_reason": "",
}


def _deadline(value: object, today: date | None) -> str:
    text = str(value or "").strip()
    if not text:
        raise FieldError("call.deadline", N_("Please give a deadline (a date)."))
    if not _DATE.fullmatch(text):
        raise FieldError("call.deadline", N_("%(value)s is not a date (YYYY-MM-DD)."), value=text)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise FieldError("call.deadline", N_("%(value)s is not a date (YYYY-MM-DD)."), value=text) from None
    if today is not None and day < today:
        raise FieldError("call.deadline", N_("The deadline %(value)s is in the past."), value=text)
    return text


def clean_terms(raw: dict[str, Any] | None, *, today: date | None, previous: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """The terms of a call from input, checked; FieldError names the first problem.

    `previous`: the terms of the version being revised (unset keys keep their value).
    `today`: a deadline before it is refused (None: not checked, as for a call being closed).
    """
    terms = {**BLANK, **(previous or {})}
    for key, value in (raw or {}).items():
        if key not in BLANK:
            raise InvalidInputError(f"a call has no term {key!r}")
        if value is not None or key == "radius_km":
            terms[key] = value
    if terms["form"] not in FORMS:
        raise FieldError("call.form", N_("Please choose a form of cooperation."))
    region = str(terms["region"] or "").strip()
    if len(region) > 200:
        raise FieldError("call.region", N_("This is %(length)s characters long; at most %(most)s are allowed."),
                         length=len(region), most=200)
    terms["region"] = region
    radius = terms["radius_km"]
    if radius is not None:
        if type(radius) is not int:
            raise FieldError("call.radius_km", N_("The radius must be a whole number of kilometres."))
        if not 0 < radius <= MAX_RADIUS_KM:
            raise FieldError("call.radius_km", N_("The radius must be between 1 and %(most)s km, not %(value)s."),
                             most=MAX_RADIUS_KM, value=radius)
    terms["centre_key"] = str(terms["centre_key"] or "").strip()[:12]
    sizes = list(dict.fromkeys(str(s) for s in terms["size_classes"] or []))
    unknown = [s for s in sizes if s not in SIZE_CLASSES]
    if unknown:
        raise FieldError("call.size_classes", N_("Unknown size class %(value)s."), value=unknown[0])
    terms["size_classes"] = [s for s in SIZE_CLASSES if s in sizes]
    wanted = terms["partners_wanted"]
    if type(wanted) is not int or not 1 <= wanted <= MAX_PARTNERS:
        raise FieldError("call.partners_wanted", N_("Please give a number of partners between 1 and %(most)s."),
                         most=MAX_PARTNERS)
    terms["deadline"] = _deadline(terms["deadline"], today if terms["state"] == "open" else None)
    if terms["state"] not in STATES:
        raise InvalidInputError(f"a call's state is one of {', '.join(STATES)}, not {terms['state']!r}")
    reason = str(terms["close_reason"] or "").strip()
    if len(reason) > 500:
        raise FieldError("call.close_reason", N_("This is %(length)s characters long; at most %(most)s are allowed."),
                         length=len(reason), most=500)
    terms["close_reason"] = reason if terms["state"] in CLOSED else ""
    return terms


def received_terms(raw: object) -> dict[str, Any]:
    """The terms of a call as a peer sent them, in the stored shape; ValueError when they are not
    a call's terms (the envelope is held back with the reason). No date rule: the origin judged it."""
    if isinstance(raw, dict):
        try:
            return clean_terms(raw, today=None)
        except InvalidInputError as exc:
            raise ValueError(f"the call's terms: {exc}") from None
    raise ValueError("a call carries its terms as an object")


def is_open(terms: dict[str, Any] | None, today: date) -> bool:
    """Whether a call takes answers: open and its deadline not passed."""
    return terms is not None and terms.get("state") == "open" and str(terms.get("deadline", "")) >= today.isoformat()


def closing(kind: str, terms: dict[str, Any] | None, state: str, reason: str) -> dict[str, Any]:
    """The change of terms that closes a call as `state` (filled or withdrawn) with a reason;
    InvalidInputError for an entry that is no call, ConflictError for a call closed already."""
    if kind != "call":
        raise InvalidInputError("only a call for partners can be closed")
    if state not in CLOSED:
        raise InvalidInputError(f"a call is closed as {' or '.join(CLOSED)}, not {state!r}")
    if (terms or {}).get("state") in CLOSED:
        raise ConflictError("this call is closed already")
    return {"state": state, "close_reason": reason}
