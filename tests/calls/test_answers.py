"""Answers to calls across three nodes in one process: they go to the call's node and nowhere else.

A holds a call; B's municipality answers; the courier on B hints A, A pulls
the answer from B, checks it and confirms it by pulling again. C, a peer of
both, never receives it. Forged, replayed and relayed answers are refused
and recorded for the operator, and nothing of them is stored.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from exchange.auth import Actor, find_publisher
from exchange.calls import Answer, AnswerRefused, Refusal, closing
from exchange.catalogue import EntryInput
from exchange.errors import ConflictError, InvalidInputError, NotFoundError
from exchange.models import Entry, Peer
from tests.federation.fednodes import KISSELBACH, FedNode, close_all, connect, make_nodes

WIGGENSBACH = "097800146146"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
FLENSBURG = "010010000000"


@pytest.fixture
async def abc(tmp_path: Path) -> AsyncIterator[tuple[FedNode, FedNode, FedNode]]:
    a, b, c = await make_nodes(tmp_path, "abc")
    await connect(a, b)
    await connect(a, c)
    await connect(b, c)
    yield a, b, c
    await close_all(a, b, c)


def actor(publisher: Any) -> Actor:
    return Actor(publisher=publisher, scopes=frozenset({"publish"}))


async def post_call(a: FedNode) -> str:
    async def go() -> str:
        entry = await a.node.catalogue.publish(actor(await find_publisher(KISSELBACH)), EntryInput(
            kind="call", title="Gemeinsamer Bauhof", summary="Drei Dörfer, ein Bauhof.",
            call={"form": "shared_service", "partners_wanted": 2, "deadline": "2099-06-30"}))
        return str(entry.uid)
    return await a.run(go)


async def answer(b: FedNode, call: str, key: str = WIGGENSBACH, message: str = "Wir sind dabei.") -> str:
    async def go() -> str:
        done = await b.node.extra["answers"].answer(actor(await find_publisher(key)), call, message, "Bauamt")
        return str(done.uid)
    return await b.run(go)


async def deliver(sender: FedNode, addressee: FedNode) -> None:
    """The sender's courier hints; the addressee pulls in the background; wait for that pull."""
    await sender.run(sender.federation.courier.deliver)
    with addressee.db.bound():
        await asyncio.gather(*list(addressee.federation._pulls))


async def answers_held(node: FedNode) -> dict[str, tuple[int, str, int]]:
    async def go() -> dict[str, tuple[int, str, int]]:
        return {str(a.uid): (a.version, a.state, a.confirmed_version) for a in await Answer.all()}
    return await node.run(go)


async def test_an_answer_reaches_the_calls_node_only_and_is_confirmed(
    abc: tuple[FedNode, FedNode, FedNode]
) -> None:
    a, b, c = abc
    call = await post_call(a)
    assert (await b.pull(a)).applied == 1 and (await c.pull(a)).applied == 1
    uid = await answer(b, call)
    assert await answers_held(b) == {uid: (1, "active", 0)}
    await deliver(b, a)
    assert await answers_held(a) == {uid: (1, "active", 1)}
    assert await answers_held(b) == {uid: (1, "active", 1)}  # A confirmed it by pulling again
    # C, a peer of both, pulls everything it can: entries and answers from A and B
    for other in (a, b):
        await c.pull(other)
        await c.run(lambda other=other: c.federation.answer_puller.pull_from(other.url))
    assert await answers_held(c) == {}
    # the withdrawal travels the same way
    async def withdraw() -> None:
        await b.node.extra["answers"].withdraw(actor(await find_publisher(WIGGENSBACH)), uid)
    await b.run(withdraw)
    await deliver(b, a)
    assert await answers_held(a) == {uid: (2, "withdrawn", 2)}
    assert await answers_held(c) == {}
    # A closes the call; B learns it and takes no more answers for it
    async def close() -> None:
        entry = await Entry.get(uid=uuid.UUID(call))
        await a.node.catalogue.revise(actor(await find_publisher(KISSELBACH)), call, entry.version,
                                      EntryInput(call=closing("call", entry.call, "filled", "Gefunden.")))
    await a.run(close)
    await b.pull(a)
    closed = await b.run(lambda: Entry.get(uid=uuid.UUID(call)))
    assert closed.call is not None and closed.call["state"] == "filled"
    with pytest.raises(ConflictError, match="closed"):
        await answer(b, call, key=FLENSBURG)


