"""Files of entries received from peers: listed from the signed envelope, bytes fetched later.

An entry's envelope lists its files by digest, size, media type, title,
description, licence and language, never their bytes. `list_files` makes the
entry's attachment rows match that list (a file this node holds already is
present at once, one it lacks waits with `present` False: "file not yet
received"). `accept_blob` takes bytes a peer sent for a digest, after the
caller checked size and SHA-256 while they streamed: documents are checked
like an upload (their kind must be the one announced, their text is kept
for search), images are taken as they are (their digest is what the origin
signed; re-encoding would change it), and every row waiting for the digest
becomes present.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exchange.attachments.checks import inspect_file
from exchange.attachments.index import CHUNK, entries_with_files
from exchange.attachments.kinds import (
    IMAGES,
    KINDS,
    Limits,
    RefusedFileError,
    family,
    label,
    read_ends,
)
from exchange.attachments.models import Attachment, AttachmentBlob
from exchange.attachments.store import BlobStore, is_digest
from exchange.db import current_connection, dialect_of
from exchange.models import LANGUAGES, Entry, Revision

log = logging.getLogger("exchange.attachments")


def listed_files(envelope: dict[str, Any], limits: Limits) -> list[dict[str, Any]]:
    """The valid items of an envelope's `attachments` (others are skipped and logged)."""
    raw = envelope.get("entry", {}).get("attachments") or []
    if not isinstance(raw, list):
        return []
    items: list[dict[str, Any]] = []
    for item in raw[:200]:
        if not isinstance(item, dict):
            continue
        digest, size, media_type = item.get("digest"), item.get("size"), item.get("mediaType")
        if not (isinstance(digest, str) and is_digest(digest) and type(size) is int
                and 0 < size <= limits.file_bytes and media_type in KINDS):
            log.info("a received file is skipped: %r", {k: item.get(k) for k in ("digest", "size", "mediaType")})
            continue
        text = {name: str(item.get(name) or "")[:limit] for name, limit in
                (("title", 300), ("description", 2000), ("license", 40), ("filename", 200))}
        language = item.get("language") if item.get("language") in LANGUAGES else ""
        items.append({"digest": digest, "size": size, "media_type": media_type, "language": language, **text})
    return items


async def list_files(entries: Sequence[Entry], limits: Limits) -> list[tuple[Entry, list[str]]]:
    """Make each received entry's files those its current envelope lists. A few queries for
    all the entries (a page of a sync); only entries that have files, or whose envelope lists
    some, are worked on one by one. Returns (entry, digests dropped) for those."""
    ids = [e.id for e in entries]
    if not ids:
        return []
    had = await entries_with_files(ids)
    listing: set[tuple[int, int]] = set()
    for start in range(0, len(ids), CHUNK):
        listing.update(await _listing_files(ids[start:start + CHUNK]))
    changed: list[tuple[Entry, list[str]]] = []
    for entry in entries:
        if entry.id not in had and (entry.id, entry.version) not in listing:
            continue  # no files, none before: nothing to do
        wanted: list[dict[str, Any]] = []
        if (entry.id, entry.version) in listing:
            revision = await Revision.get_or_none(entry_id=entry.id, version=entry.version)
            wanted = listed_files(revision.envelope, limits) if revision is not None else []
        rows = {a.digest: a for a in await Attachment.filter(entry_id=entry.id)}
        if wanted or rows:
            changed.append((entry, await _match(entry, wanted, rows)))
    return changed


async def _listing_files(entry_ids: list[int]) -> set[tuple[int, int]]:
    """(entry id, version) of the revisions of these entries whose envelope has `attachments`
    (an entry without files has none: `Attachments.envelope_part`)."""
    if not entry_ids:
        return set()
    conn = current_connection()
    if dialect_of(conn) == "postgres":
        sql = ("SELECT entry_id, version FROM revision WHERE entry_id = ANY($1::int[]) "
               "AND envelope->'entry'->'attachments' IS NOT NULL")
        params: list[Any] = [entry_ids]
    else:
        sql = (f"SELECT entry_id, version FROM revision WHERE entry_id IN ({', '.join('?' * len(entry_ids))}) "
               "AND json_extract(envelope, '$.entry.attachments') IS NOT NULL")
        params = entry_ids
    _, rows = await conn.execute_query(sql, params)
    return {(int(row["entry_id"]), int(row["version"])) for row in rows}


