"""Signing and verifying entry envelopes.

The origin node signs the canonical JSON (`exchange.envelope.canonical_json`)
of an envelope with its Ed25519 key; the signature travels beside the envelope
(`protocol.SignedEnvelope`), never inside it, so the signed bytes are exactly
the envelope. Any node that holds the envelope, however it got there, checks
the signature against the origin's public key before storing anything. Only the
origin signs: `sign_envelope` refuses a signer whose node URL is not the
envelope's origin.
"""

from __future__ import annotations

from typing import Any

from exchange.envelope import Signer, canonical_json
from federation.errors import BadSignatureError
from federation.identity import verify
from federation.protocol import SignedEnvelope, validate_envelope

__all__ = ["sign_envelope", "verify_envelope"]


def sign_envelope(envelope: dict[str, Any], signer: Signer) -> SignedEnvelope:
    """Sign an envelope as its origin; ValueError if the signer is someone else."""
    validate_envelope(envelope)
    if signer.node_url != envelope["origin"]:
        raise ValueError(
            f"node {signer.node_url} cannot sign an envelope whose origin is "
            f"{envelope['origin']}: only the origin signs its entries"
        )
    return SignedEnvelope(envelope, signer.sign(canonical_json(envelope)))


def verify_envelope(signed: SignedEnvelope, public_key_b64: str) -> None:
    """Raise BadSignatureError unless `signed` carries a valid signature by that key."""
    if not verify(public_key_b64, signed.canonical, signed.signature):
        raise BadSignatureError(
            f"signature of entry {signed.envelope.get('id')!r} version "
            f"{signed.envelope.get('version')!r} does not verify against the key of "
            f"{signed.envelope.get('origin')}"
        )
