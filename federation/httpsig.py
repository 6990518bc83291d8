"""HTTP message signatures (RFC 9421) on requests between nodes.

A node signs each request to a peer with its Ed25519 key: the signature covers
`@method`, `@target-uri` and `content-digest` (RFC 9530 SHA-256 of the body,
added as a `Content-Digest` header, also for an empty body), with `created`,
`expires`, `keyid` = the node's URL and `tag` = `SIGNATURE_TAG`. The receiver
resolves the key id to a peer's public key, checks the time window against the
`now` it passes in (no hidden clock), the signature and the digest, and learns
which peer is talking. Both halves work on plain values, so the Starlette side
calls `verify_request(request.method, url, request.headers, body, ...)`; behind
a reverse proxy it must pass the public URL (node URL + path + query), since
that is what the client signed. Each request carries a fresh signed `nonce`,
so no two requests have the same signature. Replays of a request inside the
time window are not detected here: the feed is read-only, so a replay only
repeats an answer.

Feed pages are signed too (`sign_response` / `verify_response`): the
answering node signs `@status`, the response's `content-digest` (RFC 9530,
SHA-256 of the body) and, with the `req` flag of RFC 9421 section 2.4, the
request's `@method`, `@target-uri` (which holds the cursor `after` and
`first`), `signature` and `signature-input` (which name the requesting peer
and carry its nonce), with `tag` = `PAGE_TAG` and `keyid` = its node URL. A
page thus cannot be moved to another request, another cursor or another
peer, nor changed, without the puller noticing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from federation.errors import BadSignatureError, ProtocolMismatchError, UnknownPeerError
from federation.identity import NodeKey, decode_public_key

__all__ = [
    "MAX_SKEW",
    "PAGE_TAG",
    "SIGNATURE_LIFETIME",
    "SIGNATURE_TAG",
    "sign_request",
    "sign_response",
    "verify_request",
    "verify_response",
]

SIGNATURE_TAG = "exchange-node"
PAGE_TAG = "exchange-feed-page"
SIGNATURE_LIFETIME = timedelta(seconds=300)
MAX_SKEW = timedelta(seconds=300)
COVERED_COMPONENTS = ("@method", "@target-uri", "content-digest")
PAGE_COMPONENTS = (
    "@status", "content-digest", '"@method";req', '"@target-uri";req', '"signature";req',
    '"signature-input";req',
)


class _HeaderSource(Protocol):
    def items(self) -> Iterable[tuple[str, str]]: ...


class _Headers:
    """A read-only header view over field lines, as the library reads them."""

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self._lines = lines

    def items(self) -> list[tuple[str, str]]:
        return self._lines

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._lines))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self._lines)


@dataclass
class _Message:
    method: str
    url: str
    headers: Any


@dataclass
class _Response:
    status_code: int
    headers: Any
    request: _Message


class _Refused(InvalidSignature):
    """Carries our error through the library, which re-raises InvalidSignature as is."""

    def __init__(self, error: BadSignatureError) -> None:
        super().__init__(error.message)
        self.error = error


class _Keys(HTTPSignatureKeyResolver):
    def __init__(
        self,
        private: NodeKey | None = None,
        resolve: Callable[[str], str | None] | None = None,
    ) -> None:
        self._private = private
        self._resolve = resolve

    def resolve_private_key(self, key_id: str) -> Any:
        assert self._private is not None and key_id == self._private.node_url
        return self._private.private_key

    def resolve_public_key(self, key_id: str) -> Any:
        public = self._resolve(key_id) if self._resolve is not None else None
        if public is None:
            raise _Refused(UnknownPeerError(f"request signed by unknown node {key_id!r}"))
        try:
            return decode_public_key(public)
        except ProtocolMismatchError as exc:
            raise _Refused(
                BadSignatureError(f"stored key of {key_id} is unusable: {exc.message}")
            ) from exc


class _Verifier(HTTPMessageVerifier):
    """The library's verifier with our clock and our time-window reasons."""

    def __init__(self, keys: _Keys, now: datetime, max_skew: timedelta) -> None:
        super().__init__(signature_algorithm=algorithms.ED25519, key_resolver=keys)
        self._now = now
        self._skew = max_skew

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        params = sig_input.params
        created = params.get("created")
        if type(created) is not int:
            raise _Refused(BadSignatureError("signature lacks 'created'", reason="malformed"))
        moment = datetime.fromtimestamp(created, tz=UTC)
        if moment > self._now + self._skew:
            raise _Refused(
                BadSignatureError(
                    f"signature created {moment.isoformat()} is too far in the future "
                    f"(more than {int(self._skew.total_seconds())} s ahead)",
                    reason="in_future",
                )
            )
        if moment < self._now - self._skew:
            raise _Refused(
                BadSignatureError(
                    f"signature created {moment.isoformat()} is older than "
                    f"{int(self._skew.total_seconds())} s (a replay or a wrong clock)",
                    reason="too_old",
                )
            )
        expires = params.get("expires")
        if expires is not None:
            if type(expires) is not int:
                raise _Refused(BadSignatureError("'expires' is not an integer", reason="malformed"))
            if datetime.fromtimestamp(expires, tz=UTC) < self._now:
                raise _Refused(BadSignatureError("signature has expired", reason="expired"))


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def sign_request(
    request: httpx.Request,
    key: NodeKey,
    now: datetime,
    lifetime: timedelta = SIGNATURE_LIFETIME,
) -> None:
    """Sign `request` in place as node `key.node_url`; adds Content-Digest and signature headers.

    The body must be in memory (`httpx.Request(..., content=...)` or `json=`).
    """
    created = _aware(now)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(key))
    signer.sign(
        _Message(request.method, str(request.url), request.headers),
        key_id=key.node_url,
        created=created,
        expires=created + lifetime,
        nonce=secrets.token_urlsafe(16),
        tag=SIGNATURE_TAG,
        covered_component_ids=COVERED_COMPONENTS[:2],
        body=request.content,
        use_existing_digest=True,
    )


