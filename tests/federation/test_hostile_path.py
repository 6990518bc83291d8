"""Three real nodes with a tampering proxy on the path to A (see `hostile_path`).

C publishes and is a member of A; A pulls C, publishes itself (one entry
`network`, for members only) and relays C's entries; B pulls A (trusting its
relays) and C pulls A, both through the proxy, in pages of three. Each test
lets B pull once honestly (the proxy records the pages), has A and C write
more, makes one attack on B's next pull, and then lets B pull over the
honest path again. The attacked pull must be refused and reported (not ok,
the peer's failures and last error recorded) and leave B as it was; after
the honest pull B holds exactly the entries, at the versions, that A's feed
offers B. The proxy's attacks run on SQLite only: the database plays no
part in them.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from exchange.models import Peer
from federation import store
from federation.sync import Syncer, SyncReport
from tests.conftest import PG_URL
from tests.federation.fednodes import FedNode, Net, close_all, make_node
from tests.federation.hostile_path import ROBUSTNESS, TamperingProxy

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the path, not the database, is under test: SQLite only")

PAGE = 3
# Seconds a node gives one request to a peer (EXCHANGE_PEER_DEADLINE): trickle and hang end there.
DEADLINE = 1.0


@dataclass
class World:
    tmp: Path
    net: Net
    a: FedNode
    b: FedNode
    c: FedNode
    proxy: TamperingProxy
    rounds: int = 0


async def node(tmp: Path, name: str, net: Net) -> FedNode:
    return await make_node(tmp, name, net, settings={"peer_deadline": DEADLINE})


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    net = Net()
    a, b, c = [await node(tmp_path, name, net) for name in "abc"]
    await b.add_peer(a, trust_relayed=True)
    await a.add_peer(b)
    await a.add_peer(c, member=True)
    await c.add_peer(a, member=True)
    proxy = TamperingProxy(net, "a.test", victims={b.url, c.url})
    for i in range(2):
        await c.publish(f"C{i}")
    assert (await pull(a, c)).ok
    for i in range(4):
        await a.publish(f"A{i}")
    await a.publish("A only for members", visibility="network")
    try:
        yield World(tmp_path, net, a, b, c, proxy)
    finally:
        await close_all(a, b, c)


async def pull(x: FedNode, y: FedNode) -> SyncReport:
    fed = x.federation
    syncer = Syncer(fed.key, fed.client(), clock=fed.clock, page_size=PAGE)

    async def go() -> SyncReport:
        return await syncer.sync_peer(await store.get_peer(y.url))
    return await x.run(go)


async def held(x: FedNode) -> dict[str, int]:
    """uid -> version of every entry x holds."""
    return {uid: version for uid, (version, _, _) in (await x.entries()).items()}


async def offered(origin: FedNode, to: FedNode) -> dict[str, int]:
    """uid -> version as the origin's whole feed offers them to `to`, read at the origin."""
    async def go() -> dict[str, int]:
        peer = await Peer.get(url=to.url)
        seen: dict[str, int] = {}
        after: str | None = None
        while True:
            page = await origin.federation.feed.read(peer, after, 500)
            for item in page.batch.items:
                seen[item.envelope.entry_id] = item.envelope.version
            if not page.batch.has_more:
                return seen
            after = page.batch.next_cursor
    return await origin.run(go)


async def peer_state(x: FedNode, y: FedNode) -> Peer:
    async def go() -> Peer:
        return await Peer.get(url=y.url)
    return await x.run(go)


async def write_more(w: World) -> None:
    """New entries at C (relayed by A) and at A, and a revision at A: B's next pull has work."""
    w.rounds += 1
    for i in range(2):
        await w.c.publish(f"C, round {w.rounds}, {i}")
    assert (await pull(w.a, w.c)).ok
    for i in range(3):
        await w.a.publish(f"A, round {w.rounds}, {i}")
    first = next(uid for uid, (_, _, title) in (await w.a.entries()).items() if title.startswith("A0"))
    await w.a.revise(first, title=f"A0, revised in round {w.rounds}")


