"""Reviewing guides: review states, who moved a guide and when, diffs, checklist progress.

A guide moves draft → in_review → published → withdrawn (and back where a
curator asks for changes). Each move is a new signed version of the entry,
so the history of a guide is its list of revisions, and a `ReviewEvent`
records who moved it and when. Only a published guide is public: in any
other state the catalogue keeps it as a draft, which never leaves the node
(a guide that peers held goes out as a withdrawn tombstone). `diff_versions`
compares two stored versions as unified diffs of their Markdown.
Checklist progress is a municipality's own, local to this node.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exchange.access import visible_revisions
from exchange.auth import Actor, require
from exchange.catalogue import (
    Catalogue,
    EntryInput,
    parse_uid,
    publisher_of_entry,
)
from exchange.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from exchange.freshness import state_changed
from exchange.models import REVIEW_STATES, ChecklistProgress, Entry, ReviewEvent, Revision

# Moves a curator may make through the API; an import may set any state it is given.
MOVES: dict[str, tuple[str, ...]] = {
    "draft": ("in_review",),
    "in_review": ("draft", "published"),
    "published": ("withdrawn",),
    "withdrawn": ("draft", "in_review"),
}


def may_move(from_state: str | None, to_state: str) -> bool:
    """Whether a curator may move a guide from one review state to another."""
    return to_state in MOVES.get(from_state or "draft", ())


def visibility_for(state: str) -> str:
    return "public" if state == "published" else "draft"


async def record_event(
    entry: Entry, from_state: str | None, to_state: str, actor: Actor, note: str, now: datetime
) -> ReviewEvent:
    state_changed()  # a review decision changes what readers see: no tag from before
    return await ReviewEvent.create(
        entry_id=entry.id,
        version=entry.version,
        from_state=from_state,
        to_state=to_state,
        actor=actor.label,
        person_id=actor.person_id,
        note=note[:500],
        created_at=now,
    )


async def set_review_state(
    catalogue: Catalogue,
    actor: Actor,
    uid: str,
    to_state: str,
    *,
    note: str = "",
    expected_version: int | None = None,
    check_move: bool = True,
) -> Entry:
    """Move a guide of the actor's organisation to another review state (scope curate)."""
    publisher = require(actor, "curate")
    if to_state not in REVIEW_STATES:
        raise InvalidInputError(
            f"review state must be one of {', '.join(REVIEW_STATES)}, not {to_state!r}"
        )
    entry = await Entry.get_or_none(uid=parse_uid(uid))
    if entry is None or entry.kind != "guide" or entry.origin_node != catalogue.node_url:
        raise NotFoundError(f"no guide of this node with id {uid}")
    owner = await publisher_of_entry(entry)
    if (owner.kind, owner.id) != (publisher.kind, publisher.id):
        raise PermissionDeniedError(f"guide {uid} belongs to {owner.name}, not to {publisher.name}")
    from_state = entry.review_state or "published"
    if from_state == to_state:
        raise ConflictError(f"guide {uid} is already {to_state}")
    if check_move and not may_move(from_state, to_state):
        allowed = ", ".join(MOVES.get(from_state, ())) or "nothing"
        raise ConflictError(f"a {from_state} guide can move to {allowed}, not to {to_state}")
    writer = Actor(publisher=publisher, scopes=frozenset({"publish"}), token_id=actor.token_id,
                   person_id=actor.person_id, person_name=actor.person_name)
    data = EntryInput(review_state=to_state, visibility=visibility_for(to_state))
    version = entry.version if expected_version is None else expected_version
    entry = await catalogue.revise(
        writer, uid, version, data, note=f"review: {from_state} -> {to_state}"
    )
    await record_event(entry, from_state, to_state, actor, note, catalogue.clock())
    return entry


async def review_history(entry: Entry) -> list[ReviewEvent]:
    return list(await ReviewEvent.filter(entry_id=entry.id).order_by("created_at", "id"))


# -- diffs ---------------------------------------------------------------------


