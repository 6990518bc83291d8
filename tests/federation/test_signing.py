"""Envelope signatures: made by the origin only, broken by any change."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.envelope import canonical_json
from federation.errors import BadSignatureError, ProtocolMismatchError
from federation.identity import NodeKey, b64url_decode, b64url_encode
from federation.protocol import SignedEnvelope
from federation.signing import sign_envelope, verify_envelope

ORIGIN = "https://kommunen-nord.example"
KEY = NodeKey.generate(ORIGIN)
OTHER = NodeKey.generate("https://kommunen-sued.example")


def envelope() -> dict[str, Any]:
    return {
        "type": "entry",
        "id": "e-1",
        "origin": ORIGIN,
        "version": 2,
        "visibility": "network",
        "updatedAt": "2025-03-01T10:00:00+01:00",
        "entry": {
            "title": "Digitale Bauakte",
            "body": "Erfahrungen *aus* der Praxis",
            "tags": ["bauen", "digital"],
            "contact": {"name": "A. Muster", "phone": None},
            "population": 48211,
            "public": True,
        },
    }


def test_round_trip() -> None:
    signed = sign_envelope(envelope(), KEY)
    verify_envelope(signed, KEY.public_key_b64)
    assert signed.signature == KEY.sign(canonical_json(envelope()))
    # key order does not matter: the canonical form is signed
    reordered = SignedEnvelope(dict(reversed(list(envelope().items()))), signed.signature)
    verify_envelope(reordered, KEY.public_key_b64)


def test_only_the_origin_signs() -> None:
    with pytest.raises(ValueError, match="only the origin"):
        sign_envelope(envelope(), OTHER)


def test_malformed_envelopes_are_not_signed() -> None:
    with pytest.raises(ProtocolMismatchError):
        sign_envelope({**envelope(), "version": 0}, KEY)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


@pytest.mark.parametrize(
    "change",
    [
        _set(("type",), "tombstone"),
        _set(("id",), "e-2"),
        _set(("origin",), "https://kommunen-sued.example"),
        _set(("version",), 3),
        _set(("visibility",), "public"),
        _set(("updatedAt",), "2025-03-01T10:00:01+01:00"),
        _set(("entry", "title"), "Digitale Bauakte!"),
        _set(("entry", "body"), "Erfahrungen aus der Praxis"),
        _set(("entry", "tags", 1), "Digital"),
        _set(("entry", "tags"), ["digital", "bauen"]),
        _set(("entry", "contact", "phone"), ""),
        _set(("entry", "contact", "name"), "A. Muster "),
        _set(("entry", "population"), 48212),
        _set(("entry", "population"), 48211.0),
        _set(("entry", "public"), 1),
        _set(("entry", "extra"), None),
        _delete(("entry", "contact", "phone")),
        _delete(("entry", "tags")),
    ],
)
def test_any_change_breaks_the_signature(change: Callable[[dict[str, Any]], None]) -> None:
    signed = sign_envelope(envelope(), KEY)
    tampered = copy.deepcopy(signed.envelope)
    change(tampered)
    with pytest.raises(BadSignatureError, match="does not verify"):
        verify_envelope(SignedEnvelope(tampered, signed.signature), KEY.public_key_b64)


def test_another_nodes_key_breaks_it() -> None:
    signed = sign_envelope(envelope(), KEY)
    with pytest.raises(BadSignatureError):
        verify_envelope(signed, OTHER.public_key_b64)
    impostor = NodeKey(OTHER.private_key, ORIGIN)  # another key claiming our URL
    forged = sign_envelope(envelope(), impostor)
    with pytest.raises(BadSignatureError):
        verify_envelope(forged, KEY.public_key_b64)


def _encodings(signature: str) -> list[str]:
    import base64

    raw = b64url_decode(signature)
    flipped = bytes([raw[0] ^ 1]) + raw[1:]
    return [
        signature + "==",
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        raw.hex(),
        signature[:-2],
        b64url_encode(flipped),
        b64url_encode(raw[:63]),
        b64url_encode(raw + b"\0"),
        "",
        " " + signature,
    ]


@pytest.mark.parametrize("index", range(10))
def test_other_signature_encodings_are_refused(index: int) -> None:
    signed = sign_envelope(envelope(), KEY)
    variant = _encodings(signed.signature)[index]
    if variant == signed.signature:  # the url-safe and standard alphabets can coincide
        pytest.skip("encoding coincides with base64url")
    with pytest.raises(BadSignatureError):
        verify_envelope(SignedEnvelope(signed.envelope, variant), KEY.public_key_b64)


def test_malformed_public_key_refuses() -> None:
    signed = sign_envelope(envelope(), KEY)
    with pytest.raises(BadSignatureError):
        verify_envelope(signed, "not-a-key")


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _leaf_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _leaf_paths(item, (*path, index))]
    return [path]


@settings(max_examples=60, deadline=None)
@given(
    entry=st.dictionaries(st.text(max_size=5), json_value, min_size=1, max_size=4), data=st.data()
)
def test_changing_any_nested_leaf_breaks_it(entry: dict[str, Any], data: st.DataObject) -> None:
    original = {**envelope(), "entry": entry}
    signed = sign_envelope(original, KEY)
    verify_envelope(signed, KEY.public_key_b64)
    path = data.draw(st.sampled_from(_leaf_paths(entry) or [()]))
    tampered = copy.deepcopy(original)
    if path:
        target: Any = tampered["entry"]
        for step in path[:-1]:
            target = target[step]
        old = target[path[-1]]
        target[path[-1]] = data.draw(
            json_leaf.filter(lambda new: canonical_json(new) != canonical_json(old))
        )
    else:
        tampered["entry"]["\0longer-than-5"] = 1
    with pytest.raises(BadSignatureError):
        verify_envelope(SignedEnvelope(tampered, signed.signature), KEY.public_key_b64)
