"""A call for partners travels between nodes like other entries, with its terms and its state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange.auth import Actor, find_publisher
from exchange.calls import closing
from exchange.catalogue import EntryInput
from exchange.models import Entry
from tests.federation.fednodes import KISSELBACH, FedNode, close_all, connect, make_nodes


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[FedNode, FedNode]]:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    yield a, b
    await close_all(a, b)


async def test_a_call_and_its_closing_reach_the_peer(pair: tuple[FedNode, FedNode]) -> None:
    a, b = pair

    async def post() -> str:
        actor = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
        entry = await b.node.catalogue.publish(actor, EntryInput(
            kind="call", title="Gemeinsamer Bauhof", summary="Drei Dörfer, ein Bauhof.",
            call={"form": "shared_service", "radius_km": 25, "partners_wanted": 2, "deadline": "2099-06-30"}))
        return str(entry.uid)

    uid = await b.run(post)
    assert (await a.pull(b)).applied == 1

    async def terms() -> dict | None:
        entry = await Entry.get(uid=uuid.UUID(uid))
        assert entry.kind == "call" and entry.origin_node == b.url
        return entry.call

    received = await a.run(terms)
    assert received is not None
    assert (received["form"], received["radius_km"], received["state"]) == ("shared_service", 25, "open")

    async def close() -> None:
        actor = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
        entry = await Entry.get(uid=uuid.UUID(uid))
        await b.node.catalogue.revise(actor, uid, entry.version,
                                      EntryInput(call=closing("call", entry.call, "filled", "Zwei gefunden.")))

    await b.run(close)
    assert (await a.pull(b)).applied == 1
    received = await a.run(terms)
    assert received is not None
    assert (received["state"], received["close_reason"], received["radius_km"]) == ("filled", "Zwei gefunden.", 25)
    await b.unpublish(uid)
    await a.pull(b)
    assert await a.run(terms) is None  # a withdrawn call's terms are gone like its content
