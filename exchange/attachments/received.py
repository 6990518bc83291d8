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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exchange.attachments.checks import inspect_file
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


async def list_files(entry: Entry, store: BlobStore, limits: Limits) -> list[str] | None:
    """Make a received entry's files those its current envelope lists; the digests dropped,
    or None when the entry has no files and had none (nothing changed)."""
    revision = await Revision.get_or_none(entry_id=entry.id, version=entry.version)
    wanted = listed_files(revision.envelope, limits) if revision is not None else []
    rows = {a.digest: a for a in await Attachment.filter(entry_id=entry.id)}
    if not wanted and not rows:
        return None
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
    text = ""
    if media_type in IMAGES:
        head, _ = read_ends(path)
        if family(head) != media_type.removeprefix("image/"):
            raise RefusedFileError(f"the bytes are not a {label(media_type)} image, as the entry lists")
    else:
        checked = await asyncio.to_thread(inspect_file, path, store.workdir, limits)
        if checked.media_type != media_type:
            raise RefusedFileError(f"the bytes are a {label(checked.media_type)}, not the {label(media_type)} "
                                   "the entry lists")
        text = checked.text
    await store.put(path, digest)
    await AttachmentBlob.get_or_create(digest=digest, defaults={
        "size": size, "media_type": media_type, "text": text, "created_at": datetime.now(UTC)})
    entry_ids = [a.entry_id for a in await Attachment.filter(digest=digest, present=False).only("id", "entry_id")]
    await Attachment.filter(digest=digest).update(present=True)
    return entry_ids
