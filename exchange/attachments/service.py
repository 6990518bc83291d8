"""Adding, listing, removing and finding attachments: the service the faces call.

`Attachments.add` checks who may write the entry before reading a byte,
receives the upload into the store's workdir within the limits (the file's,
and what is left of the entry's), checks the file in a worker thread
(`checks.inspect_file`), and only then moves the file under its digest and
writes the rows. Whatever fails on the way (a refused file, an interrupted
upload, a full entry) removes the temporary files: nothing is half-stored.
A blob is deleted when the last attachment that uses it goes.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tortoise.transactions import in_transaction

from content import forbidden_character
from exchange.access import may_see
from exchange.attachments import index, received
from exchange.attachments.checks import inspect_file
from exchange.attachments.kinds import IMAGES, FileTooLargeError, Inspected, Limits, extension
from exchange.attachments.models import Attachment, AttachmentBlob
from exchange.attachments.store import BlobStore, Incoming, is_digest, sha256_of
from exchange.auth import Actor, require
from exchange.catalogue import parse_uid, publisher_of_entry
from exchange.errors import ConflictError, InvalidInputError, NotFoundError
from exchange.models import LANGUAGES, Entry


class AttachmentInputError(InvalidInputError):
    """Bad words about a file; `reason` names which ("title", "alt_text", "text"), for a page to
    say it in its reader's language."""

    def __init__(self, message: str, reason: str = "text") -> None:
        super().__init__(message)
        self.reason = reason


class Restamper(Protocol):
    """What stores a new version of an entry when its list of files changed (the catalogue)."""

    async def restamp(self, actor: Actor, uid: str, note: str) -> Entry: ...


@dataclass(frozen=True)
class AttachmentInput:
    """What the uploader says about a file; the type comes from its bytes."""

    title: str
    description: str = ""
    license: str = ""  # empty: the entry's
    language: str = ""  # empty: the entry's
    filename: str = ""


def safe_filename(name: str, fallback: str, extension: str) -> str:
    """A file name for Content-Disposition: the uploader's stem, plain characters, our extension."""
    stem = Path(unicodedata.normalize("NFC", name.replace("\\", "/")).rsplit("/", 1)[-1]).stem
    stem = re.sub(r"[^\w\- .()äöüÄÖÜß]", "_", stem).strip(" ._")[:100] or fallback
    return stem + extension


