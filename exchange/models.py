"""The catalogue's tables: municipalities, organisations, topics, entries.

An entry has a global id (`uid`, a UUID chosen by its origin node) and an
internal integer `id` used for keyset pagination and the full-text index.
Every stored version is kept as a revision holding the signed envelope; the
change feed (`Change`) numbers every stored version, local or received, in
commit order.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

# Entry kinds, visibilities, statuses and review states as stored (lower case).
ENTRY_KINDS = ("project", "guide", "lesson", "call")
VISIBILITIES = ("public", "network", "local", "draft")
PROJECT_STATUSES = ("planned", "running", "completed", "stopped")
REVIEW_STATES = ("draft", "in_review", "published", "withdrawn")
LANGUAGES = ("de", "en")


class Municipality(Model):
    """A Gemeinde or a Kreis of an official register, keyed by (scheme, official key)."""

    id = fields.IntField(primary_key=True)
    scheme = fields.CharField(max_length=16, default="de-ars")
    official_key = fields.CharField(max_length=12)
    ags = fields.CharField(max_length=8, null=True)
    level = fields.CharField(max_length=8, default="gemeinde")  # gemeinde | kreis
    name = fields.CharField(max_length=120)
    type_code = fields.CharField(max_length=2, default="")
    type_label = fields.CharField(max_length=60, default="")
    land_code = fields.CharField(max_length=2, default="")
    land_name = fields.CharField(max_length=60, default="")
    kreis_key = fields.CharField(max_length=5, default="")
    kreis_name = fields.CharField(max_length=120, default="")
    verband_key = fields.CharField(max_length=9, default="")
    verband_name = fields.CharField(max_length=120, default="")
    area_ha = fields.BigIntField(null=True)
    population = fields.IntField(null=True)
    size_class = fields.CharField(max_length=16, default="")
    postcode = fields.CharField(max_length=5, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    urbanisation = fields.CharField(max_length=2, default="")  # EU DEGURBA 01..03
    register_date = fields.CharField(max_length=8, default="")
    active = fields.BooleanField(default=True)
    superseded_at = fields.CharField(max_length=8, null=True)

    class Meta:
        table = "municipality"
        unique_together = (("scheme", "official_key"),)
        indexes = (Index(fields=("ags",)), Index(fields=("name",)), Index(fields=("kreis_key",)))


class Organisation(Model):
    """An alliance, umbrella organisation, company or research institute."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=80, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16, default="umbrella")
    website = fields.CharField(max_length=300, default="")
    description = fields.TextField(default="")
    origin_node = fields.CharField(max_length=300, default="")

    class Meta:
        table = "organisation"


