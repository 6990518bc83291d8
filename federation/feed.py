"""The change feed as a peer sees it: who is asking, and what they may receive.

`authenticate_peer` checks an RFC 9421 signature on the request against the
pinned keys of our peers (over the public URL, node URL + path + query, since
that is what the peer signed) and returns the peer. `read_changes` answers
one page after an opaque cursor: rows in sequence order, each the stored
envelope with its origin's signature, `public` to every peer, `network` to
members, `local` and drafts never; a version of our own entry that dropped
to `local` or `draft` goes out as a signed withdrawn tombstone, so peers
remove the copy they hold, and one that dropped from `public` to `network`
goes to non-members that were shown it as a withdrawal marked `network`.
Rows a peer may not see advance its cursor and leave no trace: items carry
their position in the page (1, 2, ...), not our sequence numbers; the cursor
is encrypted and bound to the peer; `hasMore` says whether more items *for
this peer* follow, and `remaining` counts only rows it may receive. The page
vouches for the keys of the relayed origins in it (pinned peers, or keys
vouched for by peers we trust to relay).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exchange.db import current_connection, dialect_of
from exchange.envelope import canonical_json
from exchange.models import Change, Peer
from federation.cursors import (
    decode_feed_cursor,
    decode_seq_cursor,
    encode_feed_cursor,
    is_feed_cursor,
)
from federation.envelopes import FeedAction, feed_action, visible_to, withdrawn_tombstone
from federation.httpsig import verify_request
from federation.identity import NodeKey
from federation.protocol import MAX_BATCH_ITEMS, ChangeBatch, ChangeItem, SignedEnvelope
from federation.store import trusted_origin_keys

__all__ = ["Feed", "FeedPage", "authenticate_peer"]


async def authenticate_peer(
    method: str, public_url: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> Peer:
    """The peer that signed this request; BadSignatureError / UnknownPeerError otherwise."""
    peers = {str(p.url): p for p in await Peer.all()}  # one query: the signer is among them

    def key_of(url: str) -> str | None:
        return str(peers[url].public_key) if url in peers else None

    return peers[verify_request(method, public_url, headers, body, key_of, now)]


@dataclass(frozen=True)
class FeedPage:
    """A change batch plus how many feed rows remain after it."""

    batch: ChangeBatch
    remaining: int


def _placeholder(dialect: str, n: int) -> str:
    return f"${n}" if dialect == "postgres" else "?"


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, (str, bytes)) else dict(value)


class Feed:
    """Reads this node's change feed for one peer at a time."""

    def __init__(self, key: NodeKey) -> None:
        self.key = key
        self._cursor_secret = key.derive_secret("changes")  # protocol 1 cursors, still read
        self._feed_secret = key.derive_secret("feed-cursor")

    def cursor(self, seq: int, peer: str) -> str:
        return encode_feed_cursor(seq, peer, self._feed_secret)

    def seq_of(self, cursor: str | None, peer: str) -> int:
        if not cursor:
            return 0
        if is_feed_cursor(cursor):
            return decode_feed_cursor(cursor, peer, self._feed_secret)
        return decode_seq_cursor(cursor, self._cursor_secret)

    async def read(self, peer: Peer, after: str | None, first: int) -> FeedPage:
        """The next `first` items this peer may receive, and whether more follow.

        Rows the peer may not see are passed over (the cursor moves past them)
        without a trace in the page: items carry their position in the page,
        not our sequence numbers, and the cursor is encrypted.
        """
        scanned = self.seq_of(after, str(peer.url))
        first = max(1, min(first, MAX_BATCH_ITEMS))
        member = bool(peer.member)
        seen = ("public", "network") if member else ("public",)
        conn = current_connection()
        dialect = dialect_of(conn)
        p = [_placeholder(dialect, n) for n in range(1, 6)]
        own = self.key.node_url
        items: list[ChangeItem] = []
        origins: set[str] = set()
        has_more = False
        while True:
            want = first + 1 - len(items)
            _, rows = await conn.execute_query(
                # Collections and endorsements (exchange.curation.collections) keep their signed
                # versions in curation_revision; their change rows have no entry. Rows of
                # other origins the peer may not see never leave the database; our own may
                # become withdrawals.
                "SELECT c.seq, c.visibility, c.origin_node, c.entry_uid, "
                "COALESCE(r.envelope, cr.envelope) AS envelope, COALESCE(r.signature, cr.signature) AS signature "
                "FROM change c LEFT JOIN entry e ON e.uid = c.entry_uid "
                "LEFT JOIN revision r ON r.entry_id = e.id AND r.version = c.version "
                "LEFT JOIN curation_revision cr ON cr.record_uid = c.entry_uid AND cr.version = c.version "
                f"WHERE c.seq > {p[0]} AND (r.id IS NOT NULL OR cr.id IS NOT NULL) "
                # an unsigned revision (what stays of a withdrawn entry's content) is never served
                "AND COALESCE(r.signature, cr.signature) <> '' "
                f"AND (c.visibility IN ({p[1]}, {p[2]}) OR c.origin_node = {p[3]}) "
                f"ORDER BY c.seq LIMIT {p[4]}",
                [scanned, seen[0], seen[-1], own, want],
            )
            for row in rows:
                item = await self._item(dict(row), member, len(items) + 1)
                if item is not None and len(items) == first:
                    has_more = True
                    break
                scanned = int(row["seq"])
                if item is not None:
                    items.append(item)
                    if item.envelope.origin != own:
                        origins.add(item.envelope.origin)
            if has_more or len(rows) < want:
                break
        vouched: dict[str, str] = {}
        if origins:
            known = await trusted_origin_keys()
            vouched = {o: known[o] for o in sorted(origins) if o in known and o != peer.url}
        remaining = 0
        if has_more:
            # what this peer may receive, nothing else (withdrawals of our own entries not counted)
            remaining = await Change.filter(seq__gt=scanned, visibility__in=seen).count()
        return FeedPage(ChangeBatch(tuple(items), self.cursor(scanned, str(peer.url)), has_more, vouched),
                        remaining)

    async def _item(self, row: dict[str, Any], member: bool, position: int) -> ChangeItem | None:
        """What the peer receives for one change row, or None when it may not learn of it."""
        own = self.key.node_url
        action = feed_action(row["visibility"], own=row["origin_node"] == own, member=member,
                             shown_before=False)
        if action is FeedAction.SKIP and row["origin_node"] == own and row["visibility"] in (
                "local", "draft", "network"):
            action = feed_action(
                row["visibility"], own=True, member=member,
                shown_before=await self._shown_before(row["entry_uid"], row["seq"], member),
            )
        if action is FeedAction.SKIP:
            return None
        envelope = _json(row["envelope"])
        signature = str(row["signature"])
        if action is FeedAction.WITHDRAW:
            envelope = withdrawn_tombstone(envelope, for_non_members=row["visibility"] == "network")
            signature = self.key.sign(canonical_json(envelope))
        return ChangeItem(position, SignedEnvelope(envelope, signature))

    async def _shown_before(self, entry_uid: Any, seq: int, member: bool) -> bool:
        earlier = await Change.filter(entry_uid=entry_uid, seq__lt=seq).values_list("visibility", flat=True)
        return any(visible_to(str(v), member) for v in earlier)
