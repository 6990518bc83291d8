"""Hostile and broken peers, played by `httpx.MockTransport`.

Down, slow, garbage, oversized, badly signed, tampered, conflicting and
replayed answers: each is refused as a whole batch, recorded on the peer
with a backoff, and nothing of it is stored; the node keeps serving.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.db import Database
from exchange.models import Change, Entry, Peer, PendingEnvelope, VouchedKey
from federation.client import PeerClient
from federation.identity import NodeKey
from federation.protocol import ChangeBatch, ChangeItem, SignedEnvelope
from federation.signing import sign_envelope
from federation.sync import Syncer, retry_delay
from tests.conftest import make_database
from tests.federation.signedpeer import signed
from tests.helpers import MUNICIPALITIES, seed, token_for

PEER = "http://hostile.test"
PEER_KEY = NodeKey.generate(PEER)  # the hostile peer signs what it sends, as every node does
SMALL = MUNICIPALITIES[2]["official_key"]
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def envelope(key: NodeKey, *, version: int = 1, title: str = "Titel", uid: str | None = None,
             origin: str | None = None, tombstone: bool = False) -> SignedEnvelope:
    env = {
        "type": "tombstone" if tombstone else "entry", "id": uid or str(uuid.uuid4()),
        "origin": origin or key.node_url, "version": version, "visibility": "public",
        "updatedAt": NOW.isoformat(),
        "entry": {"kind": "project", "title": title, "summary": "S", "body_markdown": "B",
                  "topics": [], "createdAt": NOW.isoformat(),
                  "publisher": {"type": "organisation", "key": "hostile-org", "name": "H"}},
    }
    return sign_envelope(env, key)


def answer(items: list[SignedEnvelope], *, has_more: bool = False) -> dict[str, Any]:
    batch = ChangeBatch(tuple(ChangeItem(1 + i, s) for i, s in enumerate(items)), "cursor-x", has_more)
    return {"data": {"changes": {**batch.to_json(), "remaining": 0}}}


@dataclass
class Setup:
    db: Database
    key: NodeKey  # the hostile peer's key
    own: NodeKey  # our node's key

    def syncer(self, handler: Handler, **client: Any) -> Syncer:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        return Syncer(self.own, PeerClient(http, self.own, lambda: NOW, allow_plain_http=True, **client),
                      clock=lambda: NOW, interval=60, rand=lambda: 0.0)

    async def pull(self, handler: Handler, **client: Any) -> Any:
        peer = await Peer.get(url=PEER)
        return await self.syncer(handler, **client).sync_peer(peer)


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    db = await make_database(tmp_path)
    with db.bound():
        await seed(db)
        key = PEER_KEY
        await Peer.create(url=PEER, name="Hostile", public_key=key.public_key_b64, key_id=key.key_id,
                          created_at=NOW)
        yield Setup(db, key, NodeKey.generate("http://us.test"))
    await db.close()


async def stored() -> tuple[int, int]:
    return await Entry.all().count(), await Change.all().count()


def respond(body: Any, status: int = 200) -> Handler:
    """The peer answers `body`, signed for the request it answers."""
    return lambda request: signed(request, body, PEER_KEY, NOW, status)


def raising(exc: type[httpx.HTTPError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)
    return handler


@pytest.mark.parametrize(("handler", "code"), [
    pytest.param(raising(httpx.ConnectError), "PEER_UNREACHABLE", id="down"),
    pytest.param(raising(httpx.ReadTimeout), "PEER_UNREACHABLE", id="slow"),
    pytest.param(respond({"x": 1}, 503), "PEER_UNREACHABLE", id="http-503"),
    pytest.param(respond({"errors": [{"message": "who?"}]}, 401), "PEER_REFUSED", id="http-401"),
    pytest.param(respond({"errors": [{"message": "no", "extensions": {"code": "UNKNOWN_PEER"}}]}),
                 "PEER_REFUSED", id="unknown-to-peer"),
    pytest.param(respond(b"<html>garbage</html>"), "PROTOCOL_MISMATCH", id="not-json"),
    pytest.param(respond({"data": {"changes": {"items": "nope"}}}), "PROTOCOL_MISMATCH", id="wrong-shape"),
    pytest.param(respond({"data": None}), "PROTOCOL_MISMATCH", id="no-data"),
    pytest.param(respond({"data": {"changes": {"items": [], "nextCursor": "c", "hasMore": False,
                                               "vouchedKeys": [], "remaining": -1}}}),
                 "PROTOCOL_MISMATCH", id="negative-remaining"),
])
async def test_broken_answers_are_refused_and_recorded(setup: Setup, handler: Handler, code: str) -> None:
    report = await setup.pull(handler)
    assert not report.ok and report.error_code == code
    assert await stored() == (0, 0)
    peer = await Peer.get(url=PEER)
    assert peer.failures == 1 and peer.last_error_code == code and peer.cursor is None
    assert peer.next_attempt == NOW + retry_delay(1, 60, 0.0)
    await setup.pull(handler)
    peer = await Peer.get(url=PEER)
    assert peer.failures == 2 and peer.next_attempt == NOW + retry_delay(2, 60, 0.0)
    assert retry_delay(2, 60, 0.0) > retry_delay(1, 60, 0.0)


async def test_oversized_pages_are_refused(setup: Setup) -> None:
    items = [envelope(setup.key) for _ in range(3)]
    report = await setup.pull(respond(answer(items)), max_answer_bytes=1000)
    assert report.error_code == "OVERSIZED_ANSWER"
    many = [envelope(setup.key) for _ in range(501)]
    report = await setup.pull(respond(answer(many)))
    assert report.error_code == "OVERSIZED_ANSWER"
    assert await stored() == (0, 0)


async def test_a_bad_signature_spoils_the_whole_batch(setup: Setup) -> None:
    good = envelope(setup.key)
    forged = envelope(NodeKey.generate(PEER))  # claims the peer as origin, signed by someone else
    report = await setup.pull(respond(answer([good, forged])))
    assert report.error_code == "BAD_SIGNATURE"
    assert await stored() == (0, 0)
    report = await setup.pull(respond(answer([good])))
    assert report.ok and report.applied == 1


async def test_a_tampered_envelope_is_refused(setup: Setup) -> None:
    signed = envelope(setup.key, title="Original")
    tampered = SignedEnvelope({**signed.envelope, "entry": {**signed.envelope["entry"], "title": "Fake"}},
                              signed.signature)
    report = await setup.pull(respond(answer([tampered])))
    assert report.error_code == "BAD_SIGNATURE" and await stored() == (0, 0)


async def test_two_contents_under_one_version_are_a_conflict(setup: Setup) -> None:
    uid = str(uuid.uuid4())
    first = envelope(setup.key, uid=uid, title="Eins")
    assert (await setup.pull(respond(answer([first])))).applied == 1
    other = envelope(setup.key, uid=uid, title="Zwei")
    fresh = envelope(setup.key)
    report = await setup.pull(respond(answer([fresh, other])))
    assert report.error_code == "CONFLICT"
    assert await stored() == (1, 1)


async def test_replayed_and_older_batches_change_nothing(setup: Setup) -> None:
    uid = str(uuid.uuid4())
    v1, v2 = envelope(setup.key, uid=uid, title="v1"), envelope(setup.key, uid=uid, version=2, title="v2")
    assert (await setup.pull(respond(answer([v1, v2])))).applied == 1
    for replay in ([v1, v2], [v1], [v2]):
        report = await setup.pull(respond(answer(replay)))
        assert report.ok and report.applied == 0
    entry = await Entry.get(uid=uid)
    assert (entry.version, entry.title) == (2, "v2")
    assert await stored() == (1, 1)


async def test_a_changed_copy_of_our_own_entry_is_refused(setup: Setup) -> None:
    ours = envelope(setup.own, title="Unseres")  # signed by us, but we never stored it
    report = await setup.pull(respond(answer([ours])))
    assert report.error_code == "CONFLICT" and "refuse_own" in report.error
    assert await stored() == (0, 0)


async def test_relayed_origins_without_trust_stay_pending_not_stored(setup: Setup) -> None:
    other = NodeKey.generate("http://elsewhere.test")
    relayed = envelope(other)
    batch = answer([relayed])
    batch["data"]["changes"]["vouchedKeys"] = [{"origin": other.node_url, "publicKey": other.public_key_b64}]
    report = await setup.pull(respond(batch))
    assert report.ok and report.pending == 1 and await stored() == (0, 0)
    # once trusted, the held envelope is released with the key vouched for at the time
    await Peer.filter(url=PEER).update(trust_relayed=True)
    report = await setup.pull(respond(answer([])))
    assert report.ok and report.released == 1 and await stored() == (1, 1)
    # a trusted peer that vouches a wrong key for a new origin is caught by the signature:
    # that origin's envelope is held back (the rest of the page goes in), the key not kept
    third = NodeKey.generate("http://third.test")
    liar = answer([envelope(third), envelope(setup.key)])
    liar["data"]["changes"]["vouchedKeys"] = [{"origin": third.node_url,
                                               "publicKey": NodeKey.generate(third.node_url).public_key_b64}]
    report = await setup.pull(respond(liar))
    assert report.ok and report.applied == 1 and report.pending == 1 and await stored() == (2, 2)
    held = await PendingEnvelope.get(origin_node=third.node_url)
    assert "does not verify with the key" in held.reason
    assert not await VouchedKey.exists(origin=third.node_url)


async def test_the_node_keeps_serving_while_its_peer_misbehaves(setup: Setup, tmp_path: Path) -> None:
    from tests.helpers import client_for

    await setup.pull(respond(b"garbage"))
    async with client_for(setup.db, tmp_path) as client:
        r = await client.post("/graphql", json={"query": "{ entries(first: 1) { totalCount } }"})
        assert r.json()["data"]["entries"]["totalCount"] == 0
        health = (await client.get("/healthz")).json()
        assert health["status"] == "ok"
        assert health["peers"]["failing"] == 1 and "peerStates" not in health
        admin = {"authorization": f"Bearer {await token_for(SMALL, ('admin',))}"}
        health = (await client.get("/healthz", headers=admin)).json()
        assert health["peerStates"][PEER]["lastError"] and health["peerStates"][PEER]["failures"] == 1
