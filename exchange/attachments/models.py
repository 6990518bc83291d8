"""The tables of attachments: the files an entry carries, and the stored blobs.

A blob is stored once by its SHA-256 digest however many entries use it
(`AttachmentBlob`); an `Attachment` is one entry's use of a digest with its
title, description, licence and language. An attachment listed by a peer's
entry whose bytes have not arrived yet has `present` False and no blob row.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from exchange.models import Entry


class AttachmentBlob(Model):
    """Stored bytes, by digest: what the store holds, and the text found in them for search."""

    digest = fields.CharField(max_length=64, primary_key=True)
    size = fields.BigIntField()
    media_type = fields.CharField(max_length=100)
    text = fields.TextField(default="")  # extracted from PDFs and office documents, for search
    created_at = fields.DatetimeField()

    class Meta:
        table = "attachment_blob"


class Attachment(Model):
    """A file of an entry: a digest with what people need to know about it."""

    id = fields.IntField(primary_key=True)
    entry: fields.ForeignKeyRelation[Entry] = fields.ForeignKeyField(
        "models.Entry", related_name="attachments", on_delete=fields.CASCADE
    )
    entry_id: int
    digest = fields.CharField(max_length=64)
    size = fields.BigIntField()
    media_type = fields.CharField(max_length=100)
    filename = fields.CharField(max_length=200)
    title = fields.CharField(max_length=300)
    description = fields.TextField(default="")  # the alt text of an image
    license = fields.CharField(max_length=40)
    language = fields.CharField(max_length=2)
    position = fields.IntField(default=0)
    present = fields.BooleanField(default=True)  # False: announced by a peer, bytes not received yet
    notes: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)  # what was found and removed
    person_id = fields.IntField(null=True)  # who added it, locally; never federated
    created_at = fields.DatetimeField()

    class Meta:
        table = "attachment"
        unique_together = (("entry", "digest"),)
        indexes = (Index(fields=("digest",)),)
