"""Collections and endorsements: what an organisation recommends, signed and federated.

A collection is an ordered, annotated list of entries from any node ("starter
kit: open data for towns under 5,000 inhabitants"); an endorsement is an
organisation vouching for one entry, own or another node's, with a short
note. Both belong to the node where they were made, are versioned, and every
version is a signed envelope in the same shape as an entry's (`type` entry or
tombstone, `entry.kind` collection or endorsement), stored as a
`CurationRevision` and numbered in the change feed like an entry version, so
they travel through the same feed. `apply_received` stores such an envelope
from a peer (already verified by the caller): newer versions win, older and
equal ones are ignored. The optional `collections.yaml` of a guide bundle is
parsed here (`read_collections`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import yaml
from tortoise.transactions import in_transaction

from content import forbidden_character
from exchange.access import may_see
from exchange.auth import Actor, require
from exchange.catalogue import Catalogue, parse_uid
from exchange.changes import append_change
from exchange.envelope import canonical_json
from exchange.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from exchange.models import (
    COLLECTION_KINDS,
    LANGUAGES,
    Collection,
    CollectionItem,
    CurationRevision,
    Endorsement,
    Entry,
    Organisation,
)

CURATION_NAMESPACE = uuid.UUID("5c0e2a8e-7d1b-4e3f-9c64-0a9b8d7e6f51")
MAX_ITEMS = 200
MAX_NOTE = 500
MANIFEST = "collections.yaml"


class CurationContentError(ValueError):
    """A received collection or endorsement envelope that this node cannot store."""


@dataclass(frozen=True)
class ItemSpec:
    guide: str | None
    entry: uuid.UUID | None
    note: str


@dataclass(frozen=True)
class CollectionSpec:
    slug: str
    title: str
    summary: str
    language: str
    items: list[ItemSpec] = field(default_factory=list)


def collection_uid(node_url: str, organisation: str, slug: str) -> uuid.UUID:
    return uuid.uuid5(CURATION_NAMESPACE, f"{node_url}|{organisation}|collection|{slug}")


def endorsement_uid(node_url: str, organisation: str, entry_uid: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(CURATION_NAMESPACE, f"{node_url}|{organisation}|endorsement|{entry_uid}")


def is_curation_envelope(envelope: dict[str, Any]) -> bool:
    """Whether a feed envelope carries a collection or endorsement (not an entry)."""
    body = envelope.get("entry")
    return isinstance(body, dict) and body.get("kind") in COLLECTION_KINDS


# -- the bundle manifest (pure) -------------------------------------------------


def parse_collections(text: str) -> tuple[list[CollectionSpec], list[str]]:
    """Collections of a `collections.yaml`, or the problems found (with line where known)."""
    errors: list[str] = []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{MANIFEST}:{mark.line + 1}" if mark is not None else MANIFEST
        return [], [f"{where}: malformed YAML: {getattr(exc, 'problem', exc)}"]
    if data is None:
        return [], []
    if not isinstance(data, list):
        return [], [f"{MANIFEST}: must be a list of collections"]
    specs: list[CollectionSpec] = []
    seen: set[str] = set()
    for n, raw in enumerate(data, 1):
        where = f"{MANIFEST}: collection {n}"
        if not isinstance(raw, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        unknown = sorted(set(map(str, raw)) - {"id", "title", "summary", "language", "items"})
        if unknown:
            errors.append(f"{where}: unknown key(s) {', '.join(unknown)}")
        slug, title = raw.get("id"), raw.get("title")
        if not isinstance(slug, str) or not slug.strip() or slug in seen:
            errors.append(f"{where}: needs a unique text id")
            continue
        seen.add(slug)
        if not isinstance(title, str) or not title.strip() or len(title) > 300:
            errors.append(f"{where}: needs a title of 1 to 300 characters")
        summary, language = raw.get("summary") or "", raw.get("language") or "de"
        if not isinstance(summary, str) or language not in LANGUAGES:
            errors.append(
                f"{where}: summary must be text and language one of {', '.join(LANGUAGES)}"
            )
        items: list[ItemSpec] = []
        raw_items = raw.get("items") or []
        if not isinstance(raw_items, list) or len(raw_items) > MAX_ITEMS:
            errors.append(f"{where}: items must be a list of at most {MAX_ITEMS}")
            raw_items = []
        for m, item in enumerate(raw_items, 1):
            note = item.get("note", "") if isinstance(item, dict) else None
            guide = item.get("guide") if isinstance(item, dict) else None
            entry = item.get("entry") if isinstance(item, dict) else None
            if (
                not isinstance(note, str)
                or len(note) > MAX_NOTE
                or (guide is None) == (entry is None)
            ):
                errors.append(
                    f"{where}, item {m}: needs either guide or entry, and a note of at most {MAX_NOTE} characters"
                )
                continue
            try:
                items.append(
                    ItemSpec(
                        str(guide) if guide else None,
                        parse_uid(str(entry)) if entry else None,
                        note,
                    )
                )
            except InvalidInputError as exc:
                errors.append(f"{where}, item {m}: {exc.message}")
        specs.append(
            CollectionSpec(
                slug, str(title or "").strip(), str(summary).strip(), str(language), items
            )
        )
    return specs, errors


def read_collections(root: Path) -> tuple[list[CollectionSpec], list[str]]:
    path = root / MANIFEST
    if not path.is_file():
        return [], []
    try:
        return parse_collections(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return [], [f"{MANIFEST}: file is not valid UTF-8"]


# -- envelopes --------------------------------------------------------------------


def _publisher(org: Organisation) -> dict[str, str]:
    return {"type": "organisation", "key": org.slug, "name": org.name}


def collection_envelope(
    c: Collection, org: Organisation, items: list[CollectionItem]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "collection",
        "publisher": _publisher(org),
        "createdAt": c.created_at.isoformat(),
    }
    if not c.deleted:
        body.update(
            title=c.title,
            summary=c.summary,
            language=c.language,
            items=[{"entry": str(i.entry_uid), "note": i.note} for i in items],
        )
    return _envelope(c, body)


def endorsement_envelope(e: Endorsement, org: Organisation) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "endorsement",
        "publisher": _publisher(org),
        "createdAt": e.created_at.isoformat(),
        "target": str(e.entry_uid),
    }
    if not e.deleted:
        body["note"] = e.note
    return _envelope(e, body)


def _envelope(record: Collection | Endorsement, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tombstone" if record.deleted else "entry",
        "id": str(record.uid),
        "origin": record.origin_node,
        "version": record.version,
        "visibility": record.visibility,
        "updatedAt": record.updated_at.isoformat(),
        "entry": body,
    }


async def _store(
    catalogue: Catalogue | None,
    record: Collection | Endorsement,
    envelope: dict[str, Any],
    signature: str | None,
    author: str,
    person_id: int | None = None,
) -> None:
    """Within the caller's transaction: the signed revision and the change-feed row."""
    if signature is None:
        assert catalogue is not None
        signature = catalogue.signer.sign(canonical_json(envelope))
    await CurationRevision.filter(record_uid=record.uid, version=record.version).delete()
    await CurationRevision.create(
        record_uid=record.uid,
        kind=envelope["entry"]["kind"],
        version=record.version,
        envelope=envelope,
        signature=signature,
        author=author,
        person_id=person_id,
        created_at=record.updated_at,
    )
    await append_change(
        cast(Entry, record)
    )  # uses uid, version, origin_node, visibility, updated_at


