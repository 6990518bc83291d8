"""Writing a verified, merged batch of received envelopes.

`apply_batch` is the one place where received entries become rows: inside a
single transaction it stores every applied version (entry row, topics,
locally rendered HTML, search index, the revision with the origin's envelope
and signature, a change-feed row so that relays work), the envelopes held
back, the origin keys newly vouched for (with the peer that vouched), and
the peer's advanced cursor. A `checkpoint(step)` callback runs between the
steps, so tests can interrupt the transaction anywhere and show that nothing
half-done survives.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.fields import Field
from tortoise.models import Model
from tortoise.transactions import in_transaction
from tortoise.validators import MaxLengthValidator

from exchange.changes import claim_sequence
from exchange.curation import CurationContentError, apply_received, is_curation_envelope
from exchange.db import current_connection, dialect_of
from exchange.models import (
    Change,
    Entry,
    EntryTopic,
    Municipality,
    Organisation,
    Peer,
    PendingEnvelope,
    Revision,
    Topic,
    VouchedKey,
)
from exchange.withdrawal import CONTENT_BLANK, bare_tombstone, is_bare, stub_revisions
from federation.envelopes import (
    ContentError,
    PublisherRef,
    character_problem,
    entry_values,
    parse_entry_uid,
)
from federation.prepare import NOTHING, Prepared, entry_texts, text_input
from federation.protocol import MAX_BATCH_ITEMS, SignedEnvelope

Checkpoint = Callable[[str], None]


def no_checkpoint(step: str) -> None:
    """The default checkpoint: go on."""
    return

# -- applying a batch ---------------------------------------------------------


@dataclass
class Pending:
    """An envelope we keep back, and why."""

    signed: SignedEnvelope
    reason: str
    vouched_key: str = ""


@dataclass
class BatchResult:
    applied: list[Entry] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)


class _Publishers:
    """Publisher columns by (kind, key), resolved once per batch."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], dict[str, Any] | None] = {}

    async def columns(self, ref: PublisherRef | None, origin: str, tombstone: bool) -> dict[str, Any]:
        """The publisher columns; ContentError when a municipality is not in our register."""
        none = {"municipality_id": None, "organisation_id": None}
        if ref is None:
            if tombstone:
                return none
            raise ContentError("the entry names no publisher")
        slot = (ref.kind, ref.key)
        if slot not in self._known:
            if ref.kind == "municipality":
                muni = await Municipality.filter(official_key=ref.key).first()
                self._known[slot] = None if muni is None else {"municipality_id": muni.id, "organisation_id": None}
            else:
                org = await Organisation.get_or_none(slug=ref.key)
                if org is None:
                    org = await Organisation.create(slug=ref.key, name=ref.name or ref.key, origin_node=origin)
                self._known[slot] = {"municipality_id": None, "organisation_id": org.id}
        found = self._known[slot]
        if found is None:
            if tombstone:
                return none
            raise ContentError(
                f"publisher municipality {ref.key} ({ref.name}) is not in this node's register; "
                "import a current register (exchange import municipalities)"
            )
        return found


def _texts(values: dict[str, Any], topics: list[Topic], prepared: Prepared = NOTHING) -> tuple[str, str]:
    """An entry's HTML and search terms from its column values, parsing its Markdown once where it can.

    What the sync's helper made of exactly these inputs is used as is.
    """
    given = text_input(
        values["body_markdown"] or "", (values["what_worked"], values["what_did_not"],
                                        values["transfer_preconditions"]),
        values["title"], values["summary"], values["keywords"],
        [t.label_de for t in topics] + [t.label_en for t in topics], values["language"],
    )
    return prepared.entry_texts(given) or entry_texts(given)


def _with_defaults(model: type[Model], row: dict[str, Any]) -> dict[str, Any]:
    """`row` completed with the model's defaults for the columns it lacks (but the generated key)."""
    for name in model._meta.fields_db_projection:
        field_object = model._meta.fields_map[name]
        if name not in row and not field_object.pk:
            default = field_object.default
            row[name] = default() if callable(default) else default
    return row