async def _match(entry: Entry, wanted: list[dict[str, Any]], rows: dict[str, Attachment]) -> list[str]:
    """Make the entry's attachment rows `rows` those `wanted`; the digests dropped."""
    keep = {item["digest"] for item in wanted}
    gone = [digest for digest in rows if digest not in keep]
    if gone:
        await Attachment.filter(entry_id=entry.id, digest__in=gone).delete()
    now = datetime.now(UTC)
    for position, item in enumerate(wanted):
        values = {
            "size": item["size"], "media_type": item["media_type"], "title": item["title"] or label(item["media_type"]),
            "description": item["description"], "license": item["license"] or entry.license,
            "language": item["language"] or entry.language, "position": position,
            "filename": item["filename"] or f"attachment{KINDS[item['media_type']][0]}",
        }
        if item["digest"] in rows:
            await Attachment.filter(id=rows[item["digest"]].id).update(**values)
            continue
        held = await AttachmentBlob.filter(digest=item["digest"], size=item["size"]).exists()
        await Attachment.create(entry_id=entry.id, digest=item["digest"], present=held, notes=[],
                                created_at=now, **values)
    return gone


async def missing(limit: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, int, str]]:
    """(digest, size, media type) of files listed but not held, oldest first, but those in `exclude`."""
    query = Attachment.filter(present=False)
    if exclude:
        query = query.exclude(digest__in=sorted(exclude))
    rows = await query.order_by("id").limit(limit * 4).values_list("digest", "size", "media_type")
    seen: dict[str, tuple[str, int, str]] = {}
    for digest, size, media_type in rows:
        seen.setdefault(str(digest), (str(digest), int(size), str(media_type)))
    return list(seen.values())[:limit]


async def accept_blob(path: Path, digest: str, size: int, media_type: str, store: BlobStore,
                      limits: Limits) -> list[int]:
    """Keep checked bytes as blob `digest`; the ids of the entries whose files became present.
    Raises RefusedFileError when a document is not of the kind announced."""
    text = await check_blob(path, media_type, store, limits)
    return await keep_blob(path, digest, size, media_type, text, store)


async def check_blob(path: Path, media_type: str, store: BlobStore, limits: Limits) -> str:
    """Check received bytes against the kind the entry lists; their text for search.
    Raises RefusedFileError when they are not of that kind. Touches no table."""
    if media_type in IMAGES:
        head, _ = read_ends(path)
        if family(head) != media_type.removeprefix("image/"):
            raise RefusedFileError(f"the bytes are not a {label(media_type)} image, as the entry lists")
        return ""
    checked = await asyncio.to_thread(inspect_file, path, store.workdir, limits, rewrite=False)
    if checked.media_type != media_type:
        raise RefusedFileError(f"the bytes are a {label(checked.media_type)}, not the {label(media_type)} "
                               "the entry lists")
    return checked.text


async def keep_blob(path: Path, digest: str, size: int, media_type: str, text: str, store: BlobStore) -> list[int]:
    """Store checked bytes as blob `digest` and mark its rows present; the ids of the entries whose
    files became present (their search terms are the caller's to refresh)."""
    await store.put(path, digest)
    await AttachmentBlob.get_or_create(digest=digest, defaults={
        "size": size, "media_type": media_type, "text": text, "created_at": datetime.now(UTC)})
    entry_ids = [a.entry_id for a in await Attachment.filter(digest=digest, present=False).only("id", "entry_id")]
    await Attachment.filter(digest=digest).update(present=True)
    return entry_ids
