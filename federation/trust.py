"""Which key an envelope's signature is checked with: pinned keys first, vouched keys with provenance.

A node pins keys directly: its own, and each peer's (from the descriptor,
at `peers add`). Entries of other origins reach it through relaying peers,
which vouch for those origins' keys in their signed feed pages. A vouched
key is stored with the peer that vouched for it and counts only while that
peer is trusted to relay (`--trust-relayed`); it never stands in for a key
pinned directly. When vouchers disagree, or a peer's vouched key changes,
or a signature does not verify with a vouched key, the envelopes of that
origin are held back with the reason (the rest of the page is applied); an
operator lists and drops vouched keys with `exchange peers vouched` and
`exchange peers forget-key ORIGIN`. A bad signature under a pinned key
still refuses the whole page. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from federation.errors import ProtocolMismatchError
from federation.identity import key_id_for

__all__ = ["KeyChoice", "choose_key"]


@dataclass(frozen=True)
class KeyChoice:
    """The key to check with, or why the envelope is held back."""

    key: str | None
    direct: bool = False  # pinned directly: a bad signature refuses the page
    learn: bool = False  # newly vouched by this peer: store it once a signature verifies with it
    reason: str = ""
    keep_offered: bool = False  # held only for want of trust: keep the offered key for later


def _kid(key: str) -> str:
    try:
        return key_id_for(key)
    except (ValueError, ProtocolMismatchError):
        return "?"


def choose_key(
    origin: str,
    *,
    own: tuple[str, str],
    peer: tuple[str, str],
    trust_relayed: bool,
    pinned: Mapping[str, str],
    vouched: Mapping[tuple[str, str], str],
    trusted: set[str],
    offered: str | None,
) -> KeyChoice:
    """The key for an envelope of `origin` received from `peer` (url, pinned key).

    `vouched` maps (origin, voucher) to the key that voucher vouched for;
    `trusted` are the vouchers trusted to relay; `offered` is what the page
    (or the held-back row) vouches for now.
    """
    own_url, own_key = own
    peer_url, peer_key = peer
    if origin == own_url:
        return KeyChoice(own_key, direct=True)
    if origin == peer_url:
        return KeyChoice(peer_key, direct=True)
    if origin in pinned:
        return KeyChoice(pinned[origin], direct=True)
    if not trust_relayed:
        return KeyChoice(None, keep_offered=True, reason=(
            f"no trusted key for origin {origin}: it is not a peer, and {peer_url} is not "
            f"trusted to vouch for relayed origins (exchange peers add {peer_url} --trust-relayed)"))
    mine = vouched.get((origin, peer_url))
    if mine and offered and offered != mine:
        return KeyChoice(None, reason=(
            f"{peer_url} now vouches key {_kid(offered)} for {origin}, but vouched {_kid(mine)} before; "
            f"held back until an operator drops the old one (exchange peers forget-key {origin})"))
    candidate = mine or offered
    if not candidate:
        return KeyChoice(None, reason=f"{peer_url} relays {origin} without vouching for its key")
    for (other_origin, voucher), key in sorted(vouched.items()):
        if other_origin == origin and voucher != peer_url and voucher in trusted and key != candidate:
            return KeyChoice(None, reason=(
                f"{peer_url} vouches key {_kid(candidate)} for {origin}, but {voucher} vouched "
                f"{_kid(key)}; held back (exchange peers vouched; exchange peers forget-key {origin})"))
    return KeyChoice(candidate, learn=mine is None)
