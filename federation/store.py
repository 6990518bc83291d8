"""The database side of federation: peers, known origin keys, vouched keys and
pending envelopes. Writing a received batch is `federation.batch`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from exchange.errors import NotFoundError
from exchange.models import (
    Entry,
    Peer,
    PendingEnvelope,
    Revision,
    Topic,
    VouchedKey,
)
from exchange.withdrawal import is_stub
from federation.envelopes import (
    withdrawn_tombstone,
)
from federation.identity import Descriptor
from federation.merge import Held
from federation.protocol import SignedEnvelope, envelope_digest
from federation.rotation import check_key_change

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
        # the old key's signed word suffices (federation.rotation), else the operator's
        check_key_change(descriptor.key_rotation, node=descriptor.id, pinned_key=peer.public_key,
                         pinned_id=peer.key_id, presented_key=descriptor.public_key,
                         presented_id=descriptor.key_id)
    peer.name, peer.public_key, peer.key_id = descriptor.name, descriptor.public_key, descriptor.key_id
    peer.member, peer.trust_relayed = member, trust_relayed
    await peer.save()
    return peer


async def remove_peer(url: str) -> None:
    peer = await get_peer(url)
    await PendingEnvelope.filter(peer_url=peer.url).delete()
    await VouchedKey.filter(vouched_by=peer.url).delete()
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


async def pinned_keys() -> dict[str, str]:
    """The keys pinned directly: each peer's own (this node's own key is the caller's)."""
    return {str(url): str(key) for url, key in await Peer.all().values_list("url", "public_key")}


async def vouched_keys() -> list[VouchedKey]:
    """Every key a peer vouched for, with who vouched and when, by origin."""
    return list(await VouchedKey.all().order_by("origin", "vouched_by"))


async def trusted_vouchers() -> set[str]:
    """Peers whose vouching counts: those trusted to relay (`--trust-relayed`)."""
    return {str(u) for u in await Peer.filter(trust_relayed=True).values_list("url", flat=True)}


async def trusted_origin_keys() -> dict[str, str]:
    """The key we hold for each origin: pinned peers, else what the trusted vouchers agree on.

    An origin whose trusted vouchers disagree has no key here (its entries are held back).
    """
    pinned = await pinned_keys()
    trusted = await trusted_vouchers()
    offered: dict[str, set[str]] = {}
    for row in await VouchedKey.filter(vouched_by__in=list(trusted)):
        offered.setdefault(str(row.origin), set()).add(str(row.public_key))
    keys = {origin: next(iter(found)) for origin, found in offered.items() if len(found) == 1}
    keys.update(pinned)
    return keys


async def forget_vouched_key(origin: str) -> int:
    """Drop every key vouched for `origin`; how many there were."""
    return int(await VouchedKey.filter(origin=origin).delete())


async def topic_labels() -> dict[str, tuple[str, str]]:
    """Each topic's slug with its German and English label."""
    rows = await Topic.all().values_list("slug", "label_de", "label_en")
    return {str(slug): (str(de), str(en)) for slug, de, en in rows}


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
        # an earlier version of a withdrawn entry keeps only the digest of what we signed
        digests.add(envelope["purgedDigest"] if is_stub(envelope) else envelope_digest(envelope))
        if envelope.get("visibility") not in ("public", "network"):
            digests.add(envelope_digest(withdrawn_tombstone(envelope)))
        elif envelope.get("visibility") == "network" and envelope.get("type") == "entry":
            # what non-members got instead, relayed back to us
            digests.add(envelope_digest(withdrawn_tombstone(envelope, for_non_members=True)))
    return digests


async def pending_of(peer_url: str) -> list[PendingEnvelope]:
    return list(await PendingEnvelope.filter(peer_url=peer_url).order_by("id"))


async def origin_keys() -> dict[str, str]:
    """Every public key we trust for envelope origins (pinned, then agreed vouched keys)."""
    return await trusted_origin_keys()

