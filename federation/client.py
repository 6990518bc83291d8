"""Talking to a peer over HTTP: its descriptor, its change feed, a "news" hint.

`PeerClient` wraps an `httpx.AsyncClient` that the caller passes in (a real
one, an ASGI transport to an in-process node, or a `MockTransport` playing a
hostile peer). Every request to a peer's feed is signed with our node key
(RFC 9421) and sent as a GraphQL GET with the operation in
`graphql/operations/Changes.graphql`, so the signature covers the whole
request; the page that comes back must carry the peer's signature bound to
that request (`httpsig.verify_response`), checked with the key pinned for the
peer before anything of it is used. Requests to a peer outside loopback go
over HTTPS only, unless plain HTTP is allowed for a closed network
(InsecureTransportError). Outside errors are translated here and only here: network errors,
timeouts and 5xx become PeerUnreachableError, 401/403 and refusals in the
GraphQL errors PeerRefusedError, anything that is not our wire format
ProtocolMismatchError, too many bytes OversizedAnswerError. Every request
has a total deadline (`deadline` seconds for connecting, sending and reading
the whole answer), so a peer that trickles its answer byte by byte cannot
hold a sync for longer; JSON nested deeper than `MAX_JSON_DEPTH` is not our
wire format, and is refused without recursing into it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from federation.errors import (
    InsecureTransportError,
    OversizedAnswerError,
    PeerRefusedError,
    PeerUnreachableError,
    ProtocolMismatchError,
)
from federation.httpsig import sign_request, verify_response
from federation.identity import WELL_KNOWN_PATH, Descriptor, NodeKey, normalize_node_url
from federation.protocol import MAX_BATCH_ITEMS, ChangeBatch

__all__ = ["CHANGES_OPERATION", "HINT_PATH", "FeedAnswer", "PeerClient", "check_transport"]

HINT_PATH = "/federation/hint"
ANSWERS_PATH = "/federation/answers"  # answers to calls, for their addressee only (federation.answers)
MAX_ANSWER_BYTES = 64 * 1024 * 1024
MAX_DESCRIPTOR_BYTES = 64 * 1024
# Seconds one request to a peer may take in all (a feed page included), whatever its pace.
DEFAULT_DEADLINE = 60.0
# Our wire format nests about eight levels deep; anything far deeper is not it.
MAX_JSON_DEPTH = 64
REFUSAL_CODES = frozenset({"UNKNOWN_PEER", "BAD_SIGNATURE", "FORBIDDEN", "UNAUTHENTICATED", "PEER_REFUSED"})


OPERATION_FILE = Path(__file__).parent / "Changes.graphql"  # links to graphql/operations/Changes.graphql
CHANGES_OPERATION = OPERATION_FILE.read_text(encoding="utf-8")


class FeedAnswer:
    """A parsed change batch and the peer's count of rows still waiting."""

    def __init__(self, batch: ChangeBatch, remaining: int | None, size: int) -> None:
        self.batch, self.remaining, self.size = batch, remaining, size


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_transport(url: str, allow_plain_http: bool) -> None:
    """InsecureTransportError unless `url` is https, loopback, or plain HTTP is allowed."""
    parts = httpx.URL(url)
    if parts.scheme == "https" or allow_plain_http or _loopback(parts.host):
        return
    raise InsecureTransportError(
        f"{parts.scheme}://{parts.host}: plain HTTP to a node outside loopback is refused; use its "
        "https:// URL, or set EXCHANGE_ALLOW_PLAIN_HTTP=true for peers inside a closed network"
    )