class Topic(Model):
    """A concept of a controlled vocabulary with German and English labels."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=80, unique=True)
    scheme = fields.CharField(max_length=16, default="mdk")
    label_de = fields.CharField(max_length=120)
    label_en = fields.CharField(max_length=120)
    description = fields.TextField(default="")
    uri = fields.CharField(max_length=300, default="")
    eu_theme = fields.CharField(max_length=8, default="")
    parent: fields.ForeignKeyNullableRelation[Topic] = fields.ForeignKeyField(
        "models.Topic", related_name="children", null=True, on_delete=fields.SET_NULL
    )
    position = fields.IntField(default=0)

    class Meta:
        table = "topic"


class Entry(Model):
    """The current version of a project description, guide or lesson learned."""

    id = fields.IntField(primary_key=True)
    uid = fields.UUIDField(unique=True)
    kind = fields.CharField(max_length=8)
    origin_node = fields.CharField(max_length=300)
    version = fields.IntField(default=1)
    title = fields.CharField(max_length=300)
    summary = fields.TextField(default="")
    body_markdown = fields.TextField(default="")
    body_html = fields.TextField(default="")
    language = fields.CharField(max_length=2, default="de")
    license = fields.CharField(max_length=40, default="CC-BY-4.0")
    visibility = fields.CharField(max_length=8, default="public")
    keywords: fields.JSONField[list[str]] = fields.JSONField(default=list)
    municipality: fields.ForeignKeyNullableRelation[Municipality] = fields.ForeignKeyField(
        "models.Municipality", related_name="entries", null=True, on_delete=fields.RESTRICT
    )
    organisation: fields.ForeignKeyNullableRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="entries", null=True, on_delete=fields.RESTRICT
    )
    municipality_id: int | None
    organisation_id: int | None
    # Role address, federated; a person's details stay on this node only.
    contact_role = fields.CharField(max_length=200, default="")
    contact_email = fields.CharField(max_length=200, default="")
    contact_person = fields.CharField(max_length=200, default="")
    # project description
    status = fields.CharField(max_length=10, null=True)
    period_start = fields.CharField(max_length=10, null=True)
    period_end = fields.CharField(max_length=10, null=True)
    budget_eur = fields.BigIntField(null=True)  # the amount, in budget_currency (exchange.budget)
    budget_currency = fields.CharField(max_length=3, default="EUR", db_default="EUR")
    funding_programme = fields.CharField(max_length=200, default="")
    partners: fields.JSONField[list[str]] = fields.JSONField(default=list)
    goals: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    # guide
    audience = fields.CharField(max_length=200, default="")
    checklist: fields.JSONField[list[str]] = fields.JSONField(default=list)
    review_state = fields.CharField(max_length=10, null=True)
    # lesson learned
    what_worked = fields.TextField(default="")
    what_did_not = fields.TextField(default="")
    transfer_preconditions = fields.TextField(default="")
    costs_staffing = fields.TextField(default="")
    project_uid = fields.UUIDField(null=True)
    # call for partners: its terms and state (exchange.calls.clean_terms), null for other kinds
    call: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    # links to other entries: [{"relation": "replicates", "target": uid}]
    links: fields.JSONField[list[dict[str, str]]] = fields.JSONField(default=list)
    # search and matching
    search_terms = fields.TextField(default="")
    deleted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "entry"
        indexes = (
            Index(fields=("updated_at", "id")),
            Index(fields=("kind", "updated_at")),
            Index(fields=("municipality_id",)),
            Index(fields=("organisation_id",)),
            Index(fields=("project_uid",)),
        )


class EntryTopic(Model):
    """Which controlled topics an entry is about."""

    id = fields.IntField(primary_key=True)
    entry: fields.ForeignKeyRelation[Entry] = fields.ForeignKeyField(
        "models.Entry", related_name="topic_links", on_delete=fields.CASCADE
    )
    topic: fields.ForeignKeyRelation[Topic] = fields.ForeignKeyField(
        "models.Topic", related_name="entry_links", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "entry_topic"
        unique_together = (("entry", "topic"),)
        indexes = (Index(fields=("topic_id", "entry_id")),)


class Revision(Model):
    """One stored version of an entry: the signed envelope as its origin made it."""

    id = fields.IntField(primary_key=True)
    entry: fields.ForeignKeyRelation[Entry] = fields.ForeignKeyField(
        "models.Entry", related_name="revisions", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    envelope: fields.JSONField[dict[str, Any]] = fields.JSONField()
    signature = fields.CharField(max_length=200, default="")
    author = fields.CharField(max_length=200, default="")
    person_id = fields.IntField(null=True)  # who wrote it, locally; never in the envelope
    note = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "revision"
        unique_together = (("entry", "version"),)


class Change(Model):
    """The change feed: one row per stored version, numbered in commit order."""

    seq = fields.BigIntField(primary_key=True)
    entry_uid = fields.UUIDField()
    version = fields.IntField()
    origin_node = fields.CharField(max_length=300)
    visibility = fields.CharField(max_length=8)
    created_at = fields.DatetimeField()

    class Meta:
        table = "change"
        indexes = (Index(fields=("entry_uid",)),)


class ApiToken(Model):
    """An API token of one publisher with scopes. Only its SHA-256 is stored."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=12)
    municipality: fields.ForeignKeyNullableRelation[Municipality] = fields.ForeignKeyField(
        "models.Municipality", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    organisation: fields.ForeignKeyNullableRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    scopes: fields.JSONField[list[str]] = fields.JSONField(default=list)
    label = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    revoked = fields.BooleanField(default=False)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)  # to the minute (see auth.USE_RESOLUTION)
    person_id = fields.IntField(null=True)  # a personal token; null: a service token of the publisher

    class Meta:
        table = "api_token"


