"""Pure rules about entry envelopes on the way out of and into a node's catalogue.

Out: which row of the change feed a peer may receive (`feed_action`), and the
signed "withdrawn" tombstone that replaces a version of one of our own
entries that dropped from `public`/`network` to `local` or `draft`
(`withdrawn_tombstone`): it carries nothing but id, kind and version, so no
local content leaves the node, yet peers that hold an older public copy
remove it. A version that dropped from `public` to `network` reaches
non-members that held the public copy as a withdrawal marked `network`
(`withdrawn_tombstone(envelope, for_non_members=True)`), which ranks below
the live version of the same number (see `merge`), so members keep theirs. In: how a verified envelope turns into the column values of an
`Entry` row (`entry_values`), trusting nothing about its shape beyond what the
wire format checked: wrong types become `ContentError`, which the sync keeps
as a pending envelope with the reason instead of refusing the whole batch.
No I/O, no clock.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import datetime
from typing import Any

from content import forbidden_character
from exchange.budget import received_budget
from exchange.calls import received_terms
from exchange.models import ENTRY_KINDS

__all__ = [
    "ContentError",
    "FeedAction",
    "PublisherRef",
    "character_problem",
    "entry_values",
    "feed_action",
    "parse_entry_uid",
    "visible_to",
    "withdrawn_tombstone",
]

# Column limits of `exchange.models.Entry`; longer values are cut, the envelope stays whole.
_TEXT_LIMITS: dict[str, int | None] = {
    "title": 300, "summary": None, "body_markdown": None, "language": 2, "license": 40,
    "contact_role": 200, "contact_email": 200, "status": 10, "period_start": 10,
    "period_end": 10, "funding_programme": 200, "audience": 200, "review_state": 10,
    "what_worked": None, "what_did_not": None, "transfer_preconditions": None,
    "costs_staffing": None,
}
_NULLABLE = frozenset({"status", "period_start", "period_end", "review_state"})
_LISTS = ("keywords", "partners", "goals", "checklist", "links")


class ContentError(ValueError):
    """A correctly signed envelope whose entry this node cannot store as it is."""


class FeedAction(enum.Enum):
    SEND = "send"  # the stored, signed envelope as it is
    WITHDRAW = "withdraw"  # a signed withdrawn-tombstone instead
    SKIP = "skip"  # nothing: the peer may not learn of this version


def visible_to(visibility: str, member: bool) -> bool:
    """Whether a peer may receive a version of this visibility."""
    return visibility == "public" or (visibility == "network" and member)


def feed_action(visibility: str, *, own: bool, member: bool, shown_before: bool) -> FeedAction:
    """What the feed answers a peer for one change row.

    `shown_before`: an earlier version of the entry was visible to this peer.
    Only our own entries can be withdrawn (only we can sign for them). A
    `network` version withdraws from a non-member what it was shown; that
    withdrawal is marked `network` and ranks below the live version, so that
    members who get it relayed keep their copy.
    """
    if visible_to(visibility, member):
        return FeedAction.SEND
    if own and visibility in ("local", "draft", "network") and shown_before:
        return FeedAction.WITHDRAW
    return FeedAction.SKIP



def withdrawn_tombstone(envelope: dict[str, Any], *, for_non_members: bool = False) -> dict[str, Any]:
    """The tombstone that stands for a local or draft version of our own entry, or, for
    non-members, for a network version."""
    body = envelope.get("entry") or {}
    return {
        "type": "tombstone",
        "id": envelope["id"],
        "origin": envelope["origin"],
        "version": envelope["version"],
        "visibility": "network" if for_non_members else "public",
        "updatedAt": envelope["updatedAt"],
        "entry": {"kind": body.get("kind"), "withdrawn": True},
    }


def character_problem(envelope: dict[str, Any], canonical: bytes | None = None) -> str | None:
    """Why a received envelope cannot be stored as text, or None: a character XML 1.0
    forbids (NUL, other control characters, unpaired surrogates, U+FFFE/U+FFFF) anywhere
    in it would make this node's feeds and exports unreadable. The sync holds such an
    envelope back with this reason (refused and reported), like any content it cannot store.

    `canonical` is the envelope's canonical JSON, where the sync has it (the signed bytes):
    when one search of those bytes finds nothing that could stand for such a character,
    the envelope is clean without walking it (the walk of every received envelope took a
    tenth of a large sync's CPU time)."""
    if canonical is not None and _MAYBE_FORBIDDEN.search(canonical) is None:
        return None
    hit = forbidden_character(envelope, "envelope")
    return None if hit is None else hit.message("")


# What a forbidden character becomes in canonical JSON (`json.dumps` with ensure_ascii off,
# UTF-8): a control character an escape (\b, \f or \u00XX; tab, line feed and carriage
# return, which are allowed, have escapes of their own), U+FFFE/U+FFFF their UTF-8 bytes.
# Unpaired surrogates cannot be in it at all (UTF-8 has no bytes for them). An escaped
# backslash before b, f or u00 matches too, and then the envelope is walked: slower, not wrong.
_MAYBE_FORBIDDEN = re.compile(rb"\\[bf]|\\u00[01]|\xef\xbf[\xbe\xbf]")


def parse_entry_uid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ContentError(f"entry id {value[:60]!r} is not a UUID") from None


class PublisherRef:
    """Who published an entry, as its envelope names them."""

    __slots__ = ("key", "kind", "name")

    def __init__(self, kind: str, key: str, name: str) -> None:
        self.kind, self.key, self.name = kind, key, name

    @classmethod
    def of(cls, body: dict[str, Any]) -> PublisherRef | None:
        raw = body.get("publisher")
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise ContentError("publisher must be an object")
        kind, key, name = raw.get("type"), raw.get("key"), raw.get("name", "")
        if kind not in ("municipality", "organisation") or not isinstance(key, str) or not key:
            raise ContentError("publisher needs a type (municipality or organisation) and a key")
        if len(key) > 80:
            raise ContentError("publisher key is too long")
        return cls(kind, key, str(name or "")[:200])


def _time(value: object, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ContentError(f"{name} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ContentError(f"{name} has no offset")
    return moment


def entry_values(envelope: dict[str, Any]) -> dict[str, Any]:
    """Column values of the Entry row for a received entry or tombstone.

    Tombstones may be bare (a withdrawn tombstone has only a kind): missing
    fields get harmless defaults. Raises ContentError for wrong types.
    """
    body = envelope["entry"]
    tombstone = envelope["type"] == "tombstone"
    kind = body.get("kind")
    if kind not in ENTRY_KINDS:
        if not tombstone:
            raise ContentError(f"kind must be one of {', '.join(ENTRY_KINDS)}, not {kind!r}")
        kind = "project"
    values: dict[str, Any] = {"kind": kind}
    for name, limit in _TEXT_LIMITS.items():
        raw = body.get(name)
        if raw is None:
            values[name] = None if name in _NULLABLE else ""
            continue
        if not isinstance(raw, str):
            raise ContentError(f"{name} must be a string")
        values[name] = raw[:limit] if limit else raw
    if not tombstone and not values["title"]:
        raise ContentError("title must not be empty")
    values["language"] = values["language"] or "de"
    values["license"] = values["license"] or "CC-BY-4.0"
    for name in _LISTS:
        raw = body.get(name)
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise ContentError(f"{name} must be a list")
        values[name] = raw
    try:
        budget, currency = received_budget(body)
    except ValueError as exc:
        raise ContentError(str(exc)) from None
    if budget is not None and (type(budget) is not int or not 0 <= budget < 2**62):
        raise ContentError("budget_eur and budget_amount must be non-negative integers")
    values["budget_eur"] = budget  # the column holds the amount in budget_currency
    if currency is not None and not (isinstance(currency, str) and len(currency) == 3
                                     and currency.isascii() and currency.isupper()):
        raise ContentError("budget_currency must be a three-letter ISO 4217 code")
    values["budget_currency"] = currency or "EUR"
    project = body.get("projectId")
    if project is not None and not isinstance(project, str):
        raise ContentError("projectId must be a string")
    values["project_uid"] = parse_entry_uid(project) if project else None
    topics = body.get("topics") or []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ContentError("topics must be a list of slugs")
    values["topics"] = topics[:10]
    values["visibility"] = envelope["visibility"]
    values["version"] = envelope["version"]
    values["origin_node"] = envelope["origin"]
    values["updated_at"] = _time(envelope["updatedAt"], "updatedAt")
    created = body.get("createdAt")
    values["created_at"] = _time(created, "createdAt") if created is not None else values["updated_at"]
    values["deleted"] = tombstone
    values["call"] = None
    if kind == "call" and not tombstone:
        try:
            values["call"] = received_terms(body.get("call"))
        except ValueError as exc:
            raise ContentError(str(exc)) from None
    return values
