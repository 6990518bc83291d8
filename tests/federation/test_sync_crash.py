"""Crash safety: interrupt a sync at every step of its transaction; the next one completes.

A checkpoint that raises at its k-th call stands for a crash at that step.
After every interrupted run the receiver holds exactly what it held before
(entries, revisions, change rows, cursor); the run after that stores
everything once. Replaying the whole feed from the start changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.models import Change, Entry, Peer, Revision
from federation import store
from federation.sync import Syncer
from tests.federation.fednodes import FedNode, close_all, connect, make_nodes


class Crash(BaseException):
    """A simulated crash: like the process dying, it is no peer's fault, so the
    syncer (which records any Exception as that peer's failure) lets it through."""


async def snapshot(node: FedNode) -> tuple[object, ...]:
    async def go() -> tuple[object, ...]:
        entries = sorted(await Entry.all().values_list("uid", "version", "deleted", "title"))
        revisions = await Revision.all().count()
        changes = await Change.all().order_by("seq").values_list("entry_uid", "version")
        peer = await Peer.all().values_list("url", "cursor", "applied_total")
        return (entries, revisions, changes, sorted(peer))
    return await node.run(go)


def crashing_syncer(node: FedNode, at: int) -> tuple[Syncer, list[str]]:
    steps: list[str] = []

    def checkpoint(step: str) -> None:
        steps.append(step)
        if len(steps) == at:
            raise Crash(step)

    fed = node.federation
    return Syncer(fed.key, fed.client(), listeners=node.node.catalogue.listeners,
                  clock=fed.clock, page_size=2, checkpoint=checkpoint), steps


async def test_a_crash_at_any_step_loses_and_doubles_nothing(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    uids = [await b.publish(f"Eintrag {i}") for i in range(3)]
    await b.revise(uids[0], title="Eintrag 0, neu")
    await b.unpublish(uids[1])
    crashed_at: list[str] = []
    k = 1
    while True:
        before = await snapshot(a)
        syncer, _steps = crashing_syncer(a, k)

        async def go(syncer: Syncer = syncer) -> None:
            await syncer.sync_peer(await store.get_peer(b.url), max_batches=1)
        try:
            await a.run(go)
        except Crash as crash:
            crashed_at.append(str(crash))
            assert await snapshot(a) == before, f"crash at step {k} ({crash}) left traces"
            k += 1
            continue
        if await snapshot(a) == before:  # the batch was already complete: we are through
            break
        k = 1  # one batch went through; crash the next one at every step too
    assert {"begin", "origins", "entry", "topics", "revision", "change", "pending", "cursor"} <= set(crashed_at)
    held = await a.entries()
    assert held == await b.entries()
    assert held[uids[0]][:2] == (2, False) and held[uids[1]][:2] == (2, True)
    changes = await a.changes()
    assert len(changes) == len(set(changes))
    await close_all(a, b)


async def test_a_batch_applied_twice_changes_nothing(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    for i in range(5):
        await b.publish(f"Eintrag {i}")
    await a.pull(b)
    before = await snapshot(a)

    async def rewind() -> None:
        await Peer.filter(url=b.url).update(cursor=None)
    await a.run(rewind)
    report = await a.pull(b)
    assert report.ok and report.applied == 0 and report.skipped == 5
    after = await snapshot(a)
    assert after[:3] == before[:3]
    await close_all(a, b)


@pytest.mark.parametrize("step", ["entry", "revision", "change", "cursor"])
async def test_listeners_hear_only_committed_entries(tmp_path: Path, step: str) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    uid = await b.publish("Eins")
    seen_before = list(a.listened)
    syncer, _ = crashing_syncer(a, 0)

    def crash_at(name: str) -> None:
        if name == step:
            raise Crash(name)
    syncer.checkpoint = crash_at

    async def go() -> None:
        await syncer.sync_peer(await store.get_peer(b.url))
    with pytest.raises(Crash):
        await a.run(go)
    assert a.listened == seen_before
    await a.pull(b)
    assert a.listened == [*seen_before, uid]
    await close_all(a, b)