class WebSession(Model):
    """A signed-in session of the web pages. Local to this node, never federated or exported.

    The cookie carries the session id; only its SHA-256 is stored. A session
    stands for whoever signed in: a person (`person_id`, acting for the
    publisher `acting`) or an API token (`token`).
    `ended_at` is set when it is signed out, ended by a revoked token, or
    found idle or past `expires_at`; an ended session never comes back.
    """

    id = fields.IntField(primary_key=True)
    sid_hash = fields.CharField(max_length=64, unique=True)
    token: fields.ForeignKeyNullableRelation[ApiToken] = fields.ForeignKeyField(
        "models.ApiToken", related_name="sessions", null=True, on_delete=fields.CASCADE
    )
    token_id: int | None
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    end_reason = fields.CharField(max_length=20, default="")
    person_id = fields.IntField(null=True)
    acting = fields.CharField(max_length=24, default="")  # "municipality:12", "organisation:3"
    client = fields.CharField(max_length=200, default="")  # "from" on the account page

    class Meta:
        table = "web_session"
        indexes = (Index(fields=("token_id",)), Index(fields=("expires_at",)))


class NodeState(Model):
    """Small key/value facts about this node (register date, demo loaded, ...)."""

    key = fields.CharField(max_length=60, primary_key=True)
    value = fields.TextField()

    class Meta:
        table = "node_state"


class Peer(Model):
    """A node this node pulls from and answers, with its pinned key and sync state."""

    id = fields.IntField(primary_key=True)
    url = fields.CharField(max_length=300, unique=True)
    name = fields.CharField(max_length=200, default="")
    public_key = fields.CharField(max_length=64)
    key_id = fields.CharField(max_length=16)
    member = fields.BooleanField(default=False)
    trust_relayed = fields.BooleanField(default=False)
    cursor = fields.CharField(max_length=1000, null=True)
    entries_behind = fields.IntField(null=True)
    applied_total = fields.BigIntField(default=0)
    last_attempt = fields.DatetimeField(null=True)
    last_success = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    last_error_code = fields.CharField(max_length=40, default="")
    failures = fields.IntField(default=0)
    next_attempt = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "peer"


class VouchedKey(Model):
    """The public key a peer vouched for, for an origin whose entries it relays (one row per voucher).

    Used only while that peer is trusted to relay, never in place of a key
    pinned directly (a peer's own, or this node's).
    """

    id = fields.IntField(primary_key=True)
    origin = fields.CharField(max_length=300)
    public_key = fields.CharField(max_length=64)
    vouched_by = fields.CharField(max_length=300)
    created_at = fields.DatetimeField()

    class Meta:
        table = "vouched_key"
        unique_together = (("origin", "vouched_by"),)


class PendingEnvelope(Model):
    """A received entry version held back (unknown origin key or publisher), with the reason."""

    id = fields.IntField(primary_key=True)
    peer_url = fields.CharField(max_length=300)
    entry_uid = fields.CharField(max_length=200)
    version = fields.IntField()
    origin_node = fields.CharField(max_length=300)
    envelope: fields.JSONField[dict[str, Any]] = fields.JSONField()
    signature = fields.CharField(max_length=200)
    vouched_key = fields.CharField(max_length=64, default="")
    reason = fields.CharField(max_length=500)
    created_at = fields.DatetimeField()

    class Meta:
        table = "pending_envelope"
        unique_together = (("peer_url", "entry_uid", "version"),)


# -- curation: guide import, review, collections, endorsements, checklists ----

COLLECTION_KINDS = ("collection", "endorsement")


class GuideSource(Model):
    """Which bundle file an imported guide comes from, so a later import finds it again."""

    id = fields.IntField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="guide_sources", on_delete=fields.CASCADE
    )
    guide_id = fields.CharField(max_length=120)
    entry_uid = fields.UUIDField(unique=True)
    path = fields.CharField(max_length=500)
    imported_at = fields.DatetimeField()

    class Meta:
        table = "guide_source"
        unique_together = (("organisation", "guide_id"),)