async def _insert(model: type[Model], rows: list[dict[str, Any]], returning: str = "") -> list[dict[str, Any]]:
    """`model.bulk_create` for plain column values: one statement, the fields' own conversions,
    but no model object per row (which cost more than the insert itself).

    `returning` names columns of the new rows to return; only PostgreSQL returns them
    (SQLite's executemany cannot), so on SQLite the answer is empty.
    """
    if not rows:
        return []
    meta = model._meta
    columns = list(rows[0])
    fields = [meta.fields_map[name] for name in columns]
    conn = current_connection()
    names = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in columns)
    convert = [_to_db(f, model) for f in fields]
    values = [[to_db(row[name]) for name, to_db in zip(columns, convert, strict=True)] for row in rows]
    if dialect_of(conn) != "postgres":
        marks = ", ".join("?" * len(columns))
        await conn.execute_many(f'INSERT INTO "{meta.db_table}" ({names}) VALUES ({marks})', values)
        return []
    # PostgreSQL: one statement for all rows, one array parameter per column (not one
    # statement per row: statement triggers such as entry_match's ran per row; nor one
    # parameter per value: parsing and planning those cost more than the insert). Arrays
    # of text, not varchar(n): an explicit cast would cut an over-long value silently.
    types = [f.get_for_dialect("postgres", "SQL_TYPE") for f in fields]
    arrays = ", ".join(f"${n}::{'TEXT' if t.startswith('VARCHAR') else t}[]" for n, t in enumerate(types, 1))
    back = f" RETURNING {returning}" if returning else ""
    sql = f'INSERT INTO "{meta.db_table}" ({names}) SELECT * FROM unnest({arrays}){back}'
    columns_of = [list(column) for column in zip(*values, strict=True)]
    if returning:  # (execute_query answers no rows for an INSERT, RETURNING or not)
        return await conn.execute_query_dict(sql, columns_of)
    await conn.execute_query(sql, columns_of)
    return []


def _to_db(field: Field[Any], model: type[Model]) -> Callable[[Any], Any]:
    """`field.to_db_value` for one column of many rows. Where the field does not convert
    (the base method) and checks at most a length, a value of its exact type within that
    length is the answer as is: the same result without a call per value."""
    def convert(value: Any) -> Any:
        return field.to_db_value(value, model)

    if type(field).to_db_value is not Field.to_db_value or any(
            type(v) is not MaxLengthValidator for v in field.validators):
        return convert
    most = min((v.max_length for v in field.validators if isinstance(v, MaxLengthValidator)), default=None)
    kind = field.field_type

    def plain(value: Any) -> Any:
        if type(value) is kind and (most is None or len(value) <= most):
            return value
        return convert(value)

    return plain


