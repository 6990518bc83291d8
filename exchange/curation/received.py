"""Storing collections and endorsements that arrive from peers.

The federation sync verifies the origin's signature and then hands an
envelope whose `entry.kind` is collection or endorsement to `apply_received`
instead of the entry store. Inside the caller's transaction it stores the
version when it is newer than what this node holds (older and equal versions
are ignored, so applying a batch twice changes nothing), keeps the envelope
and signature as a `CurationRevision`, and numbers it in the change feed, so
relays pass it on. Anything of the wrong shape raises `CurationContentError`
with a reason, which the caller keeps as a pending envelope.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from exchange.changes import append_change
from exchange.curation.collections import MAX_ITEMS, MAX_NOTE, CurationContentError
from exchange.models import (
    Collection,
    CollectionItem,
    CurationRevision,
    Endorsement,
    Entry,
    Organisation,
)


def _uid(value: object, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise CurationContentError(f"{name} is not a UUID") from None


def _time(value: object, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise CurationContentError(f"{name} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise CurationContentError(f"{name} has no offset")
    return moment


def _text(body: dict[str, Any], key: str, most: int) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise CurationContentError(f"{key} must be a string")
    return value[:most]


async def _organisation(body: dict[str, Any], origin: str) -> Organisation:
    ref = body.get("publisher")
    if (
        not isinstance(ref, dict)
        or ref.get("type") != "organisation"
        or not isinstance(ref.get("key"), str)
    ):
        raise CurationContentError("a collection or endorsement names an organisation as publisher")
    slug, name = str(ref["key"])[:80], str(ref.get("name") or ref["key"])[:200]
    org = await Organisation.get_or_none(slug=slug)
    return org or await Organisation.create(slug=slug, name=name, origin_node=origin)


async def apply_received(envelope: dict[str, Any], signature: str) -> bool:
    """Store a verified collection or endorsement version; False when it is not newer."""
    body = envelope.get("entry")
    if not isinstance(body, dict) or body.get("kind") not in ("collection", "endorsement"):
        raise CurationContentError("not a collection or endorsement")
    kind = str(body["kind"])
    uid, origin, version = (
        _uid(envelope.get("id"), "id"),
        str(envelope.get("origin")),
        envelope.get("version"),
    )
    if type(version) is not int or version < 1:
        raise CurationContentError("version must be a positive integer")
    tombstone = envelope.get("type") == "tombstone"
    model: type[Collection | Endorsement] = Collection if kind == "collection" else Endorsement
    held = await model.get_or_none(uid=uid)
    if held is not None and held.origin_node != origin:
        raise CurationContentError(f"{kind} {uid} belongs to {held.origin_node}, not to {origin}")
    if held is not None and held.version >= version:
        return False
    if held is None and tombstone and "publisher" not in body:
        return False  # a withdrawn tombstone of something we never held
    updated = _time(envelope.get("updatedAt"), "updatedAt")
    fields: dict[str, Any] = {
        "version": version,
        "updated_at": updated,
        "deleted": tombstone,
        "visibility": str(envelope.get("visibility", "public"))[:8],
    }
    if held is None:
        org = await _organisation(body, origin)
        created = _time(body.get("createdAt", envelope.get("updatedAt")), "createdAt")
        fields.update(uid=uid, origin_node=origin, organisation_id=org.id, created_at=created)
    record: Collection | Endorsement
    if kind == "collection":
        record = await _collection(cast(Collection | None, held), body, fields, tombstone)
    else:
        record = await _endorsement(cast(Endorsement | None, held), body, fields, tombstone)
    await CurationRevision.filter(record_uid=uid, version=version).delete()
    await CurationRevision.create(
        record_uid=uid,
        kind=kind,
        version=version,
        envelope=envelope,
        signature=signature,
        author=origin,
        created_at=updated,
    )
    await append_change(cast(Entry, record))
    return True


async def _collection(
    held: Collection | None, body: dict[str, Any], fields: dict[str, Any], tombstone: bool
) -> Collection:
    items: list[tuple[uuid.UUID, str]] = []
    if not tombstone:
        raw = body.get("items", [])
        if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
            raise CurationContentError(f"items must be a list of at most {MAX_ITEMS}")
        for item in raw:
            if not isinstance(item, dict):
                raise CurationContentError("each item is an object with entry and note")
            items.append((_uid(item.get("entry"), "item entry"), _text(item, "note", MAX_NOTE)))
        fields.update(
            title=_text(body, "title", 300) or "(untitled)",
            summary=_text(body, "summary", 5000),
            language=_text(body, "language", 2) or "de",
        )
    if held is None:
        record = await Collection.create(**{"title": "", **fields})
    else:
        for name, value in fields.items():
            setattr(held, name, value)
        await held.save()
        record = held
    if not tombstone:
        await CollectionItem.filter(collection_id=record.id).delete()
        await CollectionItem.bulk_create(
            [
                CollectionItem(collection_id=record.id, position=n, entry_uid=u, note=note)
                for n, (u, note) in enumerate(items)
            ]
        )
    return record


async def _endorsement(
    held: Endorsement | None, body: dict[str, Any], fields: dict[str, Any], tombstone: bool
) -> Endorsement:
    if held is None:
        fields["entry_uid"] = _uid(body.get("target"), "target")
    if not tombstone:
        fields["note"] = _text(body, "note", MAX_NOTE)
    if held is None:
        other = await Endorsement.get_or_none(
            organisation_id=fields["organisation_id"], entry_uid=fields["entry_uid"]
        )
        if other is not None:
            raise CurationContentError(
                "this organisation already endorses that entry under another id"
            )
        return await Endorsement.create(**fields)
    for name, value in fields.items():
        setattr(held, name, value)
    await held.save()
    return held