def _curator(actor: Actor) -> int:
    publisher = require(actor, "curate")
    if publisher.kind != "organisation":
        raise PermissionDeniedError("collections and endorsements are made by organisations")
    return publisher.id


# -- collections --------------------------------------------------------------------


async def put_collection(
    catalogue: Catalogue,
    actor: Actor,
    *,
    uid: uuid.UUID,
    title: str,
    summary: str,
    language: str,
    items: list[tuple[uuid.UUID, str]],
    now: datetime | None = None,
) -> Collection:
    """Create or change a collection of the actor's organisation; unchanged content stores nothing."""
    org = await Organisation.get(id=_curator(actor))
    title, summary = title.strip(), summary.strip()
    for name, value in (("title", title), ("summary", summary), ("items", [n for _, n in items])):
        _check_characters(name, value)
    if not title or len(title) > 300:
        raise InvalidInputError("a collection needs a title of 1 to 300 characters")
    if (
        language not in LANGUAGES
        or len(items) > MAX_ITEMS
        or any(len(n) > MAX_NOTE for _, n in items)
    ):
        raise InvalidInputError(
            f"language must be de or en; at most {MAX_ITEMS} items with notes up to {MAX_NOTE} characters"
        )
    moment = now or catalogue.clock()
    async with in_transaction():
        c = await Collection.get_or_none(uid=uid)
        if c is not None and (c.origin_node != catalogue.node_url or c.organisation_id != org.id):  # type: ignore[attr-defined]
            raise PermissionDeniedError(f"collection {uid} belongs to someone else")
        if c is not None and not c.deleted:
            old = [
                (i.entry_uid, i.note)
                for i in await CollectionItem.filter(collection_id=c.id).order_by("position")
            ]
            if (c.title, c.summary, c.language, old) == (title, summary, language, items):
                return c
        if c is None:
            c = await Collection.create(
                uid=uid,
                origin_node=catalogue.node_url,
                organisation_id=org.id,
                title=title,
                summary=summary,
                language=language,
                created_at=moment,
                updated_at=moment,
            )
        else:
            c.version, c.title, c.summary, c.language = c.version + 1, title, summary, language
            c.deleted, c.updated_at = False, moment
            await c.save()
        rows = await _replace_items(c, items)
        await _store(catalogue, c, collection_envelope(c, org, rows), None, actor.label, actor.person_id)
    return c


