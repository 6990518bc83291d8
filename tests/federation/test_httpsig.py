"""HTTP message signatures between nodes: round trips and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from starlette.datastructures import Headers

from federation.errors import BadSignatureError, UnknownPeerError
from federation.httpsig import sign_request, verify_request
from federation.identity import NodeKey

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
A = NodeKey.generate("https://nord.example")
B = NodeKey.generate("https://sued.example")
PEERS = {A.node_url: A.public_key_b64, B.node_url: B.public_key_b64}
URL = "https://mitte.example/graphql?op=changes"


def signed(
    key: NodeKey = A,
    now: datetime = NOW,
    body: bytes = b'{"query":"{changes}"}',
    method: str = "POST",
    url: str = URL,
    **kwargs: timedelta,
) -> httpx.Request:
    request = httpx.Request(
        method,
        url,
        content=body if method != "GET" else None,
        headers={"content-type": "application/json"},
    )
    sign_request(request, key, now, **kwargs)
    return request


def check(
    request: httpx.Request,
    now: datetime = NOW,
    *,
    method: str | None = None,
    url: str | None = None,
    body: bytes | None = None,
    peers: dict[str, str] = PEERS,
) -> str:
    return verify_request(
        method or request.method,
        url or str(request.url),
        request.headers,
        request.content if body is None else body,
        peers.get,
        now,
    )


def test_round_trip_post() -> None:
    request = signed()
    assert request.headers["content-digest"].startswith("sha-256=:")
    assert 'keyid="https://nord.example"' in request.headers["signature-input"]
    assert 'tag="exchange-node"' in request.headers["signature-input"]
    assert check(request) == A.node_url


def test_round_trip_get_signs_the_empty_body() -> None:
    request = signed(method="GET", body=b"")
    assert "content-digest" in request.headers
    assert check(request) == A.node_url


def test_plain_and_starlette_headers() -> None:
    request = signed()
    plain = dict(request.headers)
    assert verify_request("POST", URL, plain, request.content, PEERS.get, NOW) == A.node_url
    raw = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    starlette = Headers(raw=raw)
    assert verify_request("POST", URL, starlette, request.content, PEERS.get, NOW) == A.node_url


def test_resigning_keeps_a_matching_digest() -> None:
    request = signed()
    sign_request(request, B, NOW)
    assert check(request) == B.node_url


def _reason(request: httpx.Request, **kwargs: object) -> str:
    with pytest.raises(BadSignatureError) as caught:
        check(request, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code in {"BAD_SIGNATURE", "UNKNOWN_PEER"}
    assert caught.value.message
    return caught.value.reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param(
            {"body": b'{"query":"{changes(first:500)}"}'}, "digest_mismatch", id="tampered-body"
        ),
        pytest.param({"body": b""}, "digest_mismatch", id="body-dropped"),
        pytest.param(
            {"url": "https://mitte.example/graphql?op=entries"}, "invalid", id="tampered-query"
        ),
        pytest.param(
            {"url": "https://mitte.example/admin?op=changes"}, "invalid", id="tampered-path"
        ),
        pytest.param(
            {"url": "https://evil.example/graphql?op=changes"}, "invalid", id="other-host"
        ),
        pytest.param(
            {"url": "http://mitte.example/graphql?op=changes"}, "invalid", id="other-scheme"
        ),
        pytest.param({"method": "PUT"}, "invalid", id="tampered-method"),
        pytest.param({"now": NOW + timedelta(seconds=301)}, "too_old", id="replay-later"),
        pytest.param({"now": NOW + timedelta(days=1)}, "too_old", id="replay-next-day"),
        pytest.param({"now": NOW - timedelta(seconds=301)}, "in_future", id="clock-ahead"),
        pytest.param({"peers": {}}, "unknown_key", id="unknown-peer"),
        pytest.param({"peers": {A.node_url: B.public_key_b64}}, "invalid", id="wrong-key"),
        pytest.param({"peers": {A.node_url: "garbage"}}, "invalid", id="unusable-stored-key"),
    ],
)
def test_refusals(changes: dict[str, object], reason: str) -> None:
    assert _reason(signed(), **changes) == reason


def test_skew_inside_the_window_is_accepted() -> None:
    request = signed()
    assert check(request, NOW + timedelta(seconds=299)) == A.node_url
    assert check(request, NOW - timedelta(seconds=299)) == A.node_url


def test_expired_inside_the_window() -> None:
    request = signed(lifetime=timedelta(seconds=10))
    assert check(request, NOW + timedelta(seconds=10)) == A.node_url
    assert _reason(request, now=NOW + timedelta(seconds=11)) == "expired"


def test_unknown_peer_is_its_own_error() -> None:
    with pytest.raises(UnknownPeerError, match="nord.example"):
        check(signed(), peers={})


def test_impostor_claiming_a_peers_url() -> None:
    impostor = NodeKey(B.private_key, A.node_url)
    assert _reason(signed(impostor)) == "invalid"


@pytest.mark.parametrize("drop", ["signature", "signature-input"])
def test_missing_signature(drop: str) -> None:
    request = signed()
    del request.headers[drop]
    assert _reason(request) == "missing"


def test_unsigned_request() -> None:
    request = httpx.Request("GET", URL)
    assert _reason(request) == "missing"


def test_removed_digest_header() -> None:
    request = signed()
    del request.headers["content-digest"]
    assert _reason(request) == "malformed"


def test_garbage_signature_headers() -> None:
    request = signed()
    request.headers["signature"] = "not a structured field ("
    assert _reason(request) == "malformed"


def _library_signed(
    covered: tuple[str, ...], tag: str = "exchange-node", body: bytes | None = b"{}"
) -> httpx.Request:
    request = httpx.Request("POST", URL, content=b"{}")
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={A.node_url: A.private_key}),
    )
    signer.sign(
        request, key_id=A.node_url, created=NOW, tag=tag, covered_component_ids=covered, body=body
    )
    return request


def test_signature_without_digest_coverage() -> None:
    request = _library_signed(("@method", "@target-uri"), body=None)
    assert _reason(request) == "malformed"


def test_signature_without_target_coverage() -> None:
    request = _library_signed(("@method",))
    assert _reason(request) == "malformed"


def test_signature_for_another_application() -> None:
    request = _library_signed(("@method", "@target-uri"), tag="someone-else")
    assert _reason(request) == "missing"


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone"):
        sign_request(httpx.Request("GET", URL), A, datetime(2025, 3, 1))
    with pytest.raises(ValueError, match="timezone"):
        check(signed(), datetime(2025, 3, 1))
