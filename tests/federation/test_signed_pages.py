"""A hostile path between two real nodes: feed pages are signed and bound to their request.

`Path` sits in the in-process network between the puller and the peer and
may change what the peer answers (drop an item, rewrite an origin, forge
vouched keys) or answer with a page it recorded earlier (a later page, an
old page, another peer's page). Every such page is refused as a whole,
recorded on the peer with a backoff, nothing of it is stored and the cursor
stays; once the path is honest again the entries arrive.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path as FsPath
from typing import Any

import httpx
import pytest

from exchange.models import Peer, PendingEnvelope, VouchedKey
from federation.identity import NodeKey
from federation.signing import sign_envelope
from tests.federation.fednodes import FedNode, Net, close_all, connect, make_node

Tamper = Callable[[httpx.Request, dict[str, Any]], dict[str, Any]]


class Path(Net):
    """The in-process network, with a tampering path in front of the feed of `target`."""

    def __init__(self) -> None:
        super().__init__()
        self.target = ""
        self.tamper: Tamper | None = None
        self.replay: httpx.Response | None = None
        self.pages: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.url.host != self.target or request.url.path != "/graphql":
            return response
        await response.aread()
        self.pages.append((request, response))
        if self.replay is not None:
            return httpx.Response(self.replay.status_code, headers=self.replay.headers,
                                  content=self.replay.content)
        if self.tamper is None:
            return response
        body = self.tamper(request, json.loads(response.content))
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, content=json.dumps(body).encode())


@pytest.fixture
async def nodes(tmp_path: FsPath) -> AsyncIterator[tuple[FedNode, FedNode, Path]]:
    path = Path()
    a, b = await make_node(tmp_path, "a", path), await make_node(tmp_path, "b", path)
    await connect(a, b)
    path.target = "b.test"
    yield a, b, path
    await close_all(a, b)


async def cursor_of(a: FedNode, b: FedNode) -> str | None:
    async def go() -> str | None:
        return (await Peer.get(url=b.url)).cursor
    return await a.run(go)


async def assert_refused(a: FedNode, b: FedNode, before: dict[str, Any], cursor: str | None,
                         **pull: Any) -> None:
    report = await a.pull(b, page_size=3, **pull)
    assert not report.ok and report.error_code == "BAD_SIGNATURE", report
    assert await a.entries() == before
    assert await cursor_of(a, b) == cursor

    async def peer() -> Peer:
        return await Peer.get(url=b.url)
    state = await a.run(peer)
    assert state.last_error and state.failures >= 1 and state.next_attempt is not None


def items(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["data"]["changes"]["items"]  # type: ignore[no-any-return]


async def test_an_item_dropped_from_a_page_refuses_the_page(nodes: tuple[FedNode, FedNode, Path]) -> None:
    a, b, path = nodes
    uids = [await b.publish(f"Eintrag {i}") for i in range(3)]

    def drop(request: httpx.Request, body: dict[str, Any]) -> dict[str, Any]:
        del items(body)[1]
        for position, item in enumerate(items(body), 1):
            item["seq"] = position
        return body
    path.tamper = drop
    await assert_refused(a, b, {}, None)
    path.tamper = None
    report = await a.pull(b)
    assert report.ok and set(await a.entries()) == set(uids)


async def test_an_envelope_with_a_rewritten_origin_is_refused_and_arrives_later(
        nodes: tuple[FedNode, FedNode, Path]) -> None:
    a, b, path = nodes
    uid = await b.publish("Herkunft")

    def rewrite(request: httpx.Request, body: dict[str, Any]) -> dict[str, Any]:
        items(body)[0]["envelope"]["origin"] = "http://elsewhere.test"
        return body
    path.tamper = rewrite
    await assert_refused(a, b, {}, None)

    async def pending() -> int:
        return await PendingEnvelope.all().count()
    assert await a.run(pending) == 0
    path.tamper = None
    report = await a.pull(b)
    assert report.ok and report.applied == 1 and uid in await a.entries()


async def test_forged_vouched_keys_on_the_path_pin_nothing(tmp_path: FsPath) -> None:
    path = Path()
    a, b = await make_node(tmp_path, "a", path), await make_node(tmp_path, "b", path)
    await connect(a, b, trust_relayed=True)
    path.target = "b.test"
    forger = NodeKey.generate("http://c.test")
    forged = sign_envelope({
        "type": "entry", "id": "7a1c6f2e-0000-4000-8000-000000000001", "origin": forger.node_url,
        "version": 1, "visibility": "public", "updatedAt": "2026-11-21T09:00:00+00:00",
        "entry": {"kind": "project", "title": "Gefälscht", "summary": "S", "body_markdown": "B",
                  "topics": [], "createdAt": "2026-11-21T09:00:00+00:00",
                  "publisher": {"type": "organisation", "key": "forger", "name": "F"}},
    }, forger)
    await b.publish("Echt")

    def forge(request: httpx.Request, body: dict[str, Any]) -> dict[str, Any]:
        changes = body["data"]["changes"]
        changes["items"].append({"seq": len(changes["items"]) + 1, **forged.to_json()})
        changes["vouchedKeys"] = [{"origin": forger.node_url, "publicKey": forger.public_key_b64}]
        return body
    path.tamper = forge
    await assert_refused(a, b, {}, None)

    async def vouched() -> int:
        return await VouchedKey.all().count()
    assert await a.run(vouched) == 0
    path.tamper = None
    assert (await a.pull(b)).ok and len(await a.entries()) == 1
    await close_all(a, b)


async def test_a_later_page_instead_of_the_one_asked_for_is_refused(nodes: tuple[FedNode, FedNode, Path]) -> None:
    a, b, path = nodes
    uids = [await b.publish(f"Eintrag {i}") for i in range(9)]
    for _ in range(3):  # three honest pages of three, each recorded on the path
        assert (await a.pull(b, page_size=3, max_batches=1)).ok
    page3 = path.pages[-1][1]
    # a's cursor back after page 1 (say, the node was restored from last night's backup)
    first_cursor = json.loads(path.pages[1][0].url.params["variables"])["after"]

    async def rewind() -> dict[str, Any]:
        await Peer.filter(url=b.url).update(cursor=first_cursor)
        return {}
    await a.run(rewind)
    before = await a.entries()
    path.replay = page3  # what a asks for is page 2; the path answers page 3
    await assert_refused(a, b, before, first_cursor, max_batches=1)
    path.replay = None
    report = await a.pull(b)
    assert report.ok and set(await a.entries()) == set(uids)


async def test_an_old_page_replayed_to_the_same_peer_is_refused(nodes: tuple[FedNode, FedNode, Path]) -> None:
    a, b, path = nodes
    for i in range(6):
        await b.publish(f"Eintrag {i}")
    assert (await a.pull(b, page_size=3, max_batches=1)).ok
    old = path.pages[-1][1]
    assert (await a.pull(b, page_size=3, max_batches=1)).ok
    cursor = await cursor_of(a, b)
    uid = await b.publish("Neu")
    path.replay = old
    await assert_refused(a, b, await a.entries(), cursor)
    path.replay = None
    assert (await a.pull(b)).ok and uid in await a.entries()


async def test_a_members_page_replayed_to_a_non_member_is_refused(tmp_path: FsPath) -> None:
    path = Path()
    b = await make_node(tmp_path, "b", path)
    member = await make_node(tmp_path, "m", path)
    outsider = await make_node(tmp_path, "n", path)
    await connect(member, b, member=True)
    await connect(outsider, b)
    path.target = "b.test"
    public = await b.publish("Öffentlich")
    await b.publish("Nur im Verbund", visibility="network")
    assert (await member.pull(b)).ok and len(await member.entries()) == 2
    path.replay = path.pages[-1][1]
    await assert_refused(outsider, b, {}, None)
    path.replay = None
    assert (await outsider.pull(b)).ok and set(await outsider.entries()) == {public}
    await close_all(b, member, outsider)


async def test_a_page_says_nothing_of_rows_the_peer_may_not_see(nodes: tuple[FedNode, FedNode, Path]) -> None:
    a, b, path = nodes
    first = await b.publish("Erster öffentlicher")
    for i in range(8):
        await b.publish(f"Intern {i}", visibility="local" if i % 2 else "network")
    last = await b.publish("Zweiter öffentlicher")
    report = await a.pull(b, page_size=1, max_batches=1)  # one page of one item
    assert report.ok
    body = json.loads(path.pages[-1][1].content)["data"]["changes"]
    assert [i["seq"] for i in body["items"]] == [1]
    assert body["remaining"] == 1 and body["hasMore"] is True
    assert (await a.pull(b, page_size=1)).ok
    body = json.loads(path.pages[-1][1].content)["data"]["changes"]
    assert [i["seq"] for i in body["items"]] == [1] and body["remaining"] == 0 and body["hasMore"] is False
    assert [i["envelope"]["id"] for i in body["items"]] == [last]
    assert set(await a.entries()) == {first, last}
    # the cursor is sealed: it does not carry the sequence number in clear
    raw = base64.urlsafe_b64decode(body["nextCursor"] + "==")
    assert b'"s"' not in raw and b"10" not in raw
