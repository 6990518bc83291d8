"""The federation face of a node: descriptor, signed feed access, hints, scheduler, health."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from exchange.api.schema import schema
from exchange.catalogue import build_envelope, publisher_of_entry
from exchange.models import Entry, NodeState, Peer, Revision
from federation.client import CHANGES_OPERATION, OPERATION_FILE, PeerClient
from federation.httpsig import sign_request
from federation.identity import WELL_KNOWN_PATH, Descriptor, NodeKey
from federation.protocol import SignedEnvelope, validate_envelope
from federation.scheduler import LEASE_KEY, LeaderLease
from federation.signing import verify_envelope
from graphql import parse, validate
from tests.federation.fednodes import KISSELBACH, close_all, connect, make_nodes
from tests.helpers import token_for


def test_changes_operation_validates_against_the_schema() -> None:
    assert OPERATION_FILE.name == "Changes.graphql"
    errors = validate(schema._schema, parse(CHANGES_OPERATION))
    assert errors == []


async def test_stored_envelopes_are_valid_and_signed_by_the_node(tmp_path: Path) -> None:
    (b,) = await make_nodes(tmp_path, "b")
    uid = await b.publish("Signiert")

    async def check() -> None:
        entry = await Entry.get(uid=uid)
        revision = await Revision.get(entry_id=entry.id)
        validate_envelope(revision.envelope)
        assert revision.envelope["origin"] == b.url == b.node.key.node_url
        verify_envelope(SignedEnvelope(revision.envelope, revision.signature), b.node.key.public_key_b64)
        topics = [t.slug for t in await b.node.catalogue.topics_of(entry)]
        assert build_envelope(entry, topics, await publisher_of_entry(entry)) == revision.envelope
    await b.run(check)
    await close_all(b)


async def test_descriptor_is_served(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    r = await a.node.extra["federation"].http.get(b.url + WELL_KNOWN_PATH)
    descriptor = Descriptor.from_json(r.json())
    assert descriptor.id == b.url and descriptor.public_key == b.node.key.public_key_b64
    await close_all(a, b)


async def feed_request(a_key: NodeKey | None, url: str, method: str = "GET") -> httpx.Request:
    params = {"query": CHANGES_OPERATION, "variables": json.dumps({"first": 10})}
    if method == "GET":
        request = httpx.Request("GET", url + "/graphql", params=params)
    else:
        request = httpx.Request("POST", url + "/graphql", json=params | {"variables": {"first": 10}})
    if a_key is not None:
        sign_request(request, a_key, datetime.now(UTC))
    return request


async def test_the_feed_answers_only_known_peers_with_valid_signatures(tmp_path: Path) -> None:
    a, b, c = await make_nodes(tmp_path, "abc")
    await connect(a, b)
    await b.publish("Eins")
    http = a.node.extra["federation"].http

    async def code_of(request: httpx.Request) -> str:
        body = (await http.send(request)).json()
        if "errors" in body:
            return str(body["errors"][0]["extensions"]["code"])
        return f"items:{len(body['data']['changes']['items'])}"

    assert await code_of(await feed_request(a.node.key, b.url)) == "items:1"
    assert await code_of(await feed_request(None, b.url)) == "BAD_SIGNATURE"
    assert await code_of(await feed_request(c.node.key, b.url)) == "UNKNOWN_PEER"  # c is no peer of b
    assert await code_of(await feed_request(a.node.key, b.url, "POST")) == "BAD_SIGNATURE"
    impostor = NodeKey.generate(a.url)  # claims to be a, with another key
    assert await code_of(await feed_request(impostor, b.url)) == "BAD_SIGNATURE"
    stale = await feed_request(None, b.url)
    sign_request(stale, a.node.key, datetime.now(UTC) - timedelta(hours=1))
    assert await code_of(stale) == "BAD_SIGNATURE"
    tampered = await feed_request(a.node.key, b.url)
    tampered.url = tampered.url.copy_merge_params({"variables": json.dumps({"first": 99})})
    assert await code_of(tampered) == "BAD_SIGNATURE"
    await close_all(a, b, c)


async def test_a_signed_hint_makes_the_scheduler_pull_at_once(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    await a.pull(b)
    fed = a.node.extra["federation"]
    fed.scheduler.interval, fed.scheduler.tick = 3600, 30

    async def later() -> None:  # not due for an hour: only the hint can make it due
        await Peer.filter(url=b.url).update(next_attempt=datetime.now(UTC) + timedelta(hours=1))
    await a.run(later)
    uid = await b.publish("Neuigkeit")
    fed.scheduler.start()
    try:
        unsigned = await b.node.extra["federation"].http.post(a.url + "/federation/hint", content=b"{}")
        assert unsigned.status_code == 401
        await b.run(lambda: b.node.extra["federation"].client().hint(a.url))
        for _ in range(100):
            if uid in await a.entries():
                break
            await asyncio.sleep(0.05)
        assert uid in await a.entries()
    finally:
        await fed.scheduler.stop()
    await close_all(a, b)


async def test_one_leader_among_processes_sharing_a_database(tmp_path: Path) -> None:
    (a,) = await make_nodes(tmp_path, "a")
    now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    first, second = LeaderLease("one", seconds=60), LeaderLease("two", seconds=60)

    async def go() -> None:
        assert await first.acquire(now)
        assert not await second.acquire(now)
        assert await first.acquire(now + timedelta(seconds=30))  # renewing
        assert not await second.acquire(now + timedelta(seconds=80))
        assert await second.acquire(now + timedelta(seconds=91))  # the first one died
        assert not await first.acquire(now + timedelta(seconds=92))
        await second.release()
        assert not await NodeState.exists(key=LEASE_KEY)
        assert await first.acquire(now + timedelta(seconds=93))
    await a.run(go)
    await close_all(a)


async def test_healthz_shows_lag_per_peer(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    for i in range(3):
        await b.publish(f"E{i}")
    syncer = a.node.extra["federation"].syncer()
    syncer.page_size = 1

    async def one_page() -> None:
        await syncer.sync_peer(await Peer.get(url=b.url), max_batches=1)
    await a.run(one_page)
    admin = await a.run(lambda: token_for(KISSELBACH, ("admin",)))
    health = (await a.node.extra["federation"].http.get(
        a.url + "/healthz", headers={"authorization": f"Bearer {admin}"})).json()
    assert health["peerStates"][b.url]["entriesBehind"] == 2
    assert health["peers"] == {"count": 1, "failing": 0, "entriesBehind": 2, "pending": 0}
    await close_all(a, b)


async def test_healthz_shows_peer_urls_and_errors_to_operators_only(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    a.net.down.add("b.test")
    report = await a.pull(b)
    assert report.error_code
    http = a.node.extra["federation"].http
    r = await http.get(a.url + "/healthz")
    assert r.status_code == 200
    health = r.json()
    assert (health["status"], health["database"]) == ("ok", "ok")
    assert health["peers"] == {"count": 1, "failing": 1, "entriesBehind": 0, "pending": 0}
    assert "b.test" not in r.text and "down" not in r.text and "peerStates" not in health
    publisher = await a.run(lambda: token_for(KISSELBACH, ("publish",)))
    r = await http.get(a.url + "/healthz", headers={"authorization": f"Bearer {publisher}"})
    assert "b.test" not in r.text  # a publisher is no operator
    r = await http.get(a.url + "/healthz", headers={"authorization": "Bearer exg_unknown"})
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    admin = await a.run(lambda: token_for(KISSELBACH, ("admin",)))
    r = await http.get(a.url + "/healthz", headers={"authorization": f"Bearer {admin}"})
    assert "b.test is down" in r.json()["peerStates"][b.url]["lastError"]
    await close_all(a, b)


async def test_peer_client_refuses_a_descriptor_under_another_name(tmp_path: Path) -> None:
    (b,) = await make_nodes(tmp_path, "b")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=Descriptor.for_key(b.node.key, "B", "1").to_json())
    client = PeerClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), allow_plain_http=True)
    try:
        await client.descriptor("http://other-name.test")
    except Exception as exc:  # noqa: BLE001 - checking the code below
        assert getattr(exc, "code", "") == "PROTOCOL_MISMATCH"
    else:
        raise AssertionError("descriptor under another name accepted")
    await close_all(b)
