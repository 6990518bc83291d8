"""The errors of federation: what can go wrong between two nodes.

    exchange.errors.FederationError            FEDERATION_ERROR
    ├── PeerUnreachableError                   PEER_UNREACHABLE   (network, timeout, 5xx)
    ├── PeerRefusedError                       PEER_REFUSED       (the peer answered 401/403)
    ├── BadSignatureError                      BAD_SIGNATURE      (.reason, see below)
    │   └── UnknownPeerError                   UNKNOWN_PEER       (key id not among our peers)
    ├── ProtocolMismatchError                  PROTOCOL_MISMATCH  (.field names what was wrong)
    │   └── OversizedAnswerError               OVERSIZED_ANSWER   (too many items, too many bytes)
    ├── InsecureTransportError                 INSECURE_TRANSPORT (plain HTTP outside loopback)
    └── KeyFileError                           BAD_KEY_FILE       (the node's own key file)

`BadSignatureError.reason` is a stable lower-case word (`missing`, `malformed`,
`unknown_key`, `expired`, `too_old`, `in_future`, `digest_mismatch`, `invalid`)
so that the HTTP face can log and count refusals without parsing messages. An
oversized answer is a protocol mismatch too, so whoever refuses a batch for a
bad shape also refuses it for a bad size.
"""

from __future__ import annotations

from exchange.errors import FederationError

__all__ = [
    "BadSignatureError",
    "FederationError",
    "InsecureTransportError",
    "KeyFileError",
    "OversizedAnswerError",
    "PeerRefusedError",
    "PeerUnreachableError",
    "ProtocolMismatchError",
    "UnknownPeerError",
]


class PeerUnreachableError(FederationError):
    """The peer could not be reached or failed on its side; worth retrying later."""

    code = "PEER_UNREACHABLE"


class PeerRefusedError(FederationError):
    """The peer answered but will not talk to us (unknown to it, or not allowed)."""

    code = "PEER_REFUSED"


class BadSignatureError(FederationError):
    """A signature (on an envelope or an HTTP request) did not hold."""

    code = "BAD_SIGNATURE"

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


class UnknownPeerError(BadSignatureError):
    """A request was signed with a key id that is not one of our peers."""

    code = "UNKNOWN_PEER"

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="unknown_key")


class ProtocolMismatchError(FederationError):
    """The other side sent something that is not our wire format."""

    code = "PROTOCOL_MISMATCH"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class OversizedAnswerError(ProtocolMismatchError):
    """An answer exceeds our limits (items per batch, bytes per envelope)."""

    code = "OVERSIZED_ANSWER"


class InsecureTransportError(FederationError):
    """A peer URL is plain HTTP outside loopback, and plain HTTP is not allowed."""

    code = "INSECURE_TRANSPORT"


class KeyFileError(FederationError):
    """The node's own key file is missing, unreadable, malformed or exposed."""

    code = "BAD_KEY_FILE"
