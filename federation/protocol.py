"""The wire format between nodes, as plain dataclasses with strict parsing.

An entry version travels as a `SignedEnvelope`: the envelope (a JSON object
with exactly the keys of `ENVELOPE_KEYS`) and its origin's signature over the
envelope's canonical JSON. A peer's change feed answers with a `ChangeBatch` of
`ChangeItem`s (its position in the page, 1, 2, ..., plus a signed envelope), the cursor to
ask from next time, whether more is waiting, and the public keys it vouches for
(the origins of relayed envelopes). `ChangeBatch.to_json` and `from_json` are
the two halves of the contract the GraphQL `changes` field keeps. Parsing
trusts nothing: every wrong shape raises ProtocolMismatchError naming the field,
every exceeded limit OversizedAnswerError, so a batch is refused as a whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from exchange.envelope import canonical_json
from federation.errors import OversizedAnswerError, ProtocolMismatchError
from federation.identity import b64url_decode, normalize_node_url

MAX_BATCH_ITEMS = 500
MAX_ENVELOPE_BYTES = 1_000_000
MAX_ENTRY_ID_LENGTH = 200
MAX_VOUCHED_KEYS = 1_000

ENVELOPE_TYPES = frozenset({"entry", "tombstone"})
VISIBILITIES = frozenset({"public", "network"})
ENVELOPE_KEYS = frozenset({"type", "id", "origin", "version", "visibility", "updatedAt", "entry"})


def _fail(field_name: str, message: str) -> ProtocolMismatchError:
    return ProtocolMismatchError(f"{field_name}: {message}", field=field_name)


def _int(value: object, field_name: str, minimum: int) -> int:
    if type(value) is not int:  # bool is an int in Python, never on our wire
        raise _fail(field_name, "must be an integer")
    if value < minimum:
        raise _fail(field_name, f"must be at least {minimum}")
    return value


def _node_url(value: object, field_name: str) -> str:
    if not isinstance(value, str):
        raise _fail(field_name, "must be a node URL string")
    try:
        canonical = normalize_node_url(value)
    except ValueError as exc:
        raise _fail(field_name, str(exc)) from exc
    if canonical != value:
        raise _fail(field_name, f"node URL must be in canonical form {canonical!r}")
    return value


def _public_key(value: object, field_name: str) -> str:
    try:
        if not isinstance(value, str) or len(b64url_decode(value)) != 32:
            raise ValueError
    except ValueError as exc:
        raise _fail(field_name, "must be a 32-byte key in unpadded base64url") from exc
    return value


def validate_envelope(envelope: object, where: str = "envelope") -> dict[str, Any]:
    """Check an envelope's shape and size; return it unchanged."""
    checked = _validate_shape(envelope, where)
    _canonical_within_limit(checked, where)
    return checked


def _validate_shape(envelope: object, where: str) -> dict[str, Any]:
    if not isinstance(envelope, dict):
        raise _fail(where, "must be a JSON object")
    keys = set(envelope)
    if keys != ENVELOPE_KEYS:
        missing, extra = sorted(ENVELOPE_KEYS - keys), sorted(keys - ENVELOPE_KEYS)
        name = f"{where}.{(missing or extra)[0]}"
        raise _fail(name, f"missing keys {missing}" if missing else f"unknown keys {extra}")
    if envelope["type"] not in ENVELOPE_TYPES:
        raise _fail(f"{where}.type", f"must be one of {sorted(ENVELOPE_TYPES)}")
    entry_id = envelope["id"]
    if not isinstance(entry_id, str) or not entry_id or len(entry_id) > MAX_ENTRY_ID_LENGTH:
        raise _fail(f"{where}.id", f"must be a string of 1 to {MAX_ENTRY_ID_LENGTH} characters")
    _node_url(envelope["origin"], f"{where}.origin")
    _int(envelope["version"], f"{where}.version", 1)
    if envelope["visibility"] not in VISIBILITIES:
        raise _fail(f"{where}.visibility", f"must be one of {sorted(VISIBILITIES)}")
    updated = envelope["updatedAt"]
    try:
        if not isinstance(updated, str) or datetime.fromisoformat(updated).tzinfo is None:
            raise ValueError
    except ValueError as exc:
        raise _fail(f"{where}.updatedAt", "must be an ISO 8601 time with offset") from exc
    if not isinstance(envelope["entry"], dict):
        raise _fail(f"{where}.entry", "must be a JSON object")
    return envelope


def _canonical_within_limit(envelope: Mapping[str, Any], where: str) -> bytes:
    try:
        raw = canonical_json(envelope)
    except (ValueError, TypeError) as exc:
        raise _fail(where, f"is not plain JSON: {exc}") from exc
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise OversizedAnswerError(
            f"{where}: {len(raw)} bytes exceed the limit of {MAX_ENVELOPE_BYTES}", field=where
        )
    return raw