async def test_bad_answers_are_refused_where_they_are_written(abc: tuple[FedNode, FedNode, FedNode]) -> None:
    a, b, _ = abc
    call = await post_call(a)
    await b.pull(a)
    with pytest.raises(InvalidInputError, match="your own call"):
        await answer(b, call, key=KISSELBACH)
    with pytest.raises(NotFoundError):
        await answer(b, str(uuid.uuid4()))
    await answer(b, call)
    with pytest.raises(ConflictError, match="answered this call already"):
        await answer(b, call)
    with pytest.raises(InvalidInputError, match="message"):
        await answer(b, call, key=FLENSBURG, message="  ")


async def test_forged_replayed_and_relayed_answers_are_refused_and_reported(
    abc: tuple[FedNode, FedNode, FedNode]
) -> None:
    a, b, c = abc
    call = await post_call(a)
    await b.pull(a)
    uid = await answer(b, call)
    signed = await b.run(lambda: Answer.get(uid=uuid.UUID(uid)))
    envelope, signature = dict(signed.envelope), signed.signature

    # relayed: C sends B's answer, signed by B, as if it were its own delivery
    with pytest.raises(AnswerRefused, match="never relayed"):
        await a.run(lambda: a.federation.answers.accept(envelope, signature, c.url))
    # forged: B's stored answer altered (another publisher claimed) without B's key
    forged = {**envelope, "answer": {**envelope["answer"], "publisher": {
        "type": "municipality", "key": FLENSBURG, "name": "Flensburg"}}}
    await b.run(lambda: Answer.filter(uid=uuid.UUID(uid)).update(envelope=forged))
    await deliver(b, a)
    assert await answers_held(a) == {}
    reasons = await a.run(lambda: Refusal.all().values_list("reason", flat=True))
    assert any("forged" in r for r in reasons), reasons
    # the genuine one arrives; replaying an older version afterwards is refused
    await b.run(lambda: Answer.filter(uid=uuid.UUID(uid)).update(envelope=envelope))
    await b.run(lambda: Answer.filter(uid=uuid.UUID(uid)).update(next_attempt=LONG_AGO))
    await deliver(b, a)
    assert await answers_held(a) == {uid: (1, "active", 1)}
    assert await a.run(lambda: a.federation.answers.accept(envelope, signature, b.url)) is None  # held: a no-op
    newer = {**envelope, "version": 2, "answer": {**envelope["answer"], "state": "withdrawn"}}
    await a.run(lambda: Answer.filter(uid=uuid.UUID(uid)).update(version=3))
    with pytest.raises(AnswerRefused, match="replayed"):
        await a.run(lambda: a.federation.answers.accept(newer, "x", b.url))
    # addressed elsewhere, or to an unknown call
    with pytest.raises(AnswerRefused, match="not addressed"):
        await a.run(lambda: a.federation.answers.accept({**envelope, "addressee": c.url}, signature, b.url))
    stray = {**envelope, "id": str(uuid.uuid4()), "answer": {**envelope["answer"], "call": str(uuid.uuid4())}}
    with pytest.raises(AnswerRefused, match="no call"):
        await a.run(lambda: a.federation.answers.accept(stray, signature, b.url))


async def test_an_unknown_node_cannot_pull_answers(abc: tuple[FedNode, FedNode, FedNode]) -> None:
    a, b, _ = abc
    call = await post_call(a)
    await b.pull(a)
    await answer(b, call)
    await b.run(lambda: Peer.filter(url=a.url).delete())
    await deliver(b, a)  # B no longer knows A: A's pull is refused
    assert await answers_held(a) == {}
