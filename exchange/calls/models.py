"""The tables of calls for partners that are not the call itself (which is an `Entry` of kind
"call" with its terms in `Entry.call`).

An `Answer` is one publisher's reply to a call: owned and signed by the answering
node, it travels only to the call's origin node (visibility "addressed").
A `Refusal` is an answer this node would not store, with the reason, for the
operator. A `Subscription` is a person's saved search for new calls; it stays
on this node and is never federated.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

ANSWER_STATES = ("active", "withdrawn")


class Answer(Model):
    """An answer to a call: stored by the node that wrote it and by the call's origin node only."""

    id = fields.IntField(primary_key=True)
    uid = fields.UUIDField(unique=True)
    call_uid = fields.UUIDField()
    origin_node = fields.CharField(max_length=300)  # the answering node, which signs it
    addressee = fields.CharField(max_length=300)  # the call's origin node, the only one it goes to
    version = fields.IntField(default=1)
    publisher_kind = fields.CharField(max_length=16)
    publisher_key = fields.CharField(max_length=80)
    publisher_name = fields.CharField(max_length=200, default="")
    message = fields.TextField(default="")
    contact_role = fields.CharField(max_length=200, default="")
    state = fields.CharField(max_length=10, default="active")
    envelope: fields.JSONField[dict[str, Any]] = fields.JSONField()
    signature = fields.CharField(max_length=200, default="")
    person_id = fields.IntField(null=True)  # who wrote it, locally; never in the envelope
    confirmed_version = fields.IntField(default=0)  # the newest version the addressee pulled
    attempts = fields.IntField(default=0)
    next_attempt = fields.DatetimeField(null=True)
    seen = fields.BooleanField(default=False)  # the call's owner opened it
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "call_answer"
        indexes = (Index(fields=("call_uid",)), Index(fields=("addressee", "confirmed_version")))


class Refusal(Model):
    """An answer this node refused, and why (shown to the operator)."""

    id = fields.IntField(primary_key=True)
    peer_url = fields.CharField(max_length=300)
    answer_uid = fields.CharField(max_length=200, default="")
    reason = fields.CharField(max_length=500)
    created_at = fields.DatetimeField()

    class Meta:
        table = "call_refusal"


class Subscription(Model):
    """A person's saved search for new calls (topics and a region). Local, never federated."""

    id = fields.IntField(primary_key=True)
    person_id = fields.IntField()
    email = fields.CharField(max_length=200, default="")
    topics: fields.JSONField[list[str]] = fields.JSONField(default=list)
    centre_key = fields.CharField(max_length=12, default="")  # a municipality's official key
    radius_km = fields.IntField(null=True)
    frequency = fields.CharField(max_length=8, default="weekly")  # daily | weekly
    language = fields.CharField(max_length=2, default="de")
    feed_token_hash = fields.CharField(max_length=64, unique=True)
    last_sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "call_subscription"
        indexes = (Index(fields=("person_id",)),)