def envelope_digest(envelope: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON: equal digests mean equal content."""
    return hashlib.sha256(canonical_json(envelope)).hexdigest()


@dataclass(frozen=True)
class SignedEnvelope:
    """One entry version (or tombstone) with its origin's signature."""

    envelope: dict[str, Any]
    signature: str

    @property
    def entry_id(self) -> str:
        return str(self.envelope["id"])

    @property
    def origin(self) -> str:
        return str(self.envelope["origin"])

    @property
    def version(self) -> int:
        return int(self.envelope["version"])

    @property
    def is_tombstone(self) -> bool:
        return bool(self.envelope["type"] == "tombstone")

    @cached_property
    def canonical(self) -> bytes:
        """The signed bytes (made once: size check, signature and digest share them)."""
        return canonical_json(self.envelope)

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.canonical).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {"envelope": self.envelope, "signature": self.signature}

    @classmethod
    def from_json(cls, data: object, where: str = "") -> SignedEnvelope:
        prefix = f"{where}." if where else ""
        if not isinstance(data, dict):
            raise _fail(where or "signedEnvelope", "must be a JSON object")
        envelope = _validate_shape(data.get("envelope"), f"{prefix}envelope")
        signature = data.get("signature")
        if not isinstance(signature, str) or not 0 < len(signature) <= 200:
            raise _fail(f"{prefix}signature", "must be a non-empty string")
        signed = cls(envelope, signature)
        signed.__dict__["canonical"] = _canonical_within_limit(envelope, f"{prefix}envelope")
        return signed


@dataclass(frozen=True)
class ChangeItem:
    """One row of a peer's change feed: its sequence number and what it stored."""

    seq: int
    envelope: SignedEnvelope

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, **self.envelope.to_json()}

    @classmethod
    def from_json(cls, data: object, where: str = "item") -> ChangeItem:
        if not isinstance(data, dict):
            raise _fail(where, "must be a JSON object")
        unknown = set(data) - {"seq", "envelope", "signature"}
        if unknown:
            raise _fail(f"{where}.{min(unknown)}", "unknown key")
        seq = _int(data.get("seq"), f"{where}.seq", 1)
        return cls(seq, SignedEnvelope.from_json(data, where))


@dataclass(frozen=True)
class ChangeBatch:
    """One answer of a peer's change feed.

    On the wire `vouchedKeys` is a list of `{"origin", "publicKey"}` objects
    (GraphQL has no maps); here it is a dict from origin URL to public key.
    """

    items: tuple[ChangeItem, ...]
    next_cursor: str
    has_more: bool
    vouched_keys: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "items": [item.to_json() for item in self.items],
            "nextCursor": self.next_cursor,
            "hasMore": self.has_more,
            "vouchedKeys": [
                {"origin": origin, "publicKey": key}
                for origin, key in sorted(self.vouched_keys.items())
            ],
        }

    @classmethod
    def from_json(cls, data: object, max_items: int = MAX_BATCH_ITEMS) -> ChangeBatch:
        """Parse a peer's answer; `max_items` is what we asked for (never above the cap)."""
        if not isinstance(data, dict):
            raise _fail("changes", "must be a JSON object")
        unknown = set(data) - {"items", "nextCursor", "hasMore", "vouchedKeys"}
        if unknown:
            raise _fail(min(unknown), "unknown key")
        raw_items = data.get("items")
        if not isinstance(raw_items, list):
            raise _fail("items", "must be a list")
        limit = min(max_items, MAX_BATCH_ITEMS)
        if len(raw_items) > limit:
            raise OversizedAnswerError(
                f"items: {len(raw_items)} items exceed the limit of {limit}", field="items"
            )
        items = tuple(
            ChangeItem.from_json(raw, f"items[{index}]") for index, raw in enumerate(raw_items)
        )
        for index, item in enumerate(items):
            if item.seq != index + 1:
                raise _fail(f"items[{index}].seq", "items must be numbered 1, 2, ... in page order")
        cursor = data.get("nextCursor")
        if not isinstance(cursor, str) or not 0 < len(cursor) <= 1000:
            raise _fail("nextCursor", "must be a non-empty string")
        has_more = data.get("hasMore")
        if not isinstance(has_more, bool):
            raise _fail("hasMore", "must be a boolean")
        raw_keys = data.get("vouchedKeys", [])
        if not isinstance(raw_keys, list):
            raise _fail("vouchedKeys", "must be a list")
        if len(raw_keys) > MAX_VOUCHED_KEYS:
            raise OversizedAnswerError(
                f"vouchedKeys: more than {MAX_VOUCHED_KEYS} keys", field="vouchedKeys"
            )
        vouched: dict[str, str] = {}
        for index, raw in enumerate(raw_keys):
            where = f"vouchedKeys[{index}]"
            if not isinstance(raw, dict) or set(raw) != {"origin", "publicKey"}:
                raise _fail(where, "must be an object with origin and publicKey")
            origin = _node_url(raw["origin"], f"{where}.origin")
            key = _public_key(raw["publicKey"], f"{where}.publicKey")
            if vouched.get(origin, key) != key:
                raise _fail(f"{where}.origin", "two different keys for one origin")
            vouched[origin] = key
        return cls(items, cursor, has_more, vouched)