async def _replace_items(c: Collection, items: list[tuple[uuid.UUID, str]]) -> list[CollectionItem]:
    await CollectionItem.filter(collection_id=c.id).delete()
    rows = [
        CollectionItem(collection_id=c.id, position=n, entry_uid=u, note=note)
        for n, (u, note) in enumerate(items)
    ]
    if rows:
        await CollectionItem.bulk_create(rows)
    return rows


async def save_collection(
    catalogue: Catalogue,
    actor: Actor,
    spec: CollectionSpec,
    resolve: dict[str, uuid.UUID],
    *,
    now: datetime,
) -> Collection:
    """Store a collection of a bundle manifest (guide ids resolved to entry ids)."""
    org = await Organisation.get(id=_curator(actor))
    items = [
        (resolve[i.guide] if i.guide else cast(uuid.UUID, i.entry), i.note) for i in spec.items
    ]
    return await put_collection(
        catalogue,
        actor,
        uid=collection_uid(catalogue.node_url, org.slug, spec.slug),
        title=spec.title,
        summary=spec.summary,
        language=spec.language,
        items=items,
        now=now,
    )


async def delete_collection(catalogue: Catalogue, actor: Actor, uid: uuid.UUID) -> Collection:
    org_id = _curator(actor)
    async with in_transaction():
        c = await Collection.get_or_none(
            uid=uid, origin_node=catalogue.node_url, organisation_id=org_id, deleted=False
        )
        if c is None:
            raise NotFoundError(f"no collection {uid} of yours")
        c.version, c.deleted, c.updated_at = c.version + 1, True, catalogue.clock()
        await c.save()
        org = await Organisation.get(id=org_id)
        await _store(catalogue, c, collection_envelope(c, org, []), None, actor.label, actor.person_id)
    return c


async def collection_entries(
    c: Collection, actor: Actor | None
) -> list[tuple[CollectionItem, Entry | None]]:
    """The items in order, each with the entry when this node holds it and the actor may see it."""
    items = list(await CollectionItem.filter(collection_id=c.id).order_by("position"))
    found = {
        e.uid: e for e in await Entry.filter(uid__in=[i.entry_uid for i in items], deleted=False)
    }
    return [
        (i, e if e is not None and may_see(e, actor) else None)
        for i in items
        for e in [found.get(i.entry_uid)]
    ]


def _check_characters(name: str, value: object) -> None:
    hit = forbidden_character(value)
    if hit is not None:
        raise InvalidInputError(hit.message(name))


# -- endorsements -------------------------------------------------------------------


async def endorse(catalogue: Catalogue, actor: Actor, entry_uid: str, note: str) -> Endorsement:
    """The actor's organisation endorses an entry this node holds (its own or received)."""
    org = await Organisation.get(id=_curator(actor))
    note = note.strip()
    _check_characters("note", note)
    if len(note) > MAX_NOTE:
        raise InvalidInputError(f"the note is {len(note)} characters long; at most {MAX_NOTE}")
    entry = await Entry.get_or_none(uid=parse_uid(entry_uid), deleted=False)
    if entry is None or entry.visibility not in ("public", "network"):
        raise NotFoundError(f"no shared entry with id {entry_uid} on this node")
    uid = endorsement_uid(catalogue.node_url, org.slug, entry.uid)
    now = catalogue.clock()
    async with in_transaction():
        e = await Endorsement.get_or_none(uid=uid)
        if e is not None and not e.deleted and e.note == note:
            return e
        if e is None:
            e = await Endorsement.create(
                uid=uid,
                origin_node=catalogue.node_url,
                organisation_id=org.id,
                entry_uid=entry.uid,
                note=note,
                created_at=now,
                updated_at=now,
            )
        else:
            e.version, e.note, e.deleted, e.updated_at = e.version + 1, note, False, now
            await e.save()
        await _store(catalogue, e, endorsement_envelope(e, org), None, actor.label, actor.person_id)
    return e


async def withdraw_endorsement(catalogue: Catalogue, actor: Actor, entry_uid: str) -> Endorsement:
    org = await Organisation.get(id=_curator(actor))
    uid = endorsement_uid(catalogue.node_url, org.slug, parse_uid(entry_uid))
    async with in_transaction():
        e = await Endorsement.get_or_none(uid=uid, deleted=False)
        if e is None:
            raise NotFoundError(f"{org.name} does not endorse entry {entry_uid}")
        e.version, e.deleted, e.updated_at = e.version + 1, True, catalogue.clock()
        await e.save()
        await _store(catalogue, e, endorsement_envelope(e, org), None, actor.label, actor.person_id)
    return e


async def endorsements_of(entry_uids: list[uuid.UUID]) -> dict[uuid.UUID, list[Endorsement]]:
    found: dict[uuid.UUID, list[Endorsement]] = {u: [] for u in entry_uids}
    rows = (
        await Endorsement.filter(entry_uid__in=entry_uids, deleted=False)
        .prefetch_related("organisation")
        .order_by("created_at")
    )
    for row in rows:
        found.setdefault(row.entry_uid, []).append(row)
    return found