class PeerClient:
    """One node's HTTP conversations with its peers."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        key: NodeKey | None = None,
        clock: Callable[[], datetime] = _utcnow,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        deadline: float = DEFAULT_DEADLINE,
        allow_plain_http: bool = False,
    ) -> None:
        self.http = http
        self.key = key
        self.clock = clock
        self.max_answer_bytes = max_answer_bytes
        self.deadline = deadline
        self.allow_plain_http = allow_plain_http

    async def _send(self, request: httpx.Request, limit: int) -> tuple[int, bytes, httpx.Headers]:
        check_transport(str(request.url), self.allow_plain_http)
        if self.key is not None:
            sign_request(request, self.key, self.clock())
        where = f"{request.url.scheme}://{request.url.netloc.decode()}"
        try:
            async with asyncio.timeout(self.deadline):
                response = await self.http.send(request, stream=True)
                try:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > limit:
                            raise OversizedAnswerError(
                                f"{where} answered more than {limit} bytes; refused", field="answer"
                            )
                finally:
                    await response.aclose()
        except TimeoutError:
            raise PeerUnreachableError(
                f"{where} did not complete its answer within {self.deadline:g} s; given up"
            ) from None
        except httpx.TimeoutException as exc:
            raise PeerUnreachableError(f"{where} did not answer in time ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise PeerUnreachableError(f"{where} cannot be reached: {exc or type(exc).__name__}") from None
        status = response.status_code
        if status >= 500:
            raise PeerUnreachableError(f"{where} failed with HTTP {status}")
        if status in (401, 403):
            raise PeerRefusedError(f"{where} refused us with HTTP {status}: {_message(bytes(body))}")
        return status, bytes(body), response.headers

    async def descriptor(self, url: str) -> Descriptor:
        """Fetch and check a node's descriptor; its id must be the URL we asked."""
        base = normalize_node_url(url)
        status, body, _ = await self._send(httpx.Request("GET", base + WELL_KNOWN_PATH), MAX_DESCRIPTOR_BYTES)
        if status != 200:
            raise ProtocolMismatchError(f"{base}{WELL_KNOWN_PATH} answered HTTP {status}", field="descriptor")
        descriptor = Descriptor.from_json(_parse(body, base))
        if descriptor.id != base:
            raise ProtocolMismatchError(
                f"the node at {base} calls itself {descriptor.id}; add it under that URL", field="id"
            )
        return descriptor

    async def changes(
        self, peer_url: str, cursor: str | None, first: int = MAX_BATCH_ITEMS, *, peer_key: str
    ) -> FeedAnswer:
        """One page of a peer's change feed after `cursor`, signed by the peer (`peer_key`) for this request."""
        variables: dict[str, Any] = {"after": cursor, "first": first}
        request = httpx.Request(
            "GET", peer_url + "/graphql",
            params={"query": CHANGES_OPERATION, "operationName": "Changes",
                    "variables": json.dumps(variables, separators=(",", ":"))},
            headers={"Accept": "application/graphql-response+json, application/json"},
        )
        status, body, headers = await self._send(request, self.max_answer_bytes)
        data = _parse(body, peer_url)
        errors = data.get("errors") if isinstance(data, dict) else None
        if errors:
            first_error = errors[0] if isinstance(errors, list) and errors else {}
            code = str((first_error.get("extensions") or {}).get("code", "")) if isinstance(first_error, dict) else ""
            message = str(first_error.get("message", "")) if isinstance(first_error, dict) else ""
            if code in REFUSAL_CODES:
                raise PeerRefusedError(f"{peer_url} refused our request: {message} [{code}]")
            raise ProtocolMismatchError(f"{peer_url} answered an error: {message[:300]} [{code}]", field="errors")
        if status != 200:
            raise ProtocolMismatchError(f"{peer_url} answered HTTP {status}", field="status")
        # An error above applies nothing, so it may come unsigned; a page must be signed.
        verify_response(status, headers, body, request, peer_url, peer_key, self.clock())
        try:
            raw = dict(data["data"]["changes"])
        except (KeyError, TypeError, ValueError):
            raise ProtocolMismatchError(f"{peer_url} sent no changes", field="changes") from None
        remaining = raw.pop("remaining", None)
        if remaining is not None and (type(remaining) is not int or remaining < 0):
            raise ProtocolMismatchError("remaining must be a non-negative integer", field="remaining")
        batch = ChangeBatch.from_json(raw, max_items=first)
        return FeedAnswer(batch, remaining, len(body))

    async def answers(self, peer_url: str, confirm: list[str]) -> list[dict[str, Any]]:
        """The answers to calls a peer holds for us (`federation.answers`), confirming the
        versions `confirm` names ("uid:version")."""
        params = {"confirm": ",".join(confirm)} if confirm else None
        request = httpx.Request("GET", peer_url + ANSWERS_PATH, params=params,
                                headers={"Accept": "application/json"})
        status, body, _ = await self._send(request, self.max_answer_bytes)
        if status != 200:
            raise ProtocolMismatchError(f"{peer_url}{ANSWERS_PATH} answered HTTP {status}", field="status")
        data = _parse(body, peer_url)
        items = data.get("answers") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ProtocolMismatchError(f"{peer_url} sent no list of answers", field="answers")
        return items

    async def hint(self, peer_url: str) -> None:
        """Tell a peer that we have news, so that it pulls from us now."""
        assert self.key is not None, "a hint must be signed"
        body = json.dumps({"node": self.key.node_url}).encode()
        request = httpx.Request("POST", peer_url + HINT_PATH, content=body,
                                headers={"Content-Type": "application/json"})
        status, answer, _ = await self._send(request, MAX_DESCRIPTOR_BYTES)
        if status >= 400:
            raise PeerRefusedError(f"{peer_url} refused our hint with HTTP {status}: {_message(answer)}")


def _parse(body: bytes, where: str) -> Any:
    try:
        data = json.loads(body)
        deep = too_deep(data, MAX_JSON_DEPTH)
    except ValueError:
        raise ProtocolMismatchError(f"{where} answered something that is not JSON", field="answer") from None
    except RecursionError:  # the C parser's own guard, far beyond MAX_JSON_DEPTH
        deep = True
    if deep:
        raise ProtocolMismatchError(
            f"{where} answered JSON nested more than {MAX_JSON_DEPTH} levels deep", field="answer"
        )
    return data


def too_deep(value: Any, limit: int) -> bool:
    """Whether lists and objects in `value` (as `json.loads` makes them: dicts and lists,
    not their subclasses) nest more than `limit` levels (no recursion)."""
    level: list[Any] = [value]
    for _ in range(limit):
        inner: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                inner += [v for v in item.values() if type(v) is dict or type(v) is list]
            elif kind is list:
                inner += [v for v in item if type(v) is dict or type(v) is list]
        if not inner:
            return False
        level = inner
    return True


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
        return str(data["errors"][0]["message"])[:300]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return body[:200].decode("utf-8", "replace")
