"""Answers to calls between two nodes: served to their addressee only, pulled on a hint, confirmed by pulling.

The answering node serves `GET /federation/answers` to a peer that signs its
request, and answers only with the answers addressed to that peer which it
has not confirmed yet (an answer is never served to anyone else, and never
enters the change feed that other peers read). The addressee pulls when it
gets a hint from the answering node; each pull names in `confirm` the
versions the previous one stored, which marks them delivered there. The
answering node's `Courier` hints an addressee at once after an answer is
written or withdrawn, and again with a growing pause (`BACKOFF`) while
versions stay unconfirmed.

The addressee checks every envelope: signed with the sending peer's own
pinned key (a vouched key does not count: answers are never relayed), then
`exchange.calls.Answers.accept`. What it refuses is recorded as a `Refusal`
and logged for the operator, and not confirmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise.expressions import F

from exchange.calls.answers import AnswerRefused, Answers, refuse
from exchange.calls.models import Answer, Refusal
from exchange.db import Database
from exchange.envelope import canonical_json
from exchange.errors import ExchangeError
from exchange.models import Peer
from federation.client import PeerClient
from federation.feed import authenticate_peer
from federation.identity import NodeKey, verify

log = logging.getLogger("exchange.federation")


MAX_SERVED = 100  # answers in one reply
MAX_CONFIRM = 500
BACKOFF = (5, 15, 60, 300, 900, 3600)  # seconds before the n-th hint is sent again
ROUNDS = 10  # pulls after one hint, at most


async def serve_answers(request: Request, key: NodeKey, clock: Callable[[], datetime]) -> Response:
    """The answers written here for the peer that signed the request, after confirming what it names."""
    query = request.url.query
    url = key.node_url + request.url.path + (f"?{query}" if query else "")
    try:
        peer = await authenticate_peer("GET", url, request.headers, b"", clock())
    except ExchangeError as exc:
        log.info("answers refused: %s [%s]", exc.message, exc.code)
        return JSONResponse({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
                            status_code=401)
    for item in (request.query_params.get("confirm") or "").split(",")[:MAX_CONFIRM]:
        uid, _, version = item.partition(":")
        try:
            parsed, number = uuid.UUID(uid), int(version)
        except ValueError:
            continue
        await Answer.filter(uid=parsed, addressee=peer.url, origin_node=key.node_url, version__gte=number,
                            confirmed_version__lt=number).update(confirmed_version=number)
    rows = await Answer.filter(addressee=peer.url, origin_node=key.node_url,
                               confirmed_version__lt=F("version")).order_by("id").limit(MAX_SERVED)
    return JSONResponse({"answers": [{"envelope": a.envelope, "signature": a.signature} for a in rows]})


class AnswerPuller:
    """The addressee's side: pull a peer's answers for us, check and store them, confirm them."""

    def __init__(self, answers: Answers, client: Callable[[], PeerClient], clock: Callable[[], datetime]) -> None:
        self.answers, self.client, self.clock = answers, client, clock
        self.stored = 0
        self.refused = 0

    async def pull(self, peer: Peer) -> int:
        """Pull until nothing new comes; returns how many versions were stored."""
        stored = 0
        confirm: list[str] = []
        for _ in range(ROUNDS):
            items = await self.client().answers(peer.url, confirm)
            confirm = []
            for item in items:
                envelope, signature = item.get("envelope"), item.get("signature")
                try:
                    if not isinstance(envelope, dict) or not isinstance(signature, str) or not verify(
                            peer.public_key, canonical_json(envelope), signature):
                        raise AnswerRefused(f"the signature does not match {peer.url}'s key: a forged answer")
                    if await self.answers.accept(envelope, signature, peer.url) is not None:
                        stored += 1
                except AnswerRefused as exc:
                    self.refused += 1
                    log.warning("answer from %s refused: %s", peer.url, exc)
                    if not await Refusal.exists(peer_url=peer.url, answer_uid=str(envelope.get("id")
                                                if isinstance(envelope, dict) else "")[:200], reason=str(exc)[:500]):
                        await refuse(peer.url, envelope, str(exc), self.clock())
                    continue
                confirm.append(f"{envelope['id']}:{envelope['version']}")
            if not confirm:
                break
        self.stored += stored
        return stored

    async def pull_from(self, url: str) -> None:
        """`pull` for a hint's sender, in the background (failures are logged, the next hint retries)."""
        try:
            peer = await Peer.get(url=url)
            await self.pull(peer)
        except ExchangeError as exc:
            log.info("answers from %s not pulled: %s [%s]", url, exc.message, exc.code)
        except Exception:  # the answering node hints again until we confirm
            log.exception("pulling answers from %s failed", url)


class Courier:
    """The answering node's side: hint each addressee with unconfirmed answers, now and again later."""

    def __init__(self, database: Database, client: Callable[[], PeerClient], own: str,
                 clock: Callable[[], datetime], *, tick: float = 5.0) -> None:
        self.database, self.client, self.own, self.clock, self.tick = database, client, own, clock, tick
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.sent = 0

    async def on_answer(self, answer: Answer) -> None:
        """Answers listener: a version was written here; its addressee hears of it at once."""
        if answer.origin_node == self.own and answer.addressee != self.own:
            self._wake.set()

    async def deliver(self) -> int:
        """Hint every addressee whose unconfirmed answers are due; returns how many were hinted."""
        now = self.clock()
        due = await Answer.filter(origin_node=self.own, confirmed_version__lt=F("version"),
                                  next_attempt__lte=now).exclude(addressee=self.own)
        hinted = 0
        for addressee in sorted({a.addressee for a in due}):
            mine = [a for a in due if a.addressee == addressee]
            try:
                await self.client().hint(addressee)
                hinted += 1
            except ExchangeError as exc:
                log.info("answers for %s not announced: %s [%s]", addressee, exc.message, exc.code)
            for a in mine:
                pause = BACKOFF[min(a.attempts, len(BACKOFF) - 1)]
                await Answer.filter(id=a.id).update(attempts=a.attempts + 1,
                                                    next_attempt=now + timedelta(seconds=pause))
        self.sent += hinted
        return hinted

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)
            self._wake.clear()
            try:
                with self.database.bound():
                    await self.deliver()
            except Exception:  # the next tick tries again
                log.exception("announcing answers failed")

    async def startup(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
