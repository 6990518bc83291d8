"""The database side of federation: peers, known origin keys, pending envelopes, and
writing a verified, merged batch.

`apply_batch` is the one place where received entries become rows: inside a
single transaction it stores every applied version (entry row, topics,
locally rendered HTML, search index, the revision with the origin's envelope
and signature, a change-feed row so that relays work), the envelopes held
back, the origin keys newly vouched for, and the peer's advanced cursor. A
`checkpoint(step)` callback runs between the steps, so tests can interrupt
the transaction anywhere and show that nothing half-done survives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from content import render_markdown, search_document
from exchange import search_index
from exchange.catalogue import append_change
from exchange.collections import CurationContentError, is_curation_envelope
from exchange.curation_received import apply_received
from exchange.errors import ConflictError, NotFoundError
from exchange.models import (
    Entry,
    EntryTopic,
    KnownOrigin,
    Municipality,
    Organisation,
    PendingEnvelope,
    Peer,
    Revision,
    Topic,
)
from federation.envelopes import (
    ContentError,
    PublisherRef,
    entry_values,
    parse_entry_uid,
    withdrawn_tombstone,
)
from federation.identity import Descriptor
from federation.merge import Held
from federation.protocol import SignedEnvelope, envelope_digest

Checkpoint = Callable[[str], None]


def no_checkpoint(step: str) -> None:
    """The default checkpoint: go on."""
    return None


# -- peers -----------------------------------------------------------------


async def list_peers() -> list[Peer]:
    return list(await Peer.all().order_by("url"))


async def get_peer(url: str) -> Peer:
    peer = await Peer.get_or_none(url=url)
    if peer is None:
        raise NotFoundError(f"{url} is not a peer of this node (see: exchange peers list)")
    return peer


async def pin_peer(
    descriptor: Descriptor,
    *,
    member: bool,
    trust_relayed: bool,
    confirm_key_change: bool,
    now: datetime,
) -> Peer:
    """Add a peer with its key pinned, or update its flags; a new key needs confirmation."""
    peer = await Peer.get_or_none(url=descriptor.id)
    if peer is None:
        return await Peer.create(
            url=descriptor.id, name=descriptor.name, public_key=descriptor.public_key,
            key_id=descriptor.key_id, member=member, trust_relayed=trust_relayed, created_at=now,
        )
    if peer.public_key != descriptor.public_key and not confirm_key_change:
        raise ConflictError(
            f"{descriptor.id} now presents key {descriptor.key_id}, but key {peer.key_id} is "
            "pinned; if its operator confirms the change, run the command again with "
            "--confirm-key-change"
        )
    peer.name, peer.public_key, peer.key_id = descriptor.name, descriptor.public_key, descriptor.key_id
    peer.member, peer.trust_relayed = member, trust_relayed
    await peer.save()
    return peer


async def remove_peer(url: str) -> None:
    peer = await get_peer(url)
    await PendingEnvelope.filter(peer_url=peer.url).delete()
    await peer.delete()


async def record_failure(peer: Peer, code: str, message: str, now: datetime, next_attempt: datetime) -> None:
    peer.last_attempt, peer.next_attempt = now, next_attempt
    peer.failures += 1
    peer.last_error, peer.last_error_code = message[:2000], code
    await Peer.filter(id=peer.id).update(
        last_attempt=now, next_attempt=next_attempt, failures=peer.failures,
        last_error=peer.last_error, last_error_code=code,
    )


async def pending_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for url in await PendingEnvelope.all().values_list("peer_url", flat=True):
        counts[str(url)] = counts.get(str(url), 0) + 1
    return counts


async def origin_keys() -> dict[str, str]:
    """Every public key we trust for envelope origins: pinned peers, then vouched origins."""
    keys = {str(o.url): str(o.public_key) for o in await KnownOrigin.all()}
    keys.update({str(p.url): str(p.public_key) for p in await Peer.all()})
    return keys


# -- what we hold ------------------------------------------------------------


async def held_for(entry_ids: Iterable[str], own_url: str) -> dict[str, Held]:
    """What we hold for these entry ids, for the merge rules.

    For our own entries at a local or draft version we hold, as far as peers
    can tell, the withdrawn tombstone the feed serves in its place.
    """
    uids = list(dict.fromkeys(entry_ids))
    held: dict[str, Held] = {}
    if not uids:
        return held
    rows = await Entry.filter(uid__in=uids).values("id", "uid", "version", "visibility", "origin_node")
    by_pk = {(r["id"], r["version"]): r for r in rows}
    revisions = await Revision.filter(entry_id__in=[r["id"] for r in rows]).values(
        "entry_id", "version", "envelope", "signature"
    )
    for rev in revisions:
        row = by_pk.get((rev["entry_id"], rev["version"]))
        if row is None:
            continue
        envelope = rev["envelope"]
        if row["origin_node"] == own_url and row["visibility"] not in ("public", "network"):
            envelope = withdrawn_tombstone(envelope)
        held[str(row["uid"])] = Held.of(SignedEnvelope(envelope, rev["signature"]))
    return held


async def own_digests(versions: list[tuple[str, int]], own_url: str) -> set[str]:
    """Digests of what we signed (or serve as withdrawn tombstones) for these versions of our entries."""
    wanted = set(versions)
    uids = list({uid for uid, _ in wanted})
    rows = await Entry.filter(uid__in=uids, origin_node=own_url).values("id", "uid")
    by_id = {r["id"]: str(r["uid"]) for r in rows}
    digests: set[str] = set()
    revisions = await Revision.filter(entry_id__in=list(by_id)).values("entry_id", "version", "envelope")
    for rev in revisions:
        if (by_id[rev["entry_id"]], rev["version"]) not in wanted:
            continue
        envelope = rev["envelope"]
        digests.add(envelope_digest(envelope))
        if envelope.get("visibility") not in ("public", "network"):
            digests.add(envelope_digest(withdrawn_tombstone(envelope)))
    return digests


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


async def _publisher(ref: PublisherRef | None, origin: str, tombstone: bool) -> dict[str, Any]:
    """The publisher columns, or ContentError when a municipality is not in our register."""
    if ref is None:
        if tombstone:
            return {"municipality_id": None, "organisation_id": None}
        raise ContentError("the entry names no publisher")
    if ref.kind == "municipality":
        muni = await Municipality.filter(official_key=ref.key).first()
        if muni is None:
            if tombstone:
                return {"municipality_id": None, "organisation_id": None}
            raise ContentError(
                f"publisher municipality {ref.key} ({ref.name}) is not in this node's register; "
                "import a current register (exchange import municipalities)"
            )
        return {"municipality_id": muni.id, "organisation_id": None}
    org = await Organisation.get_or_none(slug=ref.key)
    if org is None:
        org = await Organisation.create(slug=ref.key, name=ref.name or ref.key, origin_node=origin)
    return {"municipality_id": None, "organisation_id": org.id}


async def _store_version(signed: SignedEnvelope, checkpoint: Checkpoint) -> Entry:
    """Write one verified, merged version (entry or tombstone). Within the caller's transaction."""
    envelope = signed.envelope
    values = entry_values(envelope)
    ref = PublisherRef.of(envelope["entry"])
    uid = parse_entry_uid(signed.entry_id)
    topic_slugs: list[str] = values.pop("topics")
    entry = await Entry.get_or_none(uid=uid)
    if entry is not None and signed.is_tombstone:
        # A tombstone withdraws what we hold; keep the content we had, hide it.
        entry.deleted, entry.version = True, values["version"]
        entry.visibility, entry.updated_at = values["visibility"], values["updated_at"]
        topics = list(await Topic.filter(entry_links__entry_id=entry.id))
    else:
        publisher = await _publisher(ref, signed.origin, signed.is_tombstone)
        topics = list(await Topic.filter(slug__in=topic_slugs)) if topic_slugs else []
        if entry is None:
            entry = Entry(uid=uid, **values, **publisher)
        else:
            for name, value in {**values, **publisher}.items():
                setattr(entry, name, value)
        entry.body_html = render_markdown(entry.body_markdown or "")
        entry.search_terms = search_document(
            entry.title, entry.summary,
            "\n\n".join(x for x in (entry.body_markdown, entry.what_worked, entry.what_did_not,
                                    entry.transfer_preconditions) if x),
            [str(k) for k in entry.keywords] + [t.label_de for t in topics] + [t.label_en for t in topics],
            entry.language,
        )
    await entry.save()
    checkpoint("entry")
    if not signed.is_tombstone or not await EntryTopic.exists(entry_id=entry.id):
        await EntryTopic.filter(entry_id=entry.id).delete()
        if topics:
            await EntryTopic.bulk_create([EntryTopic(entry_id=entry.id, topic_id=t.id) for t in topics])
    await search_index.update(entry)
    checkpoint("topics")
    await Revision.filter(entry_id=entry.id, version=entry.version).delete()
    await Revision.create(
        entry_id=entry.id, version=entry.version, envelope=envelope, signature=signed.signature,
        author=signed.origin, note="received", created_at=entry.updated_at,
    )
    checkpoint("revision")
    await append_change(entry)
    checkpoint("change")
    return entry


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
) -> BatchResult:
    """Store a merged batch and advance the peer's cursor, all or nothing."""
    result = BatchResult(pending=list(pending))
    checkpoint("begin")
    async with in_transaction():
        for origin, key in vouched.items():
            if not await KnownOrigin.exists(url=origin):
                await KnownOrigin.create(url=origin, public_key=key, vouched_by=peer.url, created_at=now)
        checkpoint("origins")
        for signed in to_apply:
            if is_curation_envelope(signed.envelope):  # a collection or endorsement
                try:
                    await apply_received(signed.envelope, signed.signature)
                except CurationContentError as exc:
                    result.pending.append(Pending(signed, str(exc)))
                continue
            try:
                entry_values(signed.envelope)
                PublisherRef.of(signed.envelope["entry"])
                if not signed.is_tombstone:
                    await _check_publisher(signed)
            except ContentError as exc:
                result.pending.append(Pending(signed, str(exc)))
                continue
            result.applied.append(await _store_version(signed, checkpoint))
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


async def _check_publisher(signed: SignedEnvelope) -> None:
    """ContentError unless the entry's publisher can be stored (without writing anything)."""
    ref = PublisherRef.of(signed.envelope["entry"])
    if ref is None:
        raise ContentError("the entry names no publisher")
    if ref.kind == "municipality" and not await Municipality.exists(official_key=ref.key):
        raise ContentError(
            f"publisher municipality {ref.key} ({ref.name}) is not in this node's register; "
            "import a current register (exchange import municipalities)"
        )


async def pending_of(peer_url: str) -> list[PendingEnvelope]:
    return list(await PendingEnvelope.filter(peer_url=peer_url).order_by("id"))
