"""The change feed as a peer sees it: who is asking, and what they may receive.

`authenticate_peer` checks an RFC 9421 signature on the request against the
pinned keys of our peers (over the public URL, node URL + path + query, since
that is what the peer signed) and returns the peer. `read_changes` answers
one page after an opaque cursor: rows in sequence order, each the stored
envelope with its origin's signature, `public` to every peer, `network` to
members, `local` and drafts never; a version of our own entry that dropped
to `local` or `draft` goes out as a signed withdrawn tombstone, so peers
remove the copy they hold, and one that dropped from `public` to `network`
goes to non-members that were shown it as a withdrawal marked `network`. Rows a peer may not see still advance its cursor.
It also says how many rows remain and vouches for the keys of the relayed
origins in the page.
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
from federation.cursors import decode_seq_cursor, encode_seq_cursor
from federation.envelopes import FeedAction, feed_action, visible_to, withdrawn_tombstone
from federation.httpsig import verify_request
from federation.identity import NodeKey
from federation.protocol import MAX_BATCH_ITEMS, ChangeBatch, ChangeItem, SignedEnvelope
from federation.store import origin_keys

__all__ = ["Feed", "FeedPage", "authenticate_peer"]


async def authenticate_peer(
    method: str, public_url: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> Peer:
    """The peer that signed this request; BadSignatureError / UnknownPeerError otherwise."""
    keys = {str(p.url): str(p.public_key) for p in await Peer.all()}
    url = verify_request(method, public_url, headers, body, keys.get, now)
    peer = await Peer.get(url=url)
    return peer


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
        self._cursor_secret = key.derive_secret("changes")

    def cursor(self, seq: int) -> str:
        return encode_seq_cursor(seq, self._cursor_secret)

    def seq_of(self, cursor: str | None) -> int:
        return decode_seq_cursor(cursor, self._cursor_secret) if cursor else 0

    async def read(self, peer: Peer, after: str | None, first: int) -> FeedPage:
        after_seq = self.seq_of(after)
        first = max(1, min(first, MAX_BATCH_ITEMS))
        conn = current_connection()
        dialect = dialect_of(conn)
        p1, p2 = _placeholder(dialect, 1), _placeholder(dialect, 2)
        _, rows = await conn.execute_query(
            # Collections and endorsements (exchange.collections) keep their signed
            # versions in curation_revision; their change rows have no entry.
            "SELECT c.seq, c.visibility, c.origin_node, c.entry_uid, "
            "COALESCE(r.envelope, cr.envelope) AS envelope, COALESCE(r.signature, cr.signature) AS signature "
            "FROM change c LEFT JOIN entry e ON e.uid = c.entry_uid "
            "LEFT JOIN revision r ON r.entry_id = e.id AND r.version = c.version "
            "LEFT JOIN curation_revision cr ON cr.record_uid = c.entry_uid AND cr.version = c.version "
            f"WHERE c.seq > {p1} AND (r.id IS NOT NULL OR cr.id IS NOT NULL) ORDER BY c.seq LIMIT {p2}",
            [after_seq, first + 1],
        )
        rows = [dict(r) for r in rows]
        has_more = len(rows) > first
        rows = rows[:first]
        own = self.key.node_url
        items: list[ChangeItem] = []
        origins: set[str] = set()
        for row in rows:
            action = feed_action(
                row["visibility"], own=row["origin_node"] == own, member=bool(peer.member),
                shown_before=False,
            )
            if action is FeedAction.SKIP and row["origin_node"] == own and row["visibility"] in (
                    "local", "draft", "network"):
                action = feed_action(
                    row["visibility"], own=True, member=bool(peer.member),
                    shown_before=await self._shown_before(row["entry_uid"], row["seq"], bool(peer.member)),
                )
            if action is FeedAction.SKIP:
                continue
            envelope = _json(row["envelope"])
            signature = str(row["signature"])
            if action is FeedAction.WITHDRAW:
                envelope = withdrawn_tombstone(envelope, for_non_members=row["visibility"] == "network")
                signature = self.key.sign(canonical_json(envelope))
            items.append(ChangeItem(int(row["seq"]), SignedEnvelope(envelope, signature)))
            if envelope["origin"] != own:
                origins.add(str(envelope["origin"]))
        last_seq = int(rows[-1]["seq"]) if rows else after_seq
        vouched: dict[str, str] = {}
        if origins:
            known = await origin_keys()
            vouched = {o: known[o] for o in sorted(origins) if o in known and o != peer.url}
        remaining = 0
        if has_more:
            remaining = await Change.filter(seq__gt=last_seq).count()
        return FeedPage(ChangeBatch(tuple(items), self.cursor(last_seq), has_more, vouched), remaining)

    async def _shown_before(self, entry_uid: Any, seq: int, member: bool) -> bool:
        earlier = await Change.filter(entry_uid=entry_uid, seq__lt=seq).values_list("visibility", flat=True)
        return any(visible_to(str(v), member) for v in earlier)