async def refused(w: World, victim: FedNode, mode: str) -> SyncReport:
    """One attacked pull of `victim` from A: refused, reported, nothing of it stored."""
    before = await held(victim)
    failures = (await peer_state(victim, w.a)).failures
    w.proxy.mode, w.proxy.tampered = mode, 0
    try:
        report = await pull(victim, w.a)
    finally:
        w.proxy.mode = "honest"
    assert w.proxy.tampered >= 1, f"{mode}: the proxy found nothing to attack"
    assert not report.ok, f"{mode}: the attacked pull was taken as good ({report.applied} applied)"
    peer = await peer_state(victim, w.a)
    assert peer.failures == failures + 1 and peer.last_error and peer.last_error_code == report.error_code
    assert await held(victim) == before, f"{mode}: the attacked pull changed what {victim.name} holds"
    return report


async def converged(w: World, victim: FedNode) -> None:
    report = await pull(victim, w.a)
    assert report.ok, report.error
    assert (await peer_state(victim, w.a)).failures == 0
    assert await held(victim) == await offered(w.a, victim)


EXPECTED = {
    "flip": "BAD_SIGNATURE",
    "oversized": "OVERSIZED_ANSWER",
    "deep": "PROTOCOL_MISMATCH",
    "trickle": "PEER_UNREACHABLE",
    "hang": "PEER_UNREACHABLE",
}


@pytest.mark.parametrize("mode", ["flip", *ROBUSTNESS])
async def test_a_tampered_pull_is_refused_and_the_honest_path_converges(world: World, mode: str) -> None:
    w = world
    assert (await pull(w.c, w.a)).ok
    await converged(w, w.b)
    await write_more(w)
    report = await refused(w, w.b, mode)
    assert report.error_code == EXPECTED[mode], report.error
    await converged(w, w.b)
    # C, a member on the same path, was never attacked and holds what A offers it
    assert (await pull(w.c, w.a)).ok
    offered_c, held_c = await offered(w.a, w.c), await held(w.c)
    assert {uid: held_c.get(uid) for uid in offered_c} == offered_c


async def test_the_path_keeps_no_state_between_attacks(world: World) -> None:
    """Every robustness attack in a row on one node, then one honest pull: nothing lost."""
    w = world
    await converged(w, w.b)
    for mode in ("flip", *ROBUSTNESS):
        await write_more(w)
        await refused(w, w.b, mode)
    await converged(w, w.b)


@pytest.mark.parametrize("mode", ["drop", "reorder", "origin", "vouched", "replay"])
async def test_a_page_changed_or_replayed_on_the_way_is_refused(world: World, mode: str) -> None:
    w = world
    await converged(w, w.b)
    await write_more(w)
    await refused(w, w.b, mode)
    await converged(w, w.b)  # a forged key kept for C would hold C's real envelopes back here


async def test_a_page_of_a_member_replayed_to_a_non_member_is_refused(world: World) -> None:
    w = world
    assert (await pull(w.c, w.a)).ok  # C, a member, is shown the network entry; the proxy keeps the page
    members_only = {uid for uid, (_, _, title) in (await w.c.entries()).items() if title == "A only for members"}
    assert members_only
    await refused(w, w.b, "cross")
    await converged(w, w.b)
    assert not members_only & set(await held(w.b))


async def test_a_later_page_served_to_a_restored_node_is_refused(world: World, tmp_path: Path) -> None:
    """B pulls in pages; restored from a backup older than that (same key, no entries yet),
    it asks for the first page again and is served a later one that B was answered before."""
    w = world
    await converged(w, w.b)
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(tmp_path / "b.key", restored / "b.key")
    b2 = await node(restored, "b", w.net)  # answers as b.test from now on
    try:
        assert b2.federation.key.public_key_b64 == w.b.federation.key.public_key_b64
        await b2.add_peer(w.a, trust_relayed=True)
        await refused(w, b2, "skip")
        await converged(w, b2)
    finally:
        await close_all(b2)
