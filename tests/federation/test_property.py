"""Convergence, as a property: any topology, any interleaving, partitions and crashes.

Hypothesis draws 3 to 5 nodes, a connected random topology (every node trusts
its neighbours' relays), and a script of publishes, revisions, withdrawals to
`local`, re-publications, unpublishes on random nodes, pulls along random
edges, partitions (a node unreachable), and pulls that crash at a random step
of their transaction, and pulls through a tampering proxy on the path to the
pulled node (`hostile_path`, in one of `ADVERSARY` modes), each of which must
be refused. After healing, a bounded number of sync rounds along
the edges makes every node hold every entry at the same version, withdrawn or
not in the same way, and nothing published was lost.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.models import Entry
from federation import store
from federation.sync import Syncer, SyncReport
from tests.federation.fednodes import FedNode, Net, close_all, make_node
from tests.federation.hostile_path import TamperingProxy

# The proxy's modes the property draws from (trickle and hang only cost time here).
ADVERSARY = ("flip", "drop", "reorder", "origin", "vouched", "replay", "cross", "skip", "deep", "oversized")


class Crash(Exception):
    pass


@dataclass(frozen=True)
class Op:
    kind: str
    a: int
    b: int = 0
    step: int = 0


ops = st.lists(st.one_of(
    st.builds(Op, st.just("publish"), st.integers(0, 4)),
    st.builds(Op, st.sampled_from(["revise", "hide", "show", "unpublish"]), st.integers(0, 30)),
    st.builds(Op, st.just("pull"), st.integers(0, 4), st.integers(0, 4)),
    st.builds(Op, st.just("crash"), st.integers(0, 4), st.integers(0, 4), st.integers(1, 12)),
    st.builds(Op, st.just("attack"), st.integers(0, 4), st.integers(0, 4), st.integers(0, len(ADVERSARY) - 1)),
    st.builds(Op, st.just("partition"), st.integers(0, 4)),
    st.builds(Op, st.just("heal"), st.just(0)),
), min_size=5, max_size=30)


@st.composite
def topologies(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    n = draw(st.integers(3, 5))
    edges = {(draw(st.integers(0, i - 1)), i) for i in range(1, n)}  # a random spanning tree
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n))
    edges |= {(min(x, y), max(x, y)) for x, y in extra if x != y}
    return n, sorted(edges)


async def view(node: FedNode) -> dict[str, tuple[int, bool]]:
    """uid -> (version, withdrawn) as peers see it."""
    async def go() -> dict[str, tuple[int, bool]]:
        rows = await Entry.all().values("uid", "version", "deleted", "visibility")
        return {str(r["uid"]): (r["version"], r["deleted"] or r["visibility"] not in ("public", "network"))
                for r in rows}
    return await node.run(go)


async def pull(x: FedNode, y: FedNode, crash_at: int = 0) -> SyncReport | None:
    steps = [0]

    def checkpoint(step: str) -> None:
        steps[0] += 1
        if steps[0] == crash_at:
            raise Crash(step)
    fed = x.federation
    syncer = Syncer(fed.key, fed.client(), clock=fed.clock, page_size=3,
                    checkpoint=checkpoint if crash_at else None)

    async def go() -> SyncReport:
        return await syncer.sync_peer(await store.get_peer(y.url))
    try:
        return await x.run(go)
    except Crash:
        return None


async def scenario(topology: tuple[int, list[tuple[int, int]]], script: list[Op]) -> None:
    n, edges = topology
    tmp = Path(tempfile.mkdtemp(prefix="fed-prop-"))
    net = Net()
    nodes = [await make_node(tmp, "abcde"[i], net) for i in range(n)]
    try:
        for i, j in edges:
            await nodes[i].add_peer(nodes[j], trust_relayed=True)
            await nodes[j].add_peer(nodes[i], trust_relayed=True)
        proxies = [TamperingProxy(net, f"{node.name}.test", victims={m.url for m in nodes}) for node in nodes]
        entries: list[tuple[str, int]] = []  # (uid, origin index)
        deleted: set[str] = set()
        for op in script:
            if op.kind == "publish":
                origin = op.a % n
                entries.append((await nodes[origin].publish(f"E{len(entries)}"), origin))
            elif op.kind in ("revise", "hide", "show", "unpublish") and entries:
                uid, origin = entries[op.a % len(entries)]
                if uid in deleted:
                    continue
                node = nodes[origin]
                if op.kind == "unpublish":
                    await node.unpublish(uid)
                    deleted.add(uid)
                else:
                    change = {"revise": {"title": f"rev {op.a}"}, "hide": {"visibility": "local"},
                              "show": {"visibility": "public"}}[op.kind]
                    await node.revise(uid, **change)
            elif op.kind in ("pull", "crash"):
                x, y = op.a % n, op.b % n
                if (min(x, y), max(x, y)) in edges:
                    await pull(nodes[x], nodes[y], op.step if op.kind == "crash" else 0)
            elif op.kind == "attack":
                x, y = op.a % n, op.b % n
                if (min(x, y), max(x, y)) in edges:
                    proxy = proxies[y]
                    proxy.mode, proxy.tampered = ADVERSARY[op.step], 0
                    try:
                        report = await pull(nodes[x], nodes[y])
                    finally:
                        proxy.mode = "honest"
                    if proxy.tampered:
                        assert report is not None and not report.ok, f"{ADVERSARY[op.step]} was taken as good"
            elif op.kind == "partition":
                net.down.add(f"{'abcde'[op.a % n]}.test")
            elif op.kind == "heal":
                net.down.clear()
        net.down.clear()
        for _ in range(n + 1):
            for i, j in edges:
                await pull(nodes[i], nodes[j])
                await pull(nodes[j], nodes[i])
        views = [await view(node) for node in nodes]
        expected = {uid for uid, _ in entries}
        for index, seen in enumerate(views):
            assert set(seen) == expected, f"node {index} misses {expected - set(seen)}"
            assert seen == views[0], f"node {index} differs from node 0"
        for uid in deleted:
            assert views[0][uid][1], f"unpublished entry {uid} is still live somewhere"
    finally:
        await close_all(*nodes)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topologies(), ops)
def test_every_node_converges(topology: tuple[int, list[tuple[int, int]]], script: list[Op]) -> None:
    asyncio.run(scenario(topology, script))