def _reason(text: str) -> str:
    """Sort the library's messages into our stable reasons (best effort, for logs)."""
    if text.startswith("No signatures"):
        return "missing"
    if any(word in text for word in ("Malformed", "Required component", "not found", "parameter")):
        return "malformed"
    return "invalid"


def _lines(headers: Mapping[str, str] | _HeaderSource) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, value in headers.items()]


def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str] | _HeaderSource,
    body: bytes,
    resolve_key: Callable[[str], str | None],
    now: datetime,
    max_skew: timedelta = MAX_SKEW,
) -> str:
    """The URL of the peer that signed this request, or BadSignatureError saying why.

    `resolve_key(key_id)` returns the public key (base64url) of a known peer or
    None; an unknown key id raises UnknownPeerError. `.reason` on the error is
    one of missing, malformed, unknown_key, in_future, too_old, expired,
    digest_mismatch, invalid.
    """
    lines = _lines(headers)
    names = {name.lower() for name, _ in lines}
    if "signature" not in names or "signature-input" not in names:
        raise BadSignatureError("request carries no HTTP message signature", reason="missing")
    message = _Message(method, url, _Headers(lines))
    verifier = _Verifier(_Keys(resolve=resolve_key), _aware(now), max_skew)
    try:
        results = verifier.verify(
            message, max_age=None, expect_tag=SIGNATURE_TAG, require_components=COVERED_COMPONENTS
        )
    except _Refused as refused:
        raise refused.error from None
    except InvalidSignature as exc:
        text = str(exc) or "the signature does not match the request or the key"
        raise BadSignatureError(
            f"request signature refused: {text}", reason=_reason(text)
        ) from None
    except HTTPMessageSignaturesException as exc:
        raise BadSignatureError(f"request signature refused: {exc}", reason="malformed") from None
    if len(results) != 1:
        raise BadSignatureError("request carries more than one node signature", reason="malformed")
    try:
        ContentDigest.verify_components(results[0].covered_components, body)
    except HTTPMessageSignaturesException as exc:
        raise BadSignatureError(
            f"request body does not match its signed Content-Digest: {exc}",
            reason="digest_mismatch",
        ) from None
    return str(results[0].parameters["keyid"])


def sign_response(
    status: int,
    body: bytes,
    request_method: str,
    request_url: str,
    request_headers: Mapping[str, str] | _HeaderSource,
    key: NodeKey,
    now: datetime,
    lifetime: timedelta = SIGNATURE_LIFETIME,
) -> dict[str, str]:
    """The headers that sign a response to the given (already verified) request.

    Returns Content-Digest, Signature-Input and Signature for the caller to add.
    `request_url` is the URL the requester signed (the public URL).
    """
    created = _aware(now)
    headers: dict[str, str] = {}
    request = _Message(request_method, request_url, _Headers(_lines(request_headers)))
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(key))
    signer.sign(
        _Response(status, headers, request),
        key_id=key.node_url,
        created=created,
        expires=created + lifetime,
        tag=PAGE_TAG,
        covered_component_ids=PAGE_COMPONENTS[:1] + PAGE_COMPONENTS[2:],
        body=body,
    )
    return headers


def verify_response(
    status: int,
    headers: Mapping[str, str] | _HeaderSource,
    body: bytes,
    request: httpx.Request,
    signer_url: str,
    public_key: str,
    now: datetime,
    max_skew: timedelta = MAX_SKEW,
) -> None:
    """Check that `signer_url` signed this answer to exactly `request`; BadSignatureError otherwise.

    `request` is the signed request as sent. Reasons: missing, malformed,
    in_future, too_old, expired, digest_mismatch, invalid.
    """
    lines = _lines(headers)
    names = {name.lower() for name, _ in lines}
    if "signature" not in names or "signature-input" not in names:
        raise BadSignatureError(
            f"{signer_url} sent a feed page without a signature (it may run an older version)",
            reason="missing",
        )
    asked = _Message(request.method, str(request.url), _Headers(_lines(request.headers)))
    message = _Response(status, _Headers(lines), asked)
    keys = _Keys(resolve=lambda key_id: public_key if key_id == signer_url else None)
    verifier = _Verifier(keys, _aware(now), max_skew)
    try:
        results = verifier.verify(
            message, max_age=None, expect_tag=PAGE_TAG, require_components=PAGE_COMPONENTS
        )
    except _Refused as refused:
        error = refused.error
        raise BadSignatureError(f"feed page refused: {error.message}", reason=error.reason) from None
    except InvalidSignature as exc:
        text = str(exc) or "the signature does not match the page, the request or the key"
        raise BadSignatureError(
            f"feed page signature refused (not this peer's answer to this request): {text}",
            reason=_reason(text),
        ) from None
    except HTTPMessageSignaturesException as exc:
        raise BadSignatureError(f"feed page signature refused: {exc}", reason="malformed") from None
    if len(results) != 1:
        raise BadSignatureError("feed page carries more than one signature", reason="malformed")
    try:
        ContentDigest.verify_components(results[0].covered_components, body)
    except HTTPMessageSignaturesException as exc:
        raise BadSignatureError(
            f"feed page does not match its signed Content-Digest (changed on the way): {exc}",
            reason="digest_mismatch",
        ) from None