class Attachments:
    """The attachments of this node's entries, over one blob store."""

    def __init__(self, store: BlobStore, limits: Limits, node_url: str,
                 catalogue: Restamper | None = None) -> None:
        self.store = store
        self.limits = limits
        self.node_url = node_url
        self.catalogue = catalogue  # None: no new version when files change (tests of the files alone)

    async def writable_entry(self, actor: Actor, uid: str) -> Entry:
        """The entry, if the actor may change its attachments (its publisher's writers, this node's
        entries only); raises NotFoundError, UnauthenticatedError or PermissionDeniedError."""
        entry = await Entry.get_or_none(uid=parse_uid(uid))
        if entry is None or entry.deleted or not may_see(entry, actor):
            raise NotFoundError(f"no entry with id {uid}")
        require(actor, "publish", await publisher_of_entry(entry))
        if entry.origin_node != self.node_url:
            raise InvalidInputError("this entry was written on another node; its files are changed there")
        return entry

    async def add(self, actor: Actor, uid: str, data: AttachmentInput, chunks: AsyncIterable[bytes],
                  *, now: datetime | None = None) -> Attachment:
        entry = await self.writable_entry(actor, uid)
        _check_texts(data)
        used = sum(a.size for a in await Attachment.filter(entry_id=entry.id).only("id", "size"))
        left = self.limits.entry_bytes - used
        if left <= 0:
            raise FileTooLargeError(f"the entry's files take {used:,} bytes already, "
                                    f"its limit of {self.limits.entry_bytes:,}")
        limit = min(self.limits.file_bytes, left)
        message = (f"the file is larger than {self.limits.file_bytes:,} bytes, the limit of one file"
                   if limit == self.limits.file_bytes else
                   f"the file does not fit: the entry's files may take {self.limits.entry_bytes:,} bytes "
                   f"in all, and {left:,} are left")
        incoming = Incoming(self.store.workdir, limit, message)
        checked: Inspected | None = None
        try:
            async for chunk in chunks:
                incoming.write(chunk)
            digest = incoming.finish()
            checked = await asyncio.to_thread(inspect_file, incoming.path, self.store.workdir, self.limits)
            if checked.path != incoming.path:  # re-encoded: the stored bytes are the new ones
                digest = await asyncio.to_thread(sha256_of, checked.path)
            size = checked.path.stat().st_size
            if checked.media_type in IMAGES and not data.description.strip():
                raise AttachmentInputError("an image needs a description (its alt text) for people who cannot see it",
                                           "alt_text")
            if used + size > self.limits.entry_bytes:
                raise FileTooLargeError(message)
            added = await self._keep(entry, actor, data, checked, digest, size, now or datetime.now(UTC))
        finally:
            incoming.discard()
            if checked is not None and checked.path != incoming.path:
                checked.path.unlink(missing_ok=True)
        await index.reindex(entry)
        if self.catalogue is not None:
            await self.catalogue.restamp(actor, uid, note=f"file added: {added.title}"[:500])
        return added

    async def _keep(self, entry: Entry, actor: Actor, data: AttachmentInput, checked: Inspected,
                    digest: str, size: int, now: datetime) -> Attachment:
        existing = await Attachment.get_or_none(entry_id=entry.id, digest=digest)
        if existing is not None:
            raise ConflictError(f"this file is attached to the entry already, as {existing.title!r}")
        if not await self.store.has(digest):
            await self.store.put(checked.path, digest)
        async with in_transaction():
            await AttachmentBlob.get_or_create(
                digest=digest, defaults={"size": size, "media_type": checked.media_type,
                                         "text": checked.text, "created_at": now})
            last = await Attachment.filter(entry_id=entry.id).order_by("-position").first()
            return await Attachment.create(
                entry_id=entry.id, digest=digest, size=size, media_type=checked.media_type,
                filename=safe_filename(data.filename, "attachment", extension(checked.media_type)),
                title=data.title.strip(), description=data.description.strip(),
                license=data.license.strip() or entry.license, language=data.language or entry.language,
                position=(last.position + 1) if last else 0, notes=checked.notes,
                person_id=actor.person_id, created_at=now)

    async def remove(self, actor: Actor, uid: str, digest: str) -> None:
        entry = await self.writable_entry(actor, uid)
        found = await Attachment.get_or_none(entry_id=entry.id, digest=digest) if is_digest(digest) else None
        if found is None:
            raise NotFoundError("the entry has no such file")
        await found.delete()
        await self.release([digest])
        await index.reindex(entry)
        if self.catalogue is not None:
            await self.catalogue.restamp(actor, uid, note=f"file removed: {found.title}"[:500])

    async def envelope_part(self, entry: Entry) -> dict[str, Any]:
        """The files an entry's envelope lists (never their bytes): nothing when it has none."""
        rows = await Attachment.filter(entry_id=entry.id).order_by("position", "id")
        if not rows:
            return {}
        return {"attachments": [envelope_item(a) for a in rows]}

    async def on_entry(self, entry: Entry) -> None:
        await self.on_entries([entry])

    async def on_entries(self, entries: Sequence[Entry]) -> None:
        """A listener of every write, local or received (a received page at once): a withdrawn
        entry's files go with its content, and their blobs with them where no other entry uses
        them; a received entry's files are listed as its envelope lists them (their bytes are
        fetched later). A few queries for all the entries, more only for those with files."""
        live = [e for e in entries if not e.deleted]
        arrived = [e for e in live if e.origin_node != self.node_url]
        for entry, gone in await received.list_files(arrived, self.limits):
            await self.release(gone)
            await index.reindex(entry)
        await index.after_writes(live)
        withdrawn = {e.id for e in entries if e.deleted}
        if withdrawn:
            digests = await Attachment.filter(entry_id__in=list(withdrawn)).values_list("digest", flat=True)
            if digests:
                await Attachment.filter(entry_id__in=list(withdrawn)).delete()
                await self.release([str(d) for d in digests])

    async def release(self, digests: Sequence[str]) -> int:
        """Delete the blobs of `digests` that no attachment uses any more; how many went."""
        gone = 0
        for digest in set(digests):
            if await Attachment.filter(digest=digest).exists():
                continue
            await AttachmentBlob.filter(digest=digest).delete()
            await self.store.delete(digest)
            gone += 1
        return gone

    async def downloadable(self, digest: str, actor: Actor | None) -> tuple[Attachment, Entry]:
        """An attachment with this digest of an entry the actor may see, held here; else NotFoundError."""
        if is_digest(digest):
            for found in await Attachment.filter(digest=digest, present=True).order_by("id"):
                entry = await Entry.get(id=found.entry_id)
                if not entry.deleted and may_see(entry, actor):
                    return found, entry
        raise NotFoundError("no such file")


def envelope_item(a: Attachment) -> dict[str, Any]:
    return {"digest": a.digest, "size": a.size, "mediaType": a.media_type, "title": a.title,
            "description": a.description, "license": a.license, "language": a.language,
            "filename": a.filename}


async def attachments_of(entry_ids: Sequence[int]) -> dict[int, list[Attachment]]:
    """The attachments of entries, each entry's in its order (one query)."""
    found: dict[int, list[Attachment]] = {i: [] for i in entry_ids}
    if entry_ids:
        for row in await Attachment.filter(entry_id__in=list(entry_ids)).order_by("position", "id"):
            found[row.entry_id].append(row)
    return found


def _check_texts(data: AttachmentInput) -> None:
    title = data.title.strip()
    if not title:
        raise AttachmentInputError("a file needs a title", "title")
    if len(title) > 300:
        raise AttachmentInputError("the title is longer than 300 characters")
    if len(data.description) > 2000:
        raise AttachmentInputError("the description is longer than 2,000 characters")
    if data.language and data.language not in LANGUAGES:
        raise AttachmentInputError(f"language must be one of {', '.join(LANGUAGES)}, not {data.language!r}")
    if len(data.license) > 40 or (data.license and not re.fullmatch(r"[A-Za-z0-9.+\-]+", data.license)):
        raise AttachmentInputError("licence must be an SPDX id such as CC-BY-4.0")
    for name in ("title", "description", "filename"):
        hit = forbidden_character(getattr(data, name))
        if hit is not None:
            raise AttachmentInputError(hit.message(name))

