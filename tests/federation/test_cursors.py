"""Opaque cursors: round trips, and refusal of anything we did not issue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import InvalidInputError
from federation.cursors import (
    KeysetPosition,
    decode_keyset_cursor,
    decode_seq_cursor,
    encode_keyset_cursor,
    encode_seq_cursor,
    filter_fingerprint,
)
from federation.identity import b64url_decode, b64url_encode

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
FP = filter_fingerprint({"topic": "mobilitaet", "order": "updated"})
POS = KeysetPosition("2025-03-01T10:00:00+00:00", 42)


@given(st.integers(min_value=0, max_value=2**63))
def test_seq_round_trip(seq: int) -> None:
    cursor = encode_seq_cursor(seq, KEY)
    assert decode_seq_cursor(cursor, KEY) == seq
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_keyset_round_trip() -> None:
    cursor = encode_keyset_cursor(POS, FP, KEY)
    assert decode_keyset_cursor(cursor, KEY, FP) == POS


def test_fingerprint_is_stable_and_order_free() -> None:
    assert filter_fingerprint({"a": 1, "b": [2]}) == filter_fingerprint({"b": [2], "a": 1})
    assert filter_fingerprint({"a": 1}) != filter_fingerprint({"a": 2})


def _tampered(cursor: str) -> str:
    raw = bytearray(b64url_decode(cursor))
    raw[-2] ^= 1
    return b64url_encode(bytes(raw))


def _forge(version: int, payload: list[object], key: bytes) -> str:
    body = json.dumps(payload, separators=(",", ":")).encode()
    tag = hmac.new(key, bytes([version]) + body, hashlib.sha256).digest()[:16]
    return b64url_encode(bytes([version]) + tag + body)


SEQ = encode_seq_cursor(17, KEY)
NOT_OURS = "was not issued by this node"


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        pytest.param("", NOT_OURS, id="empty"),
        pytest.param("garbage!", NOT_OURS, id="garbage"),
        pytest.param("17", NOT_OURS, id="bare-number"),
        pytest.param(SEQ + "=", NOT_OURS, id="padded"),
        pytest.param(SEQ[:-3], NOT_OURS, id="truncated"),
        pytest.param(SEQ[:10], NOT_OURS, id="truncated-into-tag"),
        pytest.param(SEQ + "AA", NOT_OURS, id="extended"),
        pytest.param(_tampered(SEQ), NOT_OURS, id="tampered"),
        pytest.param(base64.b64encode(b64url_decode(SEQ)).decode(), NOT_OURS, id="std-base64"),
        pytest.param(encode_seq_cursor(17, OTHER_KEY), NOT_OURS, id="other-node"),
        pytest.param(_forge(1, ["s", 18], b"guessed-key-0000"), NOT_OURS, id="forged"),
        pytest.param("A" * 600, NOT_OURS, id="too-long"),
        pytest.param(_forge(2, ["s", 17], KEY), "format version 2", id="wrong-version"),
        pytest.param(_forge(0, ["s", 17], KEY), "format version 0", id="version-zero"),
        pytest.param(encode_keyset_cursor(POS, FP, KEY), "different list", id="keyset-as-seq"),
        pytest.param(_forge(1, ["s", -1], KEY), "malformed", id="negative"),
        pytest.param(_forge(1, ["s", "17"], KEY), "malformed", id="string-seq"),
        pytest.param(_forge(1, ["s"], KEY), "malformed", id="no-seq"),
        pytest.param(_forge(1, {"s": 1}, KEY), "different list", id="object"),  # type: ignore[arg-type]
    ],
)
def test_seq_cursor_refusals(cursor: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        decode_seq_cursor(cursor, KEY)
    assert caught.value.code == "BAD_USER_INPUT"
    assert message in caught.value.message
    assert caught.value.message.startswith("cursor ")


@pytest.mark.parametrize(
    ("cursor", "fingerprint", "message"),
    [
        pytest.param(
            encode_keyset_cursor(POS, FP, KEY),
            filter_fingerprint({"topic": "x"}),
            "different filters",
            id="other-filters",
        ),
        pytest.param(SEQ, FP, "different list", id="seq-as-keyset"),
        pytest.param(_tampered(encode_keyset_cursor(POS, FP, KEY)), FP, NOT_OURS, id="tampered"),
        pytest.param(encode_keyset_cursor(POS, FP, OTHER_KEY), FP, NOT_OURS, id="other-node"),
        pytest.param(_forge(1, ["k", FP, "2025-01-01", "3"], KEY), FP, "malformed", id="bad-id"),
        pytest.param(_forge(1, ["k", FP, "2025-01-01"], KEY), FP, "malformed", id="short"),
    ],
)
def test_keyset_cursor_refusals(cursor: str, fingerprint: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        decode_keyset_cursor(cursor, KEY, fingerprint)


def test_non_string_cursor() -> None:
    with pytest.raises(InvalidInputError, match="must be a string"):
        decode_seq_cursor(17, KEY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda: encode_seq_cursor(-1, KEY),
        lambda: encode_seq_cursor(True, KEY),
        lambda: encode_seq_cursor(1, b"short"),
        lambda: decode_seq_cursor(SEQ, b"short"),
        lambda: encode_keyset_cursor(KeysetPosition("not a time", 1), FP, KEY),
        lambda: encode_keyset_cursor(KeysetPosition(POS.timestamp, "1"), FP, KEY),  # type: ignore[arg-type]
    ],
)
def test_programming_errors_are_value_errors(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]
