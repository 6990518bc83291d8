"""Federation: how nodes of the exchange know each other and share entries.

This package's pure half holds the wire format (`protocol`), node identity and
keys (`identity`), envelope signatures (`signing`), HTTP request signatures
(`httpsig`), merge rules (`merge`), opaque cursors (`cursors`) and the error
tree (`errors`); the I/O half (client, store, batch, sync) builds on it. Other
packages import only the names below.
"""

from federation.cursors import (
    KeysetPosition,
    decode_keyset_cursor,
    decode_seq_cursor,
    encode_keyset_cursor,
    encode_seq_cursor,
    filter_fingerprint,
)
from federation.errors import (
    BadSignatureError,
    KeyFileError,
    OversizedAnswerError,
    PeerRefusedError,
    PeerUnreachableError,
    ProtocolMismatchError,
    UnknownPeerError,
)
from federation.httpsig import sign_request, verify_request
from federation.identity import (
    PROTOCOL_VERSION,
    WELL_KNOWN_PATH,
    Descriptor,
    NodeKey,
    normalize_node_url,
)
from federation.merge import Action, Decision, Held, decide, merge_batch
from federation.protocol import ChangeBatch, ChangeItem, SignedEnvelope, validate_envelope
from federation.signing import sign_envelope, verify_envelope

__all__ = [
    "PROTOCOL_VERSION",
    "WELL_KNOWN_PATH",
    "Action",
    "BadSignatureError",
    "ChangeBatch",
    "ChangeItem",
    "Decision",
    "Descriptor",
    "Held",
    "KeyFileError",
    "KeysetPosition",
    "NodeKey",
    "OversizedAnswerError",
    "PeerRefusedError",
    "PeerUnreachableError",
    "ProtocolMismatchError",
    "SignedEnvelope",
    "UnknownPeerError",
    "decide",
    "decode_keyset_cursor",
    "decode_seq_cursor",
    "encode_keyset_cursor",
    "encode_seq_cursor",
    "filter_fingerprint",
    "merge_batch",
    "normalize_node_url",
    "sign_envelope",
    "sign_request",
    "validate_envelope",
    "verify_envelope",
    "verify_request",
]
