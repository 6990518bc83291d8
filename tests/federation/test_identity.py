"""Node identity: key files, encodings, signatures, descriptors, node URLs."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from exchange.envelope import Signer
from exchange.errors import FederationError
from federation.errors import (
    BadSignatureError,
    KeyFileError,
    OversizedAnswerError,
    PeerRefusedError,
    PeerUnreachableError,
    ProtocolMismatchError,
    UnknownPeerError,
)
from federation.identity import (
    PROTOCOL_VERSION,
    WELL_KNOWN_PATH,
    Descriptor,
    NodeKey,
    b64url_decode,
    b64url_encode,
    key_id_for,
    normalize_node_url,
    verify,
)

URL = "https://kommunen-sued.example"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (PeerUnreachableError("x"), "PEER_UNREACHABLE"),
        (PeerRefusedError("x"), "PEER_REFUSED"),
        (BadSignatureError("x"), "BAD_SIGNATURE"),
        (UnknownPeerError("x"), "UNKNOWN_PEER"),
        (ProtocolMismatchError("x"), "PROTOCOL_MISMATCH"),
        (OversizedAnswerError("x"), "OVERSIZED_ANSWER"),
        (KeyFileError("x"), "BAD_KEY_FILE"),
    ],
)
def test_error_codes_and_tree(error: FederationError, code: str) -> None:
    assert isinstance(error, FederationError)
    assert error.code == code
    assert error.message == "x"


def test_error_details() -> None:
    assert UnknownPeerError("x").reason == "unknown_key"
    assert isinstance(OversizedAnswerError("x", field="items"), ProtocolMismatchError)
    assert OversizedAnswerError("x", field="items").field == "items"


def test_key_file_is_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    key = NodeKey.load_or_create(path, URL)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    again = NodeKey.load_or_create(path, URL)
    assert again.public_key_b64 == key.public_key_b64
    assert again.key_id == key.key_id
    assert [p.name for p in tmp_path.iterdir()] == ["node.key"]  # no temp file left


def test_concurrent_creation_yields_one_key(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    keys: list[str] = []

    def load() -> None:
        keys.append(NodeKey.load_or_create(path, URL).public_key_b64)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_exposed_key_file_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "node.key"
    NodeKey.load_or_create(path, URL)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        NodeKey.load_or_create(path, URL)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"],
)
def test_garbage_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "node.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(KeyFileError):
        NodeKey.load_or_create(path, URL)


def test_non_ed25519_key_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyFileError, match="not Ed25519"):
        NodeKey.from_pem(pem, URL)


def test_node_key_is_a_signer() -> None:
    key = NodeKey.generate(URL + "/")
    signer: Signer = key
    assert signer.node_url == URL
    signature = key.sign(b"hello")
    assert len(signature) == 86 and "=" not in signature
    assert len(b64url_decode(key.public_key_b64)) == 32
    assert key.key_id == key_id_for(key.public_key_b64) and len(key.key_id) == 16
    assert verify(key.public_key_b64, b"hello", signature)
    assert URL in repr(key) and "PRIVATE" not in repr(key)


def test_derived_secrets_differ_by_purpose_and_key() -> None:
    key, other = NodeKey.generate(URL), NodeKey.generate(URL)
    assert key.derive_secret("cursors") == key.derive_secret("cursors")
    assert key.derive_secret("cursors") != key.derive_secret("cookies")
    assert key.derive_secret("cursors") != other.derive_secret("cursors")
    assert len(key.derive_secret("cursors")) == 32


def _variants(signature: str) -> list[str]:
    import base64

    raw = b64url_decode(signature)
    return [
        signature + "==",  # padded
        base64.b64encode(raw).decode(),  # standard alphabet
        signature[:-1],  # truncated
        signature[:-1] + ("B" if signature[-1] == "A" else "A"),  # other trailing bits
        "",
        "!" * 86,
        b64url_encode(raw + b"\0"),  # too long
    ]


def test_verify_rejects_other_spellings_data_and_keys() -> None:
    key, other = NodeKey.generate(URL), NodeKey.generate(URL)
    signature = key.sign(b"data")
    assert not verify(key.public_key_b64, b"datA", signature)
    assert not verify(other.public_key_b64, b"data", signature)
    assert not verify("not a key", b"data", signature)
    assert not verify(b64url_encode(b"\1" * 31), b"data", signature)
    for variant in _variants(signature):
        if variant != signature:
            assert not verify(key.public_key_b64, b"data", variant), variant


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://node.example", "https://node.example"),
        ("https://node.example/", "https://node.example"),
        ("HTTPS://Node.Example/exchange/", "https://node.example/exchange"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_normalize_node_url(url: str, expected: str) -> None:
    assert normalize_node_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        " https://a.example",
        "ftp://a.example",
        "https://",
        "https://u:p@a.example",
        "https://a.example/?x=1",
        "https://a.example/#top",
        "a.example",
    ],
)
def test_normalize_node_url_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        normalize_node_url(url)


def _descriptor_json() -> dict[str, Any]:
    key = NodeKey.generate(URL)
    return Descriptor.for_key(key, "Kommunen Süd", "0.1.0").to_json()


def test_descriptor_round_trip() -> None:
    data = _descriptor_json()
    assert set(data) == {"id", "name", "publicKey", "keyId", "softwareVersion", "protocolVersion", "versions"}
    assert data["protocolVersion"] == PROTOCOL_VERSION == 2 and data["versions"] == [2]
    assert Descriptor.from_json(data).to_json() == data
    assert WELL_KNOWN_PATH == "/.well-known/exchange-node"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"id": "https://a.example/"}, "id"),
        ({"id": "mailto:x@a.example"}, "id"),
        ({"name": ""}, "name"),
        ({"name": 3}, "name"),
        ({"publicKey": "abc"}, "publicKey"),
        ({"publicKey": b64url_encode(b"\0" * 33)}, "publicKey"),
        ({"keyId": "0000000000000000"}, "keyId"),
        ({"softwareVersion": None}, "softwareVersion"),
        ({"protocolVersion": 3, "versions": [3]}, "protocolVersion"),
        ({"versions": [2, "3"]}, "versions"),
        ({"versions": []}, "versions"),
        ({"protocolVersion": "1"}, "protocolVersion"),
        ({"protocolVersion": True}, "protocolVersion"),
    ],
)
def test_descriptor_refuses_bad_fields(change: dict[str, Any], field: str) -> None:
    data = {**_descriptor_json(), **change}
    with pytest.raises(ProtocolMismatchError) as caught:
        Descriptor.from_json(data)
    assert caught.value.field == field


def test_a_peer_of_protocol_1_is_refused_with_the_reason() -> None:
    """Protocol 1 answers unsigned feed pages: such a peer must be upgraded first."""
    data = {**_descriptor_json(), "protocolVersion": 1}
    del data["versions"]
    with pytest.raises(ProtocolMismatchError, match=r"version\(s\) \[1\].*signed feed pages"):
        Descriptor.from_json(data)


@pytest.mark.parametrize(
    "missing", ["id", "name", "publicKey", "keyId", "softwareVersion", "protocolVersion"]
)
def test_descriptor_refuses_missing_fields(missing: str) -> None:
    data = _descriptor_json()
    del data[missing]
    with pytest.raises(ProtocolMismatchError, match=missing):
        Descriptor.from_json(data)


@pytest.mark.parametrize("data", [None, [], "descriptor", 1])
def test_descriptor_refuses_non_objects(data: object) -> None:
    with pytest.raises(ProtocolMismatchError):
        Descriptor.from_json(data)
