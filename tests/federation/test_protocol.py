"""The wire format: envelopes, change items and batches, parsed strictly."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from federation.errors import OversizedAnswerError, ProtocolMismatchError
from federation.identity import NodeKey, b64url_encode
from federation.protocol import (
    MAX_BATCH_ITEMS,
    MAX_ENVELOPE_BYTES,
    ChangeBatch,
    ChangeItem,
    SignedEnvelope,
    envelope_digest,
    validate_envelope,
)
from federation.signing import sign_envelope

ORIGIN = "https://kommunen-nord.example"
KEY = NodeKey.generate(ORIGIN)


def envelope(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "type": "entry",
        "id": "e-1",
        "origin": ORIGIN,
        "version": 1,
        "visibility": "public",
        "updatedAt": "2025-03-01T10:00:00+00:00",
        "entry": {"title": "Bürgerhaushalt", "tags": ["beteiligung"]},
    }
    value.update(changes)
    return value


def batch_json(n: int = 2, **changes: Any) -> dict[str, Any]:
    items = [
        ChangeItem(seq, sign_envelope(envelope(id=f"e-{seq}"), KEY)).to_json()
        for seq in range(1, n + 1)
    ]
    data: dict[str, Any] = {
        "items": items,
        "nextCursor": "c2",
        "hasMore": False,
        "vouchedKeys": [{"origin": ORIGIN, "publicKey": KEY.public_key_b64}],
    }
    data.update(changes)
    return data


def test_valid_envelopes_pass_unchanged() -> None:
    value = envelope()
    assert validate_envelope(value) is value
    validate_envelope(envelope(type="tombstone", entry={}, visibility="network", version=7))
    validate_envelope(envelope(updatedAt="2025-03-01T10:00:00Z"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "post"}, "envelope.type"),
        ({"type": None}, "envelope.type"),
        ({"id": ""}, "envelope.id"),
        ({"id": 5}, "envelope.id"),
        ({"id": "x" * 201}, "envelope.id"),
        ({"origin": "https://kommunen-nord.example/"}, "envelope.origin"),
        ({"origin": "kommunen-nord"}, "envelope.origin"),
        ({"origin": None}, "envelope.origin"),
        ({"version": 0}, "envelope.version"),
        ({"version": -1}, "envelope.version"),
        ({"version": 1.0}, "envelope.version"),
        ({"version": "2"}, "envelope.version"),
        ({"version": True}, "envelope.version"),
        ({"visibility": "private"}, "envelope.visibility"),
        ({"updatedAt": "yesterday"}, "envelope.updatedAt"),
        ({"updatedAt": "2025-03-01T10:00:00"}, "envelope.updatedAt"),
        ({"updatedAt": 1740823200}, "envelope.updatedAt"),
        ({"entry": []}, "envelope.entry"),
        ({"entry": None}, "envelope.entry"),
        ({"entry": {"n": float("nan")}}, "envelope"),
        ({"extra": 1}, "envelope.extra"),
    ],
)
def test_bad_envelopes_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ProtocolMismatchError) as caught:
        validate_envelope(envelope(**changes))
    assert caught.value.field == field
    assert field in caught.value.message
    assert not isinstance(caught.value, OversizedAnswerError)


@pytest.mark.parametrize(
    "missing", ["type", "id", "origin", "version", "visibility", "updatedAt", "entry"]
)
def test_missing_envelope_keys(missing: str) -> None:
    value = envelope()
    del value[missing]
    with pytest.raises(ProtocolMismatchError) as caught:
        validate_envelope(value)
    assert caught.value.field == f"envelope.{missing}"


def test_oversized_envelope() -> None:
    with pytest.raises(OversizedAnswerError, match="exceed"):
        validate_envelope(envelope(entry={"body": "x" * MAX_ENVELOPE_BYTES}))


def test_digest_ignores_key_order_but_not_content() -> None:
    value = envelope()
    reordered = dict(reversed(list(value.items())))
    assert envelope_digest(value) == envelope_digest(reordered)
    assert envelope_digest(value) != envelope_digest(envelope(version=2))


def test_signed_envelope_properties() -> None:
    signed = sign_envelope(envelope(type="tombstone", version=3), KEY)
    assert (signed.entry_id, signed.origin, signed.version, signed.is_tombstone) == (
        "e-1",
        ORIGIN,
        3,
        True,
    )
    assert SignedEnvelope.from_json(signed.to_json()) == signed


def test_batch_round_trip() -> None:
    data = batch_json(3)
    batch = ChangeBatch.from_json(data)
    assert [item.seq for item in batch.items] == [1, 2, 3]
    assert batch.vouched_keys == {ORIGIN: KEY.public_key_b64}
    assert batch.to_json() == data
    assert ChangeBatch.from_json({**data, "items": []}).items == ()
    no_keys = {key: value for key, value in data.items() if key != "vouchedKeys"}
    assert ChangeBatch.from_json(no_keys).vouched_keys == {}


def _break(path: list[Any], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(batch_json())
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["items"], None, "items"),
        (["items"], {}, "items"),
        (["items", 0], "x", "items[0]"),
        (["items", 0, "seq"], 0, "items[0].seq"),
        (["items", 0, "seq"], "1", "items[0].seq"),
        (["items", 0, "seq"], KeyError, "items[0].seq"),
        (["items", 1, "seq"], 1, "items[1].seq"),
        (["items", 0, "extra"], 1, "items[0].extra"),
        (["items", 0, "signature"], "", "items[0].signature"),
        (["items", 0, "signature"], None, "items[0].signature"),
        (["items", 0, "signature"], "s" * 201, "items[0].signature"),
        (["items", 0, "envelope"], None, "items[0].envelope"),
        (["items", 1, "envelope", "version"], 0, "items[1].envelope.version"),
        (["nextCursor"], None, "nextCursor"),
        (["nextCursor"], "", "nextCursor"),
        (["nextCursor"], KeyError, "nextCursor"),
        (["hasMore"], "false", "hasMore"),
        (["hasMore"], KeyError, "hasMore"),
        (["vouchedKeys"], {}, "vouchedKeys"),
        (["vouchedKeys", 0], "k", "vouchedKeys[0]"),
        (["vouchedKeys", 0, "publicKey"], "abc", "vouchedKeys[0].publicKey"),
        (["vouchedKeys", 0, "publicKey"], b64url_encode(b"k" * 31), "vouchedKeys[0].publicKey"),
        (["vouchedKeys", 0, "origin"], "https://a.example/", "vouchedKeys[0].origin"),
        (["vouchedKeys", 0, "extra"], 1, "vouchedKeys[0]"),
        (["surprise"], 1, "surprise"),
    ],
)
def test_bad_batches_name_the_field(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(ProtocolMismatchError) as caught:
        ChangeBatch.from_json(_break(path, value))
    assert caught.value.field == field
    assert not isinstance(caught.value, OversizedAnswerError)


def test_two_keys_for_one_origin_are_refused() -> None:
    other = NodeKey.generate(ORIGIN).public_key_b64
    data = batch_json()
    data["vouchedKeys"].append({"origin": ORIGIN, "publicKey": other})
    with pytest.raises(ProtocolMismatchError, match="two different keys"):
        ChangeBatch.from_json(data)


@pytest.mark.parametrize("data", [None, [], "changes", 3])
def test_batch_must_be_an_object(data: object) -> None:
    with pytest.raises(ProtocolMismatchError):
        ChangeBatch.from_json(data)


def test_too_many_items() -> None:
    data = batch_json(3)
    with pytest.raises(OversizedAnswerError, match="limit of 2"):
        ChangeBatch.from_json(data, max_items=2)
    many = {**data, "items": data["items"] * (MAX_BATCH_ITEMS // 3 + 1)}
    with pytest.raises(OversizedAnswerError, match=f"limit of {MAX_BATCH_ITEMS}"):
        ChangeBatch.from_json(many, max_items=10_000)


def test_too_many_vouched_keys() -> None:
    data = batch_json(vouchedKeys=[{"origin": ORIGIN, "publicKey": KEY.public_key_b64}] * 1001)
    with pytest.raises(OversizedAnswerError):
        ChangeBatch.from_json(data)
