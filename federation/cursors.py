"""Opaque cursors for the change feed and for Relay connections.

A cursor is base64url (no padding) of one format-version byte, a 16-byte
HMAC-SHA256 tag and a compact JSON payload `[kind, ...values]`; the tag covers
the version byte and the payload under a key the node passes in (e.g.
`NodeKey.derive_secret("cursors")`). A client can store and hand back a cursor
but cannot forge, edit or reuse one across lists: anything we did not issue is
refused with InvalidInputError (BAD_USER_INPUT) saying so. Change-feed cursors
carry a sequence number; keyset cursors for Relay connections carry the
position `(timestamp, id)` of the last row and a fingerprint of the filters, so
a cursor taken under one filter cannot page through another.

Change-feed cursors of protocol 2 (`encode_feed_cursor`) are encrypted as
well (AES-GCM under a key derived from the node's, with a synthetic nonce):
a peer learns nothing from them, not even how far the feed moved between
two of its pages, and each is bound to the peer it was issued to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from exchange.envelope import canonical_json
from exchange.errors import InvalidInputError
from federation.identity import b64url_decode, b64url_encode

__all__ = [
    "CURSOR_FORMAT_VERSION",
    "KeysetPosition",
    "decode_feed_cursor",
    "decode_keyset_cursor",
    "decode_seq_cursor",
    "encode_feed_cursor",
    "encode_keyset_cursor",
    "encode_seq_cursor",
    "filter_fingerprint",
]

CURSOR_FORMAT_VERSION = 1
MAX_CURSOR_LENGTH = 512
_TAG_BYTES = 16
_SEQ = "s"
_KEYSET = "k"
FEED_CURSOR_VERSION = 2
_FEED_AAD = b"exchange/feed-cursor"
_NONCE_BYTES = 12


class KeysetPosition(NamedTuple):
    """Where a page ended: the sort timestamp (ISO 8601) and id of its last row."""

    timestamp: str
    id: int


def filter_fingerprint(filters: Mapping[str, Any]) -> str:
    """A short digest of a query's filters and ordering (JSON values)."""
    return hashlib.sha256(canonical_json(dict(filters))).hexdigest()[:16]


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValueError("cursor key must be at least 16 bytes")


def _tag(key: bytes, version: int, payload: bytes) -> bytes:
    return hmac.new(key, bytes([version]) + payload, hashlib.sha256).digest()[:_TAG_BYTES]


def _encode(key: bytes, values: list[Any]) -> str:
    _check_key(key)
    payload = canonical_json(values)
    version = CURSOR_FORMAT_VERSION
    return b64url_encode(bytes([version]) + _tag(key, version, payload) + payload)


def _refuse(cursor: str, why: str) -> InvalidInputError:
    shown = cursor if len(cursor) <= 24 else cursor[:21] + "..."
    return InvalidInputError(f"cursor {shown!r} {why}")


def _decode(cursor: object, key: bytes, kind: str) -> list[Any]:
    _check_key(key)
    if not isinstance(cursor, str):
        raise InvalidInputError("cursor must be a string")
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise _refuse(cursor, "was not issued by this node")
    try:
        raw = b64url_decode(cursor)
    except ValueError:
        raise _refuse(cursor, "was not issued by this node") from None
    if len(raw) <= 1 + _TAG_BYTES:
        raise _refuse(cursor, "was not issued by this node")
    version, tag, payload = raw[0], raw[1 : 1 + _TAG_BYTES], raw[1 + _TAG_BYTES :]
    if version != CURSOR_FORMAT_VERSION:
        raise _refuse(
            cursor,
            f"has format version {version}, this node reads version "
            f"{CURSOR_FORMAT_VERSION}; start again without a cursor",
        )
    if not hmac.compare_digest(tag, _tag(key, version, payload)):
        raise _refuse(cursor, "was not issued by this node")
    values = json.loads(payload)  # we signed it, so it is our JSON
    if not isinstance(values, list) or not values or values[0] != kind:
        raise _refuse(cursor, "belongs to a different list")
    return values[1:]