class GuideAsset(Model):
    """An image or file a guide bundle references, served at /guides/assets/ORG/PATH."""

    id = fields.IntField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="guide_assets", on_delete=fields.CASCADE
    )
    path = fields.CharField(max_length=500)
    content_type = fields.CharField(max_length=100)
    sha256 = fields.CharField(max_length=64)
    size = fields.IntField()
    data = fields.BinaryField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "guide_asset"
        unique_together = (("organisation", "path"),)


class ReviewEvent(Model):
    """One move of a guide between review states, with who moved it and when."""

    id = fields.IntField(primary_key=True)
    entry: fields.ForeignKeyRelation[Entry] = fields.ForeignKeyField(
        "models.Entry", related_name="review_events", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    from_state = fields.CharField(max_length=10, null=True)
    to_state = fields.CharField(max_length=10)
    actor = fields.CharField(max_length=200)
    person_id = fields.IntField(null=True)  # who decided, locally
    note = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "review_event"
        indexes = (Index(fields=("entry_id", "created_at")),)


class ChecklistProgress(Model):
    """How far a municipality got through the checklist of a guide. Local, never federated."""

    id = fields.IntField(primary_key=True)
    municipality: fields.ForeignKeyRelation[Municipality] = fields.ForeignKeyField(
        "models.Municipality", related_name="checklist_progress", on_delete=fields.CASCADE
    )
    guide_uid = fields.UUIDField()
    item_index = fields.IntField()
    done = fields.BooleanField(default=False)
    updated_by = fields.CharField(max_length=200, default="")
    updated_at = fields.DatetimeField()

    class Meta:
        table = "checklist_progress"
        unique_together = (("municipality", "guide_uid", "item_index"),)


class Collection(Model):
    """An ordered, annotated list of entries from any node, curated by an organisation."""

    id = fields.IntField(primary_key=True)
    uid = fields.UUIDField(unique=True)
    origin_node = fields.CharField(max_length=300)
    version = fields.IntField(default=1)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="collections", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=300)
    summary = fields.TextField(default="")
    language = fields.CharField(max_length=2, default="de")
    visibility = fields.CharField(max_length=8, default="public")
    deleted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "collection"
        indexes = (Index(fields=("organisation_id",)),)


class CollectionItem(Model):
    """One entry of a collection at its position, with the curators note."""

    id = fields.IntField(primary_key=True)
    collection: fields.ForeignKeyRelation[Collection] = fields.ForeignKeyField(
        "models.Collection", related_name="items", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    entry_uid = fields.UUIDField()
    note = fields.TextField(default="")

    class Meta:
        table = "collection_item"
        unique_together = (("collection", "position"),)
        indexes = (Index(fields=("entry_uid",)),)


class Endorsement(Model):
    """An organisation vouches for an entry of any node, with a short note."""

    id = fields.IntField(primary_key=True)
    uid = fields.UUIDField(unique=True)
    origin_node = fields.CharField(max_length=300)
    version = fields.IntField(default=1)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="endorsements", on_delete=fields.RESTRICT
    )
    entry_uid = fields.UUIDField()
    note = fields.CharField(max_length=500, default="")
    visibility = fields.CharField(max_length=8, default="public")
    deleted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "endorsement"
        unique_together = (("organisation", "entry_uid"),)
        indexes = (Index(fields=("entry_uid",)),)


class CurationRevision(Model):
    """One stored version of a collection or endorsement: the signed envelope of its origin."""

    id = fields.IntField(primary_key=True)
    record_uid = fields.UUIDField()
    kind = fields.CharField(max_length=12)
    version = fields.IntField()
    envelope: fields.JSONField[dict[str, Any]] = fields.JSONField()
    signature = fields.CharField(max_length=200, default="")
    author = fields.CharField(max_length=200, default="")
    person_id = fields.IntField(null=True)  # who changed it, locally; never in the envelope
    created_at = fields.DatetimeField()

    class Meta:
        table = "curation_revision"
        unique_together = (("record_uid", "version"),)
