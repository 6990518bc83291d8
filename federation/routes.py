"""Federation's face on a node's web app: descriptor, news hints, scheduler, health.

`federation_routes(node)` is called by `exchange.app.create_app`. It builds the
node's `Federation` (feed, peer client, syncer, scheduler, and the hinter that
tells peers of our writes, `federation.hints`), makes it reachable
for the GraphQL `changes` field (`node.services.extra["federation"]`), hooks
the scheduler into the app's startup and shutdown, adds peer health to
`/healthz` (in aggregate; per peer for operators), and serves three routes:
the node's descriptor at `WELL_KNOWN_PATH`, `POST /federation/hint`,
where a known peer says, with a signed request, that it has news, so that
we pull from it at once (and its answers to our calls), `GET /federation/attachments/{sha256}`, where a
known peer fetches the bytes of a file it may receive (`federation.blobs`), and
`GET /federation/answers`, where a peer pulls the answers to its calls written here (`federation.answers`).
The HTTP client for peers can be passed in as `node.extra["federation_http"]`
(tests wire nodes together through ASGI transports that way).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from exchange import __version__
from exchange.calls import Refusal
from exchange.calls.answers import Answers
from exchange.errors import ExchangeError
from exchange.models import Peer
from federation.answers import AnswerPuller, Courier, serve_answers
from federation.blobs import BLOB_PATH, BlobFetcher, serve_blob
from federation.client import ANSWERS_PATH, HINT_PATH, PeerClient
from federation.feed import Feed, authenticate_peer
from federation.hints import RECEIVED, Hinter
from federation.identity import WELL_KNOWN_PATH, Descriptor, NodeKey
from federation.scheduler import Scheduler
from federation.store import pending_counts
from federation.sync import Syncer

log = logging.getLogger("exchange.federation")

MAX_HINT_BYTES = 4096
PEER_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Federation:
    """What one node needs to federate: its key, feed, peer client, syncer and scheduler."""

    def __init__(self, node: Any, http: httpx.AsyncClient | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.node = node
        self.key: NodeKey = node.key
        self.clock = clock
        self.feed = Feed(node.key)
        self._http = http
        self.scheduler = Scheduler(node.database, self.syncer, node.settings.sync_interval)
        self.hinter = Hinter(node.database, self.client, node.key.node_url,
                             enabled=node.settings.sync_interval > 0)
        # answers to calls: written here for another node's call, or received for ours
        self.answers: Answers = node.extra.setdefault("answers", Answers(node.key))
        self.answer_puller = AnswerPuller(self.answers, self.client, clock)
        self.courier = Courier(node.database, self.client, node.key.node_url, clock)
        self.answers.listeners.append(self.courier.on_answer)
        self._pulls: set[asyncio.Task[None]] = set()

    def pull_answers(self, url: str) -> None:
        """Pull a peer's answers for us in the background (after its hint)."""
        task = asyncio.ensure_future(self.answer_puller.pull_from(url))
        self._pulls.add(task)
        task.add_done_callback(self._pulls.discard)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=PEER_TIMEOUT, follow_redirects=False)
        return self._http

    def client(self) -> PeerClient:
        return PeerClient(self.http, self.key, self.clock, deadline=self.node.settings.peer_deadline,
                          allow_plain_http=self.node.settings.allow_plain_http)

    def syncer(self) -> Syncer:
        return Syncer(self.key, self.client(), listeners=self.node.catalogue.listeners,
                      batch_listeners=self.node.catalogue.batch_listeners,
                      clock=self.clock, interval=self.node.settings.sync_interval,
                      after_pull=self.blobs().fetch_missing if "attachments" in self.node.extra else None)

    def blobs(self) -> BlobFetcher:
        return BlobFetcher(self.node.extra["attachments"], self.http, self.key, self.clock,
                           allow_plain_http=self.node.settings.allow_plain_http,
                           deadline=max(self.node.settings.peer_deadline, 120.0))

    def descriptor(self) -> Descriptor:
        from federation.rotation import current_statement

        return Descriptor.for_key(self.key, self.node.settings.node_name, __version__,
                                  key_rotation=current_statement(self.node.settings.resolved_key_file, self.key))

    async def startup(self) -> None:
        self.scheduler.start()
        await self.courier.startup()

    async def shutdown(self) -> None:
        await self.courier.shutdown()
        for task in list(self._pulls):
            task.cancel()
        await self.hinter.shutdown()
        await self.scheduler.stop()

    async def health(self, operator: bool = False) -> dict[str, Any]:
        """`/healthz`'s part: peers in aggregate for anyone; each peer's URL, lag and last
        error (`peerStates`) for operators only."""
        now = self.clock()
        pending = await pending_counts()
        peers = list(await Peer.all().order_by("url"))
        states: dict[str, dict[str, Any]] = {}
        for peer in peers:
            states[peer.url] = {
                "entriesBehind": peer.entries_behind,
                "lastSuccess": peer.last_success.isoformat() if peer.last_success else None,
                "secondsSinceSuccess": round((now - peer.last_success).total_seconds())
                if peer.last_success else None,
                "failures": peer.failures,
                "lastError": peer.last_error or None,
                "pending": pending.get(peer.url, 0),
            }
        summary = {
            "count": len(peers),
            "failing": sum(1 for p in peers if p.failures),
            "entriesBehind": sum(p.entries_behind or 0 for p in peers),
            "pending": sum(pending.values()),
        }
        if not operator:
            return {"peers": summary}
        refused = [{"peer": r.peer_url, "answer": r.answer_uid, "reason": r.reason, "at": r.created_at.isoformat()}
                   for r in await Refusal.all().order_by("-id").limit(20)]
        return {"peers": summary, "peerStates": states, "refusedAnswers": refused}  # the newest 20


