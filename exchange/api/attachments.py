"""The `attachments` of an entry in GraphQL: what each file is and where to download it.

Files are uploaded over plain HTTP (`POST /api/entries/{id}/attachments`,
see the README), not through GraphQL; here they are read. One query per
request fetches the attachments of every entry asked for (a DataLoader).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info
from strawberry.dataloader import DataLoader

from exchange.attachments import Attachment as AttachmentRow
from exchange.attachments import attachments_of


@strawberry.type(description="A file of an entry: an evaluation report, a photo, a template. "
                 "Stored once by its SHA-256 digest; peers list it by digest and fetch the bytes.")
class Attachment:
    digest: str = strawberry.field(description="SHA-256 of the bytes, 64 lower-case hex digits.")
    size: int = strawberry.field(description="Size in bytes.")
    media_type: str = strawberry.field(description="Media type decided from the bytes, e.g. application/pdf.")
    title: str = strawberry.field(description="Title.")
    description: str = strawberry.field(description="What it holds; for an image its alt text.")
    license: str = strawberry.field(description="SPDX id of the licence.")
    language: str = strawberry.field(description="de or en.")
    filename: str = strawberry.field(description="A file name to save it under.")
    created_at: datetime = strawberry.field(description="When it was added.")
    received: bool = strawberry.field(
        description="False while this node has not yet received the bytes from the entry's origin.")
    download_url: str = strawberry.field(description="Where to download it (absolute URL).")

    @classmethod
    def from_model(cls, a: AttachmentRow, base_url: str) -> Attachment:
        return cls(digest=a.digest, size=a.size, media_type=a.media_type, title=a.title,
                   description=a.description, license=a.license, language=a.language,
                   filename=a.filename, created_at=a.created_at, received=a.present,
                   download_url=f"{base_url}/attachments/{a.digest}")


async def _attachments(ids: Sequence[int]) -> list[list[AttachmentRow]]:
    found = await attachments_of(list(ids))
    return [found.get(i, []) for i in ids]


async def attachments_for(info: Info, entry_id: int) -> list[Attachment]:
    """The attachments of one entry, batched per request."""
    loaders: Any = info.context.loaders
    loader = loaders.__dict__.get("attachments")
    if loader is None:
        loader = loaders.__dict__["attachments"] = DataLoader(load_fn=_attachments)
    base = info.context.services.extra["attachments"].node_url
    return [Attachment.from_model(a, base) for a in await loader.load(entry_id)]