def encode_seq_cursor(seq: int, key: bytes) -> str:
    """A change-feed cursor meaning 'after sequence number `seq`' (0: from the start)."""
    if type(seq) is not int or seq < 0:
        raise ValueError("sequence number must be a non-negative integer")
    return _encode(key, [_SEQ, seq])


def decode_seq_cursor(cursor: str, key: bytes) -> int:
    """The sequence number in a change-feed cursor we issued; InvalidInputError otherwise."""
    values = _decode(cursor, key, _SEQ)
    if len(values) != 1 or type(values[0]) is not int or values[0] < 0:
        raise _refuse(cursor, "is malformed")
    return int(values[0])


def encode_keyset_cursor(position: KeysetPosition, fingerprint: str, key: bytes) -> str:
    """A Relay cursor for the row at `position` in the list with that filter fingerprint."""
    datetime.fromisoformat(position.timestamp)  # ValueError: a bug on our side
    if type(position.id) is not int:
        raise ValueError("keyset id must be an integer")
    return _encode(key, [_KEYSET, fingerprint, position.timestamp, position.id])


def decode_keyset_cursor(cursor: str, key: bytes, fingerprint: str) -> KeysetPosition:
    """The position in a Relay cursor we issued for the same filters."""
    values = _decode(cursor, key, _KEYSET)
    if (
        len(values) != 3
        or not isinstance(values[0], str)
        or not isinstance(values[1], str)
        or type(values[2]) is not int
    ):
        raise _refuse(cursor, "is malformed")
    if values[0] != fingerprint:
        raise _refuse(cursor, "was issued for different filters or ordering")
    return KeysetPosition(values[1], values[2])


def _peer_tag(peer: str) -> str:
    return hashlib.sha256(peer.encode("utf-8")).hexdigest()[:16]


def encode_feed_cursor(seq: int, peer: str, key: bytes) -> str:
    """An encrypted change-feed cursor 'after sequence number `seq`' for `peer` only."""
    if type(seq) is not int or seq < 0:
        raise ValueError("sequence number must be a non-negative integer")
    if len(key) != 32:
        raise ValueError("feed cursor key must be 32 bytes")
    plain = canonical_json([seq, _peer_tag(peer)])
    # A synthetic nonce (a MAC of the plaintext): one position, one cursor, so an unchanged
    # feed hands back the cursor it was given; distinct plaintexts never share a nonce.
    nonce = hmac.new(key, b"nonce/" + plain, hashlib.sha256).digest()[:_NONCE_BYTES]
    sealed = AESGCM(key).encrypt(nonce, plain, _FEED_AAD)
    return b64url_encode(bytes([FEED_CURSOR_VERSION]) + nonce + sealed)


def is_feed_cursor(cursor: str) -> bool:
    """Whether `cursor` looks like an encrypted feed cursor (else: an older HMAC cursor)."""
    try:
        raw = b64url_decode(cursor)
    except ValueError:
        return False
    return bool(raw) and raw[0] == FEED_CURSOR_VERSION


def decode_feed_cursor(cursor: object, peer: str, key: bytes) -> int:
    """The sequence number in a feed cursor we issued to `peer`; InvalidInputError otherwise."""
    if not isinstance(cursor, str):
        raise InvalidInputError("cursor must be a string")
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise _refuse(cursor, "was not issued by this node")
    try:
        raw = b64url_decode(cursor)
        plain = AESGCM(key).decrypt(raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :], _FEED_AAD)
    except (ValueError, InvalidTag):
        raise _refuse(cursor, "was not issued by this node") from None
    values = json.loads(plain)  # we sealed it, so it is our JSON
    if not isinstance(values, list) or len(values) != 2 or type(values[0]) is not int or values[0] < 0:
        raise _refuse(cursor, "is malformed")
    if values[1] != _peer_tag(peer):
        raise _refuse(cursor, "was issued to another peer")
    return int(values[0])
