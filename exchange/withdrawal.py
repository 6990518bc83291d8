"""What a withdrawn entry keeps: its tombstone, nothing of its content.

Withdrawn content is gone, not hidden. When an entry is unpublished here, or
a peer's tombstone for it arrives, its row keeps only id, origin, version,
kind, visibility, publisher and the time of withdrawal (`updated_at`); its
texts, lists, contact and topics are emptied, it leaves the search index, and
every earlier stored version becomes a `revision_stub`: the version's id,
origin, number, visibility, time and kind, and the digest of the envelope it
replaced (so that a copy of our own earlier version that a peer relays back
is still known as ours), but no content and no signature. The feed serves no
unsigned revision. The tombstone itself is `bare_tombstone`: type, id,
origin, version, visibility, time, and in its body only kind and publisher.
Pure functions plus `purge`, which writes inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from exchange.envelope import canonical_json
from exchange.models import Entry, EntryTopic, PendingEnvelope, Revision
from exchange.search import index as search_index

__all__ = ["CONTENT_BLANK", "bare_tombstone", "is_bare", "is_stub", "purge", "revision_stub", "stub_revisions"]

# Every content column of an entry and what it holds once the entry is withdrawn.
CONTENT_BLANK: dict[str, Any] = {
    "title": "", "summary": "", "body_markdown": "", "body_html": "", "keywords": [],
    "contact_role": "", "contact_email": "", "contact_person": "", "status": None,
    "period_start": None, "period_end": None, "budget_eur": None, "budget_currency": "EUR",
    "funding_programme": "",
    "partners": [], "goals": [], "audience": "", "checklist": [], "review_state": None,
    "what_worked": "", "what_did_not": "", "transfer_preconditions": "", "costs_staffing": "",
    "project_uid": None, "links": [], "search_terms": "", "call": None,
}
_HEAD = ("type", "id", "origin", "version", "visibility", "updatedAt")


def bare_tombstone(envelope: dict[str, Any]) -> dict[str, Any]:
    """The tombstone of an envelope without any content: its body keeps kind and publisher."""
    body = envelope.get("entry") or {}
    kept: dict[str, Any] = {"kind": body.get("kind")}
    if isinstance(body.get("publisher"), dict):
        kept["publisher"] = body["publisher"]
    if body.get("withdrawn") is True:  # a withdrawal for non-members keeps its mark
        kept["withdrawn"] = True
    return {**{k: envelope.get(k) for k in _HEAD}, "type": "tombstone", "entry": kept}


def is_bare(envelope: dict[str, Any]) -> bool:
    return envelope.get("type") == "tombstone" and envelope == bare_tombstone(envelope)


def revision_stub(envelope: dict[str, Any]) -> dict[str, Any]:
    """What stays of an earlier version of a withdrawn entry (no content, not servable)."""
    if is_stub(envelope):
        return envelope
    body = envelope.get("entry") or {}
    return {**{k: envelope.get(k) for k in _HEAD}, "entry": {"kind": body.get("kind")},
            "purgedDigest": hashlib.sha256(canonical_json(envelope)).hexdigest()}


def is_stub(envelope: dict[str, Any]) -> bool:
    return "purgedDigest" in envelope


async def stub_revisions(entries: Iterable[tuple[int, int]]) -> None:
    """Turn the versions below each (entry id, tombstone version) into stubs."""
    for entry_id, version in entries:
        for rev in await Revision.filter(entry_id=entry_id, version__lt=version):
            if not is_stub(rev.envelope):
                await Revision.filter(id=rev.id).update(envelope=revision_stub(rev.envelope), signature="")


async def purge(entry: Entry) -> None:
    """Within the caller's transaction: empty a withdrawn entry's content everywhere this
    node holds it (row, topics, search index, earlier versions, envelopes held back)."""
    for name, value in CONTENT_BLANK.items():
        setattr(entry, name, list(value) if isinstance(value, list) else value)
    entry.deleted = True
    await entry.save()
    await EntryTopic.filter(entry_id=entry.id).delete()
    await search_index.update(entry)
    await stub_revisions([(entry.id, entry.version)])
    await PendingEnvelope.filter(entry_uid=str(entry.uid), version__lte=entry.version).delete()
