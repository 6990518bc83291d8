"""Pull sync between two and three nodes in one process (ASGI transports, own databases)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange.models import Entry, EntryTopic, Peer, PendingEnvelope, Revision
from federation import store
from tests.federation.fednodes import (
    FLENSBURG,
    FedNode,
    Net,
    close_all,
    connect,
    make_node,
    make_nodes,
)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[FedNode, FedNode]]:
    net = Net()
    a, b = await make_node(tmp_path, "a", net), await make_node(tmp_path, "b", net)
    await connect(a, b)
    yield a, b
    await close_all(a, b)


async def test_public_entries_travel_with_their_signature(pair: tuple[FedNode, FedNode]) -> None:
    a, b = pair
    uid = await b.publish("Digitales Rathaus", body="# Ziel\n\n<script>x</script> **fett**")
    report = await a.pull(b)
    assert report.ok, report.error
    assert report.applied == 1
    held = await a.entries()
    assert held[uid] == (1, False, "Digitales Rathaus")

    async def check() -> None:
        entry = await Entry.get(uid=uuid.UUID(uid))
        assert entry.origin_node == b.url
        assert "<script>" not in entry.body_html and "<strong>fett</strong>" in entry.body_html
        revision = await Revision.get(entry_id=entry.id, version=1)
        assert revision.envelope["origin"] == b.url
    await a.run(check)
    assert await a.changes() == [(uid, 1)]
    assert a.listened == [uid]


async def test_second_pull_is_one_small_request_and_changes_nothing(pair: tuple[FedNode, FedNode]) -> None:
    a, b = pair
    await b.publish("Eins")
    await a.pull(b)
    before = await a.changes()
    sent = len(a.net.requests)
    report = await a.pull(b)
    assert report.ok and report.applied == 0 and report.batches == 1
    assert len(a.net.requests) == sent + 1
    assert await a.changes() == before


async def test_revisions_and_tombstones_follow(pair: tuple[FedNode, FedNode]) -> None:
    a, b = pair
    uid = await b.publish("Erst")
    await a.pull(b)
    await b.revise(uid, title="Zweit")
    await a.pull(b)
    assert (await a.entries())[uid] == (2, False, "Zweit")
    await b.unpublish(uid)
    await a.pull(b)
    assert (await a.entries())[uid][:2] == (3, True)


async def test_versions_that_turn_local_reach_peers_as_tombstones(pair: tuple[FedNode, FedNode]) -> None:
    a, b = pair
    uid = await b.publish("Offen")
    hidden = await b.publish("Nur hier", visibility="local")
    draft = await b.publish("Entwurf", visibility="draft")
    await a.pull(b)
    assert set(await a.entries()) == {uid}
    await b.revise(uid, visibility="local")
    await a.pull(b)
    assert (await a.entries())[uid][:2] == (2, True)

    async def body() -> dict[str, object]:
        entry = await Entry.get(uid=uuid.UUID(uid))
        return (await Revision.get(entry_id=entry.id, version=2)).envelope
    envelope = await a.run(body)
    assert envelope["type"] == "tombstone" and envelope["entry"] == {"kind": "project", "withdrawn": True}
    await b.revise(uid, visibility="public", title="Wieder offen")
    await a.pull(b)
    assert (await a.entries())[uid] == (3, False, "Wieder offen")
    assert hidden not in await a.entries() and draft not in await a.entries()


async def test_network_entries_only_for_members(tmp_path: Path) -> None:
    a, b, c = await make_nodes(tmp_path, "abc")
    await connect(a, b, member=True)
    await connect(c, b, member=False)
    uid = await b.publish("Im Verbund", visibility="network")
    await a.pull(b)
    await c.pull(b)
    assert uid in await a.entries()
    assert uid not in await c.entries()
    await close_all(a, b, c)


async def test_relays_need_trust_and_keep_the_origin_signature(tmp_path: Path) -> None:
    a, b, c = await make_nodes(tmp_path, "abc")
    await connect(a, b)  # a does not trust b's relays
    await connect(b, c)
    uid = await c.publish("Von C")
    await b.pull(c)
    report = await a.pull(b)
    assert report.ok and report.pending == 1 and report.applied == 0
    assert uid not in await a.entries()

    async def reasons() -> list[str]:
        return [p.reason for p in await PendingEnvelope.all()]
    assert "--trust-relayed" in (await a.run(reasons))[0]
    await a.add_peer(b, trust_relayed=True)
    report = await a.pull(b)
    assert report.ok and report.released == 1
    assert (await a.entries())[uid] == (1, False, "Von C")
    assert await a.run(reasons) == []

    async def origin_of() -> str:
        entry = await Entry.get(uid=uuid.UUID(uid))
        return entry.origin_node
    assert await a.run(origin_of) == c.url
    # a revision at c travels on through b, verified with the key b vouched for
    await c.revise(uid, title="Von C, neu")
    await b.pull(c)
    await a.pull(b)
    assert (await a.entries())[uid] == (2, False, "Von C, neu")
    await close_all(a, b, c)


async def test_loops_converge_without_refusals(tmp_path: Path) -> None:
    a, b, c = await make_nodes(tmp_path, "abc")
    for x, y in ((a, b), (b, c), (c, a)):
        await connect(x, y, trust_relayed=True)
    uid = await a.publish("Rundreise")
    await a.revise(uid, title="Rundreise 2")
    await b.pull(a)
    await c.pull(b)
    await a.revise(uid, title="Rundreise 3")
    for _ in range(2):
        for x, y in ((a, b), (b, c), (c, a), (a, c), (b, a), (c, b)):
            report = await x.pull(y)
            assert report.ok, report.error
    for n in (a, b, c):
        assert (await n.entries())[uid] == (3, False, "Rundreise 3")
    await close_all(a, b, c)


async def test_unknown_publisher_is_held_until_the_register_knows_it(tmp_path: Path) -> None:
    net = Net()
    a = await make_node(tmp_path, "a", net, seeded=False)
    b = await make_node(tmp_path, "b", net)
    await connect(a, b)
    uid = await b.publish("Aus Flensburg", key=FLENSBURG)
    report = await a.pull(b)
    assert report.ok and report.pending == 1 and uid not in await a.entries()

    async def reason() -> str:
        return (await PendingEnvelope.get()).reason
    assert FLENSBURG in await a.run(reason)
    from tests.helpers import seed
    await a.run(lambda: seed(a.db))
    report = await a.pull(b)
    assert report.released == 1
    assert uid in await a.entries()
    await close_all(a, b)


async def test_unknown_topics_are_dropped_and_the_envelope_kept(pair: tuple[FedNode, FedNode]) -> None:
    a, b = pair

    async def some_topics() -> list[str]:
        from exchange.models import Topic
        return [t.slug for t in await Topic.all().limit(2)]
    slugs = await b.run(some_topics)
    uid = await b.publish("Mit Themen", topics=slugs)

    async def drop_one() -> None:
        from exchange.models import Topic
        await Topic.filter(slug=slugs[0]).delete()
    await a.run(drop_one)
    assert (await a.pull(b)).applied == 1

    async def check() -> None:
        entry = await Entry.get(uid=uuid.UUID(uid))
        assert await EntryTopic.filter(entry_id=entry.id).count() == 1
        revision = await Revision.get(entry_id=entry.id)
        assert revision.envelope["entry"]["topics"] == slugs
    await a.run(check)


async def test_peer_state_after_success(pair: tuple[FedNode, FedNode]) -> None:
    a, b = pair
    await b.publish("Eins")
    await a.pull(b)

    async def state() -> Peer:
        return await store.get_peer(b.url)
    peer = await a.run(state)
    assert peer.last_success is not None and peer.failures == 0 and peer.last_error == ""
    assert peer.cursor and peer.entries_behind == 0 and peer.applied_total == 1


async def test_a_public_entry_turned_network_is_withdrawn_from_non_members(tmp_path: Path) -> None:
    a, b, c = await make_nodes(tmp_path, "abc")
    await connect(a, b, member=True)
    await connect(c, b, member=False)
    uid = await b.publish("Erst offen")
    await a.pull(b)
    await c.pull(b)
    assert (await c.entries())[uid] == (1, False, "Erst offen")
    await b.revise(uid, visibility="network", title="Nur im Verbund")
    await a.pull(b)
    await c.pull(b)
    assert (await a.entries())[uid] == (2, False, "Nur im Verbund")
    assert (await c.entries())[uid][:2] == (2, True)  # withdrawn, nothing of version 2 learned

    async def body() -> dict[str, object]:
        entry = await Entry.get(uid=uuid.UUID(uid))
        return (await Revision.get(entry_id=entry.id, version=2)).envelope
    envelope = await c.run(body)
    assert envelope["entry"] == {"kind": "project", "withdrawn": True} and envelope["visibility"] == "network"
    assert "Nur im Verbund" not in str(await c.run(lambda: Entry.all().values_list("title", "summary")))

    # relayed onwards, the withdrawal never removes a member's live copy, nor upsets the origin
    await connect(a, c, member=True, trust_relayed=True)
    await b.add_peer(c, member=True)
    await c.add_peer(b, member=True)
    report = await a.pull(c)
    assert report.ok and (await a.entries())[uid] == (2, False, "Nur im Verbund")
    report = await b.pull(c)
    assert report.ok and report.applied == 0
    # public again: non-members get it back
    await b.revise(uid, visibility="public", title="Wieder offen")
    await c.pull(b)
    assert (await c.entries())[uid] == (3, False, "Wieder offen")
    await close_all(a, b, c)


async def test_a_network_entry_never_shown_is_not_withdrawn(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b, member=False)
    uid = await b.publish("Im Verbund", visibility="network")
    await b.revise(uid, title="Im Verbund, neu")
    report = await a.pull(b)
    assert report.ok and uid not in await a.entries()
    await close_all(a, b)
