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

Calls for partners and their answers go along: a node that holds a call
answers it or withdraws its answer, couriers hint, and every node pulls
answers from every neighbour. An answer (visibility `addressed`) is held by
the node that wrote it and by the call's node, never by any other, whatever
the topology (relays, diamonds, partitions); and where the two are
neighbours, the call's node holds its latest version after healing.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from exchange.auth import Actor, find_publisher
from exchange.calls import Answer
from exchange.catalogue import EntryInput
from exchange.errors import ExchangeError
from exchange.models import Entry
from federation import store
from federation.sync import Syncer, SyncReport
from tests.federation.fednodes import KISSELBACH, FedNode, Net, close_all, make_node
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
    st.builds(Op, st.just("call"), st.integers(0, 4)),
    st.builds(Op, st.just("answer"), st.integers(0, 4), st.integers(0, 30)),
    st.builds(Op, st.just("withdraw_answer"), st.integers(0, 30)),
    st.builds(Op, st.just("deliver"), st.integers(0, 4)),
), min_size=5, max_size=30)
ANSWERING = ("097800146146", "010010000000")  # Wiggensbach and Flensburg answer Kisselbach's calls


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


async def publish_call(node: FedNode, title: str) -> str:
    async def go() -> str:
        actor = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
        entry = await node.node.catalogue.publish(actor, EntryInput(
            kind="call", title=title, summary="Partner gesucht.", call={"deadline": "2099-01-01"}))
        return str(entry.uid)
    return await node.run(go)


async def answer_call(node: FedNode, call: str, key: str) -> str | None:
    """The node's answer to a call it holds, or None when it may not answer (not held, its own, twice)."""
    async def go() -> str | None:
        actor = Actor(publisher=await find_publisher(key), scopes=frozenset({"publish"}))
        try:
            return str((await node.federation.answers.answer(actor, call, "Wir machen mit.")).uid)
        except ExchangeError:
            return None
    return await node.run(go)


async def withdraw_answer(node: FedNode, uid: str, key: str) -> None:
    async def go() -> None:
        actor = Actor(publisher=await find_publisher(key), scopes=frozenset({"publish"}))
        try:
            await node.federation.answers.withdraw(actor, uid)
        except ExchangeError:
            pass
    await node.run(go)


async def pull_answers(x: FedNode, y: FedNode) -> None:
    await x.run(lambda: x.federation.answer_puller.pull_from(y.url))


async def deliver(node: FedNode, nodes: list[FedNode]) -> None:
    """The node's courier hints now; the pulls its hints start are awaited."""
    await node.run(lambda: Answer.filter(origin_node=node.url).update(next_attempt=None, attempts=0))
    await node.run(lambda: Answer.filter(origin_node=node.url, next_attempt=None).update(
        next_attempt=node.federation.clock()))
    await node.run(node.federation.courier.deliver)
    for other in nodes:
        with other.db.bound():
            await asyncio.gather(*list(other.federation._pulls))


async def answers_of(node: FedNode) -> dict[str, tuple[int, str]]:
    async def go() -> dict[str, tuple[int, str]]:
        return {str(a.uid): (a.version, a.state) for a in await Answer.all()}
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
        calls: list[tuple[str, int]] = []  # (uid, origin index)
        answers: dict[str, tuple[int, int, str]] = {}  # uid -> (writer, call's node, publisher key)
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
            elif op.kind == "call":
                origin = op.a % n
                calls.append((await publish_call(nodes[origin], f"C{len(calls)}"), origin))
            elif op.kind == "answer":
                if not calls:  # an answer needs a call: the first one comes with it
                    calls.append((await publish_call(nodes[(op.a + 1) % n], "C0"), (op.a + 1) % n))
                call, home = calls[op.b % len(calls)]
                writer = op.a % n if op.a % n != home else (home + 1) % n
                if (min(writer, home), max(writer, home)) in edges:
                    await pull(nodes[writer], nodes[home])  # the call itself comes first (or fails, partitioned)
                key = ANSWERING[op.b % 2]
                uid = await answer_call(nodes[writer], call, key)
                if uid is not None:
                    answers[uid] = (writer, home, key)
            elif op.kind == "withdraw_answer" and answers:
                uid = sorted(answers)[op.a % len(answers)]
                writer, _, key = answers[uid]
                await withdraw_answer(nodes[writer], uid, key)
            elif op.kind == "deliver":
                await deliver(nodes[op.a % n], nodes)
            for uid, (writer, home, _) in answers.items():  # at every step: nowhere but writer and call's node
                for index, node in enumerate(nodes):
                    if index not in (writer, home):
                        assert uid not in await answers_of(node), f"answer {uid} reached node {index}"
        net.down.clear()
        for _ in range(n + 1):
            for i, j in edges:
                await pull(nodes[i], nodes[j])
                await pull(nodes[j], nodes[i])
        for i in range(n):  # every node pulls answers from every neighbour, whoever they are for
            for j in range(n):
                if (min(i, j), max(i, j)) in edges:
                    await pull_answers(nodes[i], nodes[j])
                    # what leaves node j for node i: answers addressed to node i only
                    served = await nodes[i].run(lambda i=i, j=j: nodes[i].federation.client().answers(nodes[j].url, []))
                    assert all(item["envelope"]["addressee"] == nodes[i].url for item in served), (
                        f"node {j} served node {i} answers addressed elsewhere")
        held = [await answers_of(node) for node in nodes]
        event(f"answers delivered: {sum(len(h) for h in held) > len(answers)}")
        for uid, (writer, home, _) in answers.items():
            for index in range(n):
                if index not in (writer, home):
                    assert uid not in held[index], f"answer {uid} of node {writer} for node {home} reached {index}"
            if (min(writer, home), max(writer, home)) in edges:
                assert held[home].get(uid) == held[writer][uid], f"answer {uid} did not reach node {home}"
        views = [await view(node) for node in nodes]
        expected = {uid for uid, _ in entries} | {uid for uid, _ in calls}
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