def envelope_markdown(envelope: dict[str, Any]) -> str:
    """One version of an entry as one Markdown text: title, summary, checklist, body."""
    body = envelope.get("entry") or {}
    parts = [f"# {body.get('title', '')}", "", str(body.get("summary") or ""), ""]
    checklist = body.get("checklist") or []
    if checklist:
        parts += ["Checklist:", *[f"- [ ] {item}" for item in checklist], ""]
    parts.append(str(body.get("body_markdown") or ""))
    return "\n".join(parts)


def unified_diff(old: dict[str, Any], new: dict[str, Any], *, context: int = 3) -> str:
    """A unified diff of the Markdown of two envelopes ('' when equal)."""
    a = envelope_markdown(old).splitlines(keepends=True)
    b = envelope_markdown(new).splitlines(keepends=True)
    lines = difflib.unified_diff(
        a,
        b,
        fromfile=f"version {old.get('version')}",
        tofile=f"version {new.get('version')}",
        n=context,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True)
class VersionDiff:
    from_version: int
    to_version: int
    diff: str
    added: int
    removed: int


async def diff_versions(
    entry: Entry, from_version: int, to_version: int, actor: Actor | None
) -> VersionDiff:
    """The diff between two stored versions of an entry, both visible to the actor
    (each judged by the visibility it was stored with; a hidden one is as unknown)."""
    stored = await Revision.filter(entry_id=entry.id, version__in=[from_version, to_version])
    rows = {r.version: r for r in visible_revisions(entry, stored, actor)}
    for version in (from_version, to_version):
        if version not in rows:
            raise NotFoundError(f"entry {entry.uid} has no stored version {version}")
    text = unified_diff(rows[from_version].envelope, rows[to_version].envelope)
    body = [line for line in text.splitlines() if not line.startswith(("+++", "---"))]
    return VersionDiff(
        from_version,
        to_version,
        text,
        added=sum(1 for line in body if line.startswith("+")),
        removed=sum(1 for line in body if line.startswith("-")),
    )


# -- checklist progress (local) ---------------------------------------------------


@dataclass(frozen=True)
class ChecklistItemState:
    index: int
    text: str
    done: bool
    updated_at: datetime | None
    updated_by: str


async def checklist_state(municipality_id: int, entry: Entry) -> list[ChecklistItemState]:
    """The checklist of a guide with one municipality's progress through it."""
    rows = {
        p.item_index: p
        for p in await ChecklistProgress.filter(
            municipality_id=municipality_id, guide_uid=entry.uid
        )
    }
    items = []
    for index, text in enumerate(entry.checklist or []):
        row = rows.get(index)
        items.append(
            ChecklistItemState(
                index,
                str(text),
                bool(row and row.done),
                row.updated_at if row else None,
                row.updated_by if row else "",
            )
        )
    return items


async def set_checklist_item(
    actor: Actor, entry: Entry, index: int, done: bool, now: datetime
) -> list[ChecklistItemState]:
    """Tick or untick one item for the actor's municipality; never federated."""
    publisher = require(actor, "publish")
    if publisher.kind != "municipality":
        raise PermissionDeniedError(
            "checklist progress belongs to a municipality; use a municipality token"
        )
    if entry.kind != "guide" or entry.deleted:
        raise InvalidInputError(f"entry {entry.uid} is not a guide with a checklist")
    if not 0 <= index < len(entry.checklist or []):
        raise InvalidInputError(
            f"the checklist has {len(entry.checklist or [])} items; there is no item {index}"
        )
    row = await ChecklistProgress.get_or_none(
        municipality_id=publisher.id, guide_uid=entry.uid, item_index=index
    )
    if row is None:
        await ChecklistProgress.create(
            municipality_id=publisher.id,
            guide_uid=entry.uid,
            item_index=index,
            done=done,
            updated_by=actor.label,
            updated_at=now,
        )
    else:
        await ChecklistProgress.filter(id=row.id).update(
            done=done, updated_by=actor.label, updated_at=now
        )
    return await checklist_state(publisher.id, entry)
