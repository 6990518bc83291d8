"""Hints: after a write, a node tells the peers that may see it to pull now.

In-process nodes for who is hinted (public, network, local; a received entry's origin left
out); three real processes C -> B -> A with the scheduled interval at 300 s for the time an
entry takes from C to A.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from exchange.models import Peer
from federation.hints import _targets
from tests.conftest import process_database
from tests.federation.fednodes import FedNode, close_all, connect, make_node
from tests.federation.fednodes import Net as FedNet
from tests.federation.test_processes import KEY, ProcNode, _free_port

LATER = datetime.now(UTC) + timedelta(hours=1)


def test_who_is_hinted() -> None:
    peers = [("https://b.test", False), ("https://c.test", True), ("https://own.test", True)]
    assert _targets({"public": {"https://own.test"}}, peers) == ["https://b.test", "https://c.test"]
    assert _targets({"network": {"https://own.test"}}, peers) == ["https://c.test"]
    # a received entry is news to every peer but its origin
    assert _targets({"public": {"https://c.test"}}, peers) == ["https://b.test", "https://own.test"]
    assert _targets({"public": {"https://c.test", "https://b.test"}}, peers) == [u for u, _ in peers]
    assert _targets({}, peers) == []


def _count(metric: str, **labels: str) -> float:
    """A counter of this process (the in-process nodes share it), as /metrics shows it."""
    return REGISTRY.get_sample_value(metric, labels) or 0.0


async def _due(node: FedNode, peer: FedNode) -> bool:
    """Whether `node` is to pull `peer` now (a hint made it due) rather than in an hour."""
    async def go() -> bool:
        row = await Peer.get(url=peer.url)
        return row.next_attempt is not None and row.next_attempt < LATER - timedelta(minutes=30)
    return await node.run(go)


async def _not_due(*pairs: tuple[FedNode, FedNode]) -> None:
    for node, peer in pairs:
        await node.run(lambda peer=peer: Peer.filter(url=peer.url).update(next_attempt=LATER))


async def test_a_write_hints_the_peers_that_may_see_it(tmp_path: Path) -> None:
    net = FedNet()
    a, b, c = [await make_node(tmp_path, n, net, settings={"sync_interval": 300}) for n in "abc"]
    await connect(a, c, member=True)  # a is c's member peer, b is not
    await connect(b, c)
    hinter = c.federation.hinter

    await _not_due((a, c), (b, c))
    await c.publish("Nur im Haus", visibility="local")
    await hinter.settle()
    assert hinter.sent == 0 and not await _due(a, c) and not await _due(b, c)

    await c.publish("Für den Verbund", visibility="network")
    await hinter.settle()
    assert hinter.sent == 1 and await _due(a, c) and not await _due(b, c)

    await _not_due((a, c), (b, c))
    sent_before = {p.url: _count("exchange_federation_hints_total", peer=p.url, outcome="accepted") for p in (a, b)}
    heard_before = _count("exchange_federation_hints_received_total", peer=c.url)
    for i in range(5):  # the writes of a moment make one hint per peer
        await c.publish(f"Öffentlich {i}")
    await hinter.settle()
    assert hinter.sent == 3 and await _due(a, c) and await _due(b, c)
    assert hinter.failed == 0
    for p in (a, b):  # /metrics counts them per peer: sent by c, received from c
        assert _count("exchange_federation_hints_total", peer=p.url, outcome="accepted") == sent_before[p.url] + 1
    assert _count("exchange_federation_hints_received_total", peer=c.url) == heard_before + 2
    await close_all(a, b, c)


async def test_a_received_entry_is_hinted_onwards_but_not_back_to_its_origin(tmp_path: Path) -> None:
    net = FedNet()
    a, b, c = [await make_node(tmp_path, n, net, settings={"sync_interval": 300}) for n in "abc"]
    await connect(a, b, trust_relayed=True)
    await connect(b, c)
    uid = await c.publish("Weitergereicht")
    await c.federation.hinter.settle()
    await _not_due((a, b), (c, b))
    report = await b.pull(c)
    assert report.applied == 1
    await b.federation.hinter.settle()
    assert await _due(a, b) and not await _due(c, b)
    assert b.federation.hinter.sent == 1
    await a.pull(b)
    assert uid in await a.entries()
    await close_all(a, b, c)


async def test_no_hints_when_the_scheduler_is_off(tmp_path: Path) -> None:
    net = FedNet()
    a, b = [await make_node(tmp_path, n, net) for n in "ab"]  # sync_interval 0: operated by hand
    await connect(a, b)
    await _not_due((a, b))
    await b.publish("Von Hand")
    await b.federation.hinter.settle()
    assert b.federation.hinter.sent == 0 and not await _due(a, b)
    await close_all(a, b)


class ScheduledNode(ProcNode):
    """A real node whose scheduler pulls every 300 s: only hints make it pull sooner."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "EXCHANGE_SYNC_INTERVAL": "300"}


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[dict[str, ScheduledNode]]:
    made = {n: ScheduledNode(n, _free_port(), tmp_path, database=process_database(tmp_path, f"chain_{n}"))
            for n in "abc"}
    try:
        for node in made.values():
            node.start()
        yield made
    finally:
        for node in made.values():
            node.stop()


def _pulled_once(node: ProcNode) -> bool:
    rows = node.rows("SELECT last_success FROM peer")
    return bool(rows) and all(r[0] is not None for r in rows)


@pytest.mark.slow
@pytest.mark.postgres
def test_an_entry_travels_from_c_through_b_to_a_within_seconds(chain: dict[str, ScheduledNode]) -> None:
    a, b, c = chain["a"], chain["b"], chain["c"]
    a.cli("peers", "add", b.url, "--trust-relayed")
    b.cli("peers", "add", a.url)
    b.cli("peers", "add", c.url)
    c.cli("peers", "add", b.url)
    for node in (a, b, c):  # whoever added the other first was refused and waits: pull once by hand
        node.cli("sync")
    assert all(_pulled_once(n) for n in (a, b, c))  # the next scheduled pulls are 300 s away
    token = c.cli("tokens", "create", "--publisher", KEY).stdout.strip()
    took = []
    for i in range(3):
        started = time.monotonic()
        uid = c.publish(token, f"Projekt {i}")
        while True:
            r = httpx.post(a.url + "/graphql", json={"query": "query($id: ID!) { entry(id: $id) { title } }",
                                                    "variables": {"id": uid}}, timeout=10)
            if r.json()["data"]["entry"] is not None:
                break
            assert time.monotonic() - started < 5, f"entry {i} did not reach A within 5 s"
            time.sleep(0.02)
        took.append(time.monotonic() - started)
    assert max(took) < 5
    assert b.rows("SELECT count(*) FROM entry")[0][0] == 3
