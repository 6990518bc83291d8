"""Peers that answer too deep, too slowly or not at all, and peers whose pull raises.

A feed answer nested 100,000 levels deep (or merely deeper than our wire
format ever nests) is a protocol mismatch, not a RecursionError. Every
request to a peer has a total deadline: a peer that trickles its answer one
byte at a time, or never answers, is given up after it. Whatever a pull
raises is that peer's recorded failure with a backoff, logged once, and the
scheduler still pulls the other peers of its round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from exchange.models import Entry, Peer
from federation.client import MAX_JSON_DEPTH, PeerClient, too_deep
from federation.identity import NodeKey
from federation.scheduler import Scheduler
from federation.sync import Syncer, retry_delay
from tests.conftest import make_database
from tests.federation import test_hostile
from tests.federation.signedpeer import signed
from tests.federation.test_hostile import NOW, PEER, Setup, answer, envelope, respond

setup = test_hostile.setup  # the fixture: our database with one (hostile) peer


def nested(depth: int) -> bytes:
    return b'{"data":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [100_000, MAX_JSON_DEPTH])
async def test_deeply_nested_answers_are_a_protocol_mismatch(setup: Setup, depth: int) -> None:
    report = await setup.pull(respond(nested(depth)))
    assert report.error_code == "PROTOCOL_MISMATCH", report.error
    assert f"nested more than {MAX_JSON_DEPTH} levels" in report.error
    peer = await Peer.get(url=PEER)
    assert peer.failures == 1 and peer.next_attempt == NOW + retry_delay(1, 60, 0.0)
    # the same peer with an honest page is pulled as ever
    report = await setup.pull(respond(answer([envelope(setup.key)])))
    assert report.ok and report.applied == 1


def test_depth_is_counted_without_recursion() -> None:
    value: object = 1
    for level in range(MAX_JSON_DEPTH):  # exactly MAX_JSON_DEPTH levels, lists and objects
        value = {"a": value} if level % 2 else [value]
    assert not too_deep(value, MAX_JSON_DEPTH)
    assert too_deep([value], MAX_JSON_DEPTH)
    assert not too_deep([[], {}, [[1]], {"a": {"b": 2}}], 3)
    assert too_deep([[], {"a": {"b": [3]}}], 3)


async def trickle() -> AsyncIterator[bytes]:
    yield b'{"data": '
    while True:
        await asyncio.sleep(0.1)
        yield b" "


async def trickling(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=trickle(), headers={"Content-Type": "application/json"})


async def hanging(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("handler", [trickling, hanging], ids=["trickle", "hang"])
async def test_every_request_has_a_total_deadline(setup: Setup, handler: object) -> None:
    started = time.monotonic()
    report = await setup.pull(handler, deadline=0.8)
    took = time.monotonic() - started
    assert report.error_code == "PEER_UNREACHABLE" and "within 0.8 s" in report.error, report.error
    assert took < 5
    peer = await Peer.get(url=PEER)
    assert peer.failures == 1 and peer.next_attempt == NOW + retry_delay(1, 60, 0.0)


async def test_the_deadline_applies_to_descriptors_too() -> None:
    client = PeerClient(httpx.AsyncClient(transport=httpx.MockTransport(trickling)), deadline=0.5,
                        allow_plain_http=True)
    with pytest.raises(Exception, match="within 0.5 s") as caught:
        await client.descriptor(PEER)
    assert getattr(caught.value, "code", "") == "PEER_UNREACHABLE"


PEERS = ("http://first.test", "http://second.test", "http://third.test")


async def test_one_peer_raising_does_not_stop_the_round(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = await make_database(tmp_path)
    keys = {url: NodeKey.generate(url) for url in PEERS}
    own = NodeKey.generate("http://us.test")

    def handler(request: httpx.Request) -> httpx.Response:
        url = f"http://{request.url.host}"
        if url == PEERS[1]:
            raise RuntimeError("a bug met on the way")
        body = answer([envelope(keys[url], title=url)])
        return signed(request, body, keys[url], clock[0])

    clock = [NOW]

    def syncer() -> Syncer:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        return Syncer(own, PeerClient(http, own, lambda: clock[0], allow_plain_http=True), clock=lambda: clock[0],
                      interval=60, rand=lambda: 0.0)

    try:
        with db.bound():
            from tests.helpers import seed
            await seed(db)
            for url, key in keys.items():
                await Peer.create(url=url, name=url, public_key=key.public_key_b64, key_id=key.key_id,
                                  created_at=NOW)
            scheduler = Scheduler(db, syncer, 60, clock=lambda: clock[0])
            with caplog.at_level(logging.WARNING, logger="exchange.federation"):
                assert await scheduler.run_once() == 3
            titles = set(await Entry.all().values_list("title", flat=True))
            assert titles == {PEERS[0], PEERS[2]}
            failed = await Peer.get(url=PEERS[1])
            assert failed.failures == 1 and failed.last_error_code == "SYNC_FAILED"
            assert "RuntimeError: a bug met on the way" in failed.last_error
            assert failed.next_attempt == NOW + retry_delay(1, 60, 0.0)
            logged = [r for r in caplog.records if PEERS[1] in r.getMessage()]
            assert len(logged) == 1 and logged[0].exc_info is not None
            # a second round a few seconds later: the failed peer waits for its backoff
            clock[0] = NOW + timedelta(seconds=12)
            assert await scheduler.run_once() == 0
            assert (await Peer.get(url=PEERS[1])).failures == 1
    finally:
        await db.close()
