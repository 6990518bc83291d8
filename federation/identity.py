"""A node's identity: its base URL, its Ed25519 key pair and its descriptor.

A node is known in the network by its base URL and proves what it publishes
with an Ed25519 key. `NodeKey` holds the private key (kept in a PEM file of mode
0600 that is created on first start) and signs bytes; it satisfies
`exchange.envelope.Signer`. The `Descriptor` is what a node serves at
`WELL_KNOWN_PATH` so that peers learn its name and public key. Encodings: public
keys are the raw 32 bytes and signatures the raw 64 bytes, both in base64url
without padding (RFC 4648 section 5, as in JWK `x`); decoding is strict, so one
key or signature has exactly one text form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from federation.errors import KeyFileError, ProtocolMismatchError

# 2: feed pages are signed and bound to the request; encrypted, peer-bound cursors;
# items carry their position in the page. Version 1 pages (unsigned) are not accepted.
PROTOCOL_VERSION = 2
SUPPORTED_PROTOCOL_VERSIONS: frozenset[int] = frozenset({PROTOCOL_VERSION})
WELL_KNOWN_PATH = "/.well-known/exchange-node"

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of `b64url_encode`; raises ValueError on any other spelling."""
    if not isinstance(text, str) or not _B64URL.match(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the regex already rules this out
        raise ValueError("not unpadded base64url") from exc
    if b64url_encode(data) != text:  # non-zero trailing bits: a second spelling
        raise ValueError("not canonical base64url")
    return data


def normalize_node_url(url: str) -> str:
    """The canonical form of a node id: scheme and host lower-case, no trailing slash.

    Raises ValueError for anything that cannot be a node's base URL (no http(s),
    no host, user info, query or fragment).
    """
    if not isinstance(url, str) or not url or url != url.strip():
        raise ValueError("node URL must be a non-empty string without surrounding blanks")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"node URL must use http or https: {url!r}")
    if not parts.hostname or "@" in parts.netloc:
        raise ValueError(f"node URL needs a host and no user info: {url!r}")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ValueError(f"node URL must not have a query or fragment: {url!r}")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def decode_public_key(public_key_b64: str) -> Ed25519PublicKey:
    """The key object for a base64url public key; ProtocolMismatchError if malformed."""
    try:
        raw = b64url_decode(public_key_b64)
    except ValueError as exc:
        raise ProtocolMismatchError(
            "public key is not unpadded base64url", field="publicKey"
        ) from exc
    if len(raw) != 32:
        raise ProtocolMismatchError(
            f"public key must be 32 bytes, got {len(raw)}", field="publicKey"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id_for(public_key_b64: str) -> str:
    """A short stable id for a public key: the first 16 hex digits of its SHA-256."""
    raw = decode_public_key(public_key_b64).public_bytes_raw()
    return hashlib.sha256(raw).hexdigest()[:16]


def verify(public_key_b64: str, data: bytes, signature: str) -> bool:
    """Whether `signature` (base64url) is a valid signature of `data` by that key."""
    try:
        key = decode_public_key(public_key_b64)
        raw_signature = b64url_decode(signature)
    except (ProtocolMismatchError, ValueError):
        return False
    if len(raw_signature) != 64:
        return False
    try:
        key.verify(raw_signature, data)
    except InvalidSignature:
        return False
    return True


class NodeKey:
    """The node's private key together with its node URL; signs what the node publishes."""

    def __init__(self, private_key: Ed25519PrivateKey, node_url: str) -> None:
        self._private_key = private_key
        self._node_url = normalize_node_url(node_url)
        raw_public = private_key.public_key().public_bytes_raw()
        self._public_key_b64 = b64url_encode(raw_public)
        self._key_id = hashlib.sha256(raw_public).hexdigest()[:16]
        # Secrets (cursors, cookies) outlive a key rotation: after one they come from the
        # first key's bytes, kept in `<key file>.seed` (see federation.rotation).
        self.secret_seed: bytes | None = None

    @classmethod
    def generate(cls, node_url: str) -> NodeKey:
        return cls(Ed25519PrivateKey.generate(), node_url)

    @classmethod
    def from_pem(cls, pem: bytes, node_url: str) -> NodeKey:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"not an unencrypted PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError("the key file holds a key that is not Ed25519")
        return cls(key, node_url)

    def to_pem(self) -> bytes:
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def load_or_create(cls, path: Path, node_url: str) -> NodeKey:
        """Load the key at `path`, creating it (mode 0600, atomically) if it is missing.

        A key file that group or others may read is refused rather than silently
        fixed: the key may already have leaked, and the operator should know.
        Two processes starting at once end up with the same key, because the new
        file is linked into place, which fails if another process was first.
        """
        path = Path(path)
        if not path.exists():
            cls._create(path, node_url)
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc}") from exc
        if os.name == "posix" and mode & 0o077:
            raise KeyFileError(
                f"key file {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
            )
        try:
            pem = path.read_bytes()
            seed = seed_path(path)
            seed_bytes = seed.read_bytes() if seed.is_file() else None
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc}") from exc
        key = cls.from_pem(pem, node_url)
        key.secret_seed = seed_bytes
        return key

    @classmethod
    def _create(cls, path: Path, node_url: str) -> None:
        pem = cls.generate(node_url).to_pem()
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process created it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)

    @property
    def node_url(self) -> str:
        return self._node_url

    @property
    def public_key_b64(self) -> str:
        return self._public_key_b64

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return self._private_key

    def sign(self, data: bytes) -> str:
        """The Ed25519 signature of `data`, base64url without padding (86 characters)."""
        return b64url_encode(self._private_key.sign(data))

    def derive_secret(self, purpose: str) -> bytes:
        """A 32-byte secret for `purpose` (cursor MACs, cookies) derived from the key."""
        raw = self.secret_seed or self._private_key.private_bytes_raw()
        return hmac.new(raw, b"exchange/" + purpose.encode("utf-8"), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"NodeKey(node_url={self._node_url!r}, key_id={self._key_id!r})"


def seed_path(key_file: Path) -> Path:
    """Where the seed of the node's secrets lives once the key was rotated."""
    return key_file.with_name(key_file.name + ".seed")


_DESCRIPTOR_FIELDS = {
    "id": "id",
    "name": "name",
    "publicKey": "public_key",
    "keyId": "key_id",
    "softwareVersion": "software_version",
    "protocolVersion": "protocol_version",
}


@dataclass(frozen=True)
class Descriptor:
    """What a node says about itself at WELL_KNOWN_PATH (JSON keys in camelCase)."""

    id: str
    name: str
    public_key: str
    key_id: str
    software_version: str
    protocol_version: int = PROTOCOL_VERSION
    # federation.rotation: the previous key's signed word that this key follows it
    key_rotation: dict[str, Any] | None = None

    @classmethod
    def for_key(cls, key: NodeKey, name: str, software_version: str,
                key_rotation: dict[str, Any] | None = None) -> Descriptor:
        return cls(key.node_url, name, key.public_key_b64, key.key_id, software_version,
                   key_rotation=key_rotation)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {wire: getattr(self, attr) for wire, attr in _DESCRIPTOR_FIELDS.items()}
        data["versions"] = sorted(SUPPORTED_PROTOCOL_VERSIONS)
        if self.key_rotation is not None:
            data["keyRotation"] = self.key_rotation
        return data

    @classmethod
    def from_json(cls, data: object) -> Descriptor:
        """Validate a descriptor fetched from a peer; ProtocolMismatchError names the field."""
        if not isinstance(data, dict):
            raise ProtocolMismatchError("descriptor must be a JSON object", field="descriptor")
        values: dict[str, Any] = {}
        for wire in _DESCRIPTOR_FIELDS:
            if wire not in data:
                raise ProtocolMismatchError(f"descriptor lacks {wire!r}", field=wire)
        version = data["protocolVersion"]
        if type(version) is not int:
            raise ProtocolMismatchError(
                "descriptor protocolVersion must be an integer", field="protocolVersion"
            )
        spoken = data.get("versions", [version])
        if not isinstance(spoken, list) or not spoken or any(type(v) is not int for v in spoken):
            raise ProtocolMismatchError("descriptor versions must be a list of integers", field="versions")
        common = SUPPORTED_PROTOCOL_VERSIONS.intersection(spoken)
        if not common:
            raise ProtocolMismatchError(
                f"peer speaks protocol version(s) {sorted(set(spoken))}; this node speaks "
                f"{sorted(SUPPORTED_PROTOCOL_VERSIONS)} (signed feed pages); the peer must be upgraded",
                field="protocolVersion",
            )
        version = max(common)
        for wire, attr in _DESCRIPTOR_FIELDS.items():
            value = data[wire]
            if wire != "protocolVersion" and (not isinstance(value, str) or not value):
                raise ProtocolMismatchError(
                    f"descriptor {wire} must be a non-empty string", field=wire
                )
            values[attr] = value
        values["protocol_version"] = version
        try:
            node_id = normalize_node_url(values["id"])
        except ValueError as exc:
            raise ProtocolMismatchError(f"descriptor id: {exc}", field="id") from exc
        if node_id != values["id"]:
            raise ProtocolMismatchError(
                f"descriptor id {values['id']!r} is not in canonical form {node_id!r}",
                field="id",
            )
        if key_id_for(values["public_key"]) != values["key_id"]:
            raise ProtocolMismatchError(
                "descriptor keyId does not belong to its publicKey", field="keyId"
            )
        rotation = data.get("keyRotation")
        values["key_rotation"] = rotation if isinstance(rotation, dict) else None
        return cls(**values)