def federation_routes(node: Any) -> list[BaseRoute]:
    federation = Federation(node, node.extra.get("federation_http"))
    node.extra["federation"] = federation
    node.services.extra["federation"] = federation
    node.extra.setdefault("startup", []).append(federation.startup)
    node.extra.setdefault("shutdown", []).append(federation.shutdown)
    node.extra.setdefault("health", {})["peers"] = federation.health
    node.catalogue.listeners.append(federation.hinter.on_entry)  # peers hear of writes at once

    async def descriptor(request: Request) -> Response:
        return JSONResponse(federation.descriptor().to_json(), headers={"Cache-Control": "max-age=300"})

    async def hint(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_HINT_BYTES:
                return _error("the hint is too large", "PAYLOAD_TOO_LARGE", 413)
        query = request.url.query
        url = federation.key.node_url + request.url.path + (f"?{query}" if query else "")
        try:
            peer = await authenticate_peer("POST", url, request.headers, body, federation.clock())
        except ExchangeError as exc:
            log.info("hint refused: %s [%s]", exc.message, exc.code)
            return _error(exc.message, exc.code, 401)
        RECEIVED.labels(peer.url).inc()
        await federation.scheduler.wake(peer.url)
        federation.pull_answers(peer.url)  # answers to our calls come on a hint too
        return JSONResponse({"accepted": True, "peer": peer.url}, status_code=202)

    async def blob(request: Request) -> Response:
        return await serve_blob(node.extra["attachments"], federation.key, request, federation.clock())

    async def answers(request: Request) -> Response:
        return await serve_answers(request, federation.key, federation.clock)

    return [
        Route(ANSWERS_PATH, answers, methods=["GET"]),
        Route(BLOB_PATH + "{digest}", blob, methods=["GET"]),
        Route(WELL_KNOWN_PATH, descriptor, methods=["GET"]),
        Route(HINT_PATH, hint, methods=["POST"]),
    ]


def _error(message: str, code: str, status: int) -> Response:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)