async def _ids_of(uids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The ids of the entry rows with these uids, where the insert returned none: on SQLite
    a plain query, as one built by the ORM for a page of uids cost more than running it."""
    conn = current_connection()
    if dialect_of(conn) == "postgres":
        return dict(await Entry.filter(uid__in=uids).values_list("uid", "id"))
    uid_field = Entry._meta.fields_map["uid"]
    found: dict[uuid.UUID, int] = {}
    for start in range(0, len(uids), MAX_BATCH_ITEMS):
        chunk = [uid_field.to_db_value(u, Entry) for u in uids[start:start + MAX_BATCH_ITEMS]]
        _, rows = await conn.execute_query(
            f'SELECT "uid", "id" FROM "{Entry._meta.db_table}" WHERE "uid" IN ({", ".join("?" * len(chunk))})',
            chunk)
        found.update({uuid.UUID(str(row["uid"])): int(row["id"]) for row in rows})
    return found


def _stored_entry(row: dict[str, Any]) -> Entry:
    """The Entry object of a row just inserted (with its id), as a query would return it."""
    projection = Entry._meta.fields_db_projection
    return Entry._init_from_db(**{projection[name]: value for name, value in row.items()})


async def _store_versions(
    batch: list[SignedEnvelope], checkpoint: Checkpoint, columns: list[dict[str, Any]],
    prepared: Prepared = NOTHING,
) -> list[Entry]:
    """Write verified, merged versions (one per entry id). Within the caller's transaction.

    `columns` holds `entry_values` of each envelope, already read by the caller.
    Works per batch, not per entry (one query per kind of row where it can),
    since an initial sync of a large catalogue is thousands of entries.
    """
    if not batch:
        return []
    uids = [parse_entry_uid(s.entry_id) for s in batch]
    existing = {e.uid: e for e in await Entry.filter(uid__in=uids)}
    slugs = {slug for s in batch for slug in (s.envelope["entry"].get("topics") or []) if isinstance(slug, str)}
    topic_rows = {t.slug: t for t in await Topic.filter(slug__in=list(slugs))} if slugs else {}
    publishers = _Publishers()
    topics_of: dict[Any, list[Topic] | None] = {}
    created: dict[Any, dict[str, Any]] = {}
    for signed, uid, values in zip(batch, uids, columns, strict=True):
        slugs_here: list[str] = values.pop("topics")
        entry = existing.get(uid)
        if signed.is_tombstone:  # withdrawn content is gone, not hidden (exchange.withdrawal)
            values.update({k: list(v) if isinstance(v, list) else v for k, v in CONTENT_BLANK.items()})
            slugs_here = []
        if entry is not None and signed.is_tombstone:
            for name, value in values.items():
                if name in CONTENT_BLANK:
                    setattr(entry, name, value)
            entry.deleted, entry.version = True, values["version"]
            entry.visibility, entry.updated_at = values["visibility"], values["updated_at"]
            topics_of[uid] = []
            continue
        publisher = await publishers.columns(PublisherRef.of(signed.envelope["entry"]), signed.origin,
                                             signed.is_tombstone)
        topics = [topic_rows[t] for t in dict.fromkeys(slugs_here) if t in topic_rows]
        values["body_html"], values["search_terms"] = _texts(values, topics, prepared)
        if entry is None:
            created[uid] = _with_defaults(Entry, {"uid": uid, **values, **publisher})
        else:
            for name, value in {**values, **publisher}.items():
                setattr(entry, name, value)
        topics_of[uid] = topics
    if created:
        returned = await _insert(Entry, list(created.values()), returning='"uid", "id"')
        ids = ({uuid.UUID(str(r["uid"])): r["id"] for r in returned} if returned
               else await _ids_of(list(created)))
        existing.update({uid: _stored_entry({"id": ids[uid], **row}) for uid, row in created.items()})
    entries = [existing[uid] for uid in uids]
    for entry in entries:
        if entry.uid not in created:
            await entry.save()
    checkpoint("entry")
    relinked = [e for e in entries if topics_of[e.uid] is not None]
    if relinked:
        await EntryTopic.filter(entry_id__in=[e.id for e in relinked if e.uid not in created]).delete()
        links = [EntryTopic(entry_id=e.id, topic_id=t.id) for e in relinked for t in topics_of[e.uid] or []]
        if links:
            await EntryTopic.bulk_create(links)
    await _index(entries)
    checkpoint("topics")
    for entry in entries:
        if entry.uid not in created:
            await Revision.filter(entry_id=entry.id, version=entry.version).delete()
    await _insert(Revision, [
        {"entry_id": e.id, "version": e.version, **_stored_envelope(s),
         "author": s.origin, "note": "received", "created_at": e.updated_at}
        for e, s in zip(entries, batch, strict=True)
    ])
    await stub_revisions([(e.id, e.version) for e, s in zip(entries, batch, strict=True)
                          if s.is_tombstone and e.uid not in created])
    checkpoint("revision")
    await _append_changes(entries)
    checkpoint("change")
    return entries


def _stored_envelope(signed: SignedEnvelope) -> dict[str, Any]:
    """The envelope and signature to keep of a received version. A tombstone that still
    carries content (from a node that signed such) is kept bare and unsigned: its content
    goes, and the feed relays no unsigned revision (the origin's own feed still serves it)."""
    if signed.is_tombstone and not is_bare(signed.envelope):
        return {"envelope": bare_tombstone(signed.envelope), "signature": ""}
    return {"envelope": signed.envelope, "signature": signed.signature}


async def _index(entries: list[Entry]) -> None:
    """`search_index.update` for a batch: the same two statements, each run once for all rows.

    The entries have distinct ids (one version per entry), so deleting every old
    row first and then inserting the new ones is the per-entry delete-insert.
    """
    conn = current_connection()
    if dialect_of(conn) == "postgres" or not entries:
        return  # PostgreSQL indexes the search_terms column itself
    await conn.execute_many("DELETE FROM entry_fts WHERE rowid = ?", [[e.id] for e in entries])
    live = [[e.id, e.search_terms] for e in entries if not e.deleted]
    if live:
        await conn.execute_many("INSERT INTO entry_fts (rowid, terms) VALUES (?, ?)", live)


async def _append_changes(entries: list[Entry]) -> None:
    """`changes.append_change` for a batch: one lock, one insert, sequence numbers in list order."""
    if not entries:
        return
    await claim_sequence()
    await _insert(Change, [
        {"entry_uid": e.uid, "version": e.version, "origin_node": e.origin_node,
         "visibility": e.visibility, "created_at": e.updated_at}
        for e in entries
    ])


async def apply_batch(
    peer: Peer,
    to_apply: list[SignedEnvelope],
    pending: list[Pending],
    vouched: dict[str, str],
    *,
    next_cursor: str,
    entries_behind: int | None,
    now: datetime,
    checkpoint: Checkpoint = no_checkpoint,
    advance: bool = True,
    release: set[tuple[str, int]] | None = None,
    prepared: Prepared = NOTHING,
) -> BatchResult:
    """Store a merged batch and advance the peer's cursor, all or nothing."""
    result = BatchResult(pending=list(pending))
    checkpoint("begin")
    async with in_transaction():
        for origin, key in vouched.items():
            if not await VouchedKey.exists(origin=origin, vouched_by=peer.url):
                await VouchedKey.create(origin=origin, public_key=key, vouched_by=peer.url, created_at=now)
        checkpoint("origins")
        storable: list[SignedEnvelope] = []
        columns: list[dict[str, Any]] = []
        known: dict[str, bool] = {}
        for signed in to_apply:
            problem = (character_problem(bare_tombstone(signed.envelope)) if signed.is_tombstone
                       else character_problem(signed.envelope, signed.canonical))
            if problem is not None:
                result.pending.append(Pending(signed, problem))
                continue
            if is_curation_envelope(signed.envelope):  # a collection or endorsement
                try:
                    await apply_received(signed.envelope, signed.signature)
                except CurationContentError as exc:
                    result.pending.append(Pending(signed, str(exc)))
                continue
            try:
                values = entry_values(signed.envelope)
                PublisherRef.of(signed.envelope["entry"])
                if not signed.is_tombstone:
                    await _check_publisher(signed, known)
            except ContentError as exc:
                result.pending.append(Pending(signed, str(exc)))
                continue
            storable.append(signed)
            columns.append(values)
        result.applied.extend(await _store_versions(storable, checkpoint, columns, prepared))
        if storable and await PendingEnvelope.exists():
            for signed in storable:
                await PendingEnvelope.filter(entry_uid=signed.entry_id, version__lte=signed.version).delete()
        for item in result.pending:
            await PendingEnvelope.filter(
                peer_url=peer.url, entry_uid=item.signed.entry_id, version=item.signed.version
            ).delete()
            await PendingEnvelope.create(
                peer_url=peer.url, entry_uid=item.signed.entry_id, version=item.signed.version,
                origin_node=item.signed.origin, envelope=item.signed.envelope,
                signature=item.signed.signature, vouched_key=item.vouched_key,
                reason=item.reason[:500], created_at=now,
            )
        for entry_id, version in release or ():
            if not any(p.signed.entry_id == entry_id and p.signed.version == version for p in result.pending):
                await PendingEnvelope.filter(peer_url=peer.url, entry_uid=entry_id, version=version).delete()
        checkpoint("pending")
        if advance:
            await Peer.filter(id=peer.id).update(
                cursor=next_cursor, entries_behind=entries_behind, last_attempt=now,
                last_success=now, last_error="", last_error_code="", failures=0,
                applied_total=peer.applied_total + len(result.applied),
            )
            checkpoint("cursor")
    if advance:
        peer.cursor, peer.entries_behind, peer.failures = next_cursor, entries_behind, 0
        peer.last_attempt = peer.last_success = now
        peer.last_error = peer.last_error_code = ""
        peer.applied_total += len(result.applied)
    return result


async def _check_publisher(signed: SignedEnvelope, known: dict[str, bool]) -> None:
    """ContentError unless the entry's publisher can be stored (without writing anything)."""
    ref = PublisherRef.of(signed.envelope["entry"])
    if ref is None:
        raise ContentError("the entry names no publisher")
    if ref.kind == "municipality" and ref.key not in known:
        known[ref.key] = await Municipality.exists(official_key=ref.key)
    if ref.kind == "municipality" and not known[ref.key]:
        raise ContentError(
            f"publisher municipality {ref.key} ({ref.name}) is not in this node's register; "
            "import a current register (exchange import municipalities)"
        )
