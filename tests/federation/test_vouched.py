"""Vouched keys carry their provenance and never wedge a sync.

A relaying peer vouches for the keys of the origins it relays. Such a key is
stored with the peer that vouched for it, counts only while that peer is
trusted to relay, never replaces a pinned key, and a key that does not fit
holds that origin's envelopes back instead of refusing the whole page.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from exchange.cli import main
from exchange.db import Database
from exchange.models import Entry, Peer, PendingEnvelope, VouchedKey
from federation import store
from federation.client import PeerClient
from federation.identity import Descriptor, NodeKey
from federation.protocol import ChangeBatch, ChangeItem, SignedEnvelope
from federation.signing import sign_envelope
from federation.sync import Syncer, SyncReport
from tests.conftest import make_database
from tests.federation.signedpeer import signed
from tests.helpers import seed

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
RELAY = NodeKey.generate("http://relay.test")
OTHER_RELAY = NodeKey.generate("http://relay-two.test")
ORIGIN = NodeKey.generate("http://origin.test")
FAKE = NodeKey.generate(ORIGIN.node_url)  # a key that claims to be the origin's
OWN = NodeKey.generate("http://us.test")


def envelope(key: NodeKey, title: str = "Titel") -> SignedEnvelope:
    return sign_envelope({
        "type": "entry", "id": str(uuid.uuid4()), "origin": key.node_url, "version": 1,
        "visibility": "public", "updatedAt": NOW.isoformat(),
        "entry": {"kind": "project", "title": title, "summary": "S", "body_markdown": "B", "topics": [],
                  "createdAt": NOW.isoformat(),
                  "publisher": {"type": "organisation", "key": "relay-org", "name": "R"}},
    }, key)


async def pull(relay: NodeKey, items: list[SignedEnvelope], vouched: dict[str, str]) -> SyncReport:
    batch = ChangeBatch(tuple(ChangeItem(i + 1, s) for i, s in enumerate(items)), "c", False, vouched)
    body = {"data": {"changes": {**batch.to_json(), "remaining": 0}}}
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: signed(r, body, relay, NOW)))
    syncer = Syncer(OWN, PeerClient(http, OWN, lambda: NOW, allow_plain_http=True), clock=lambda: NOW,
                    interval=60, rand=lambda: 0.0)
    return await syncer.sync_peer(await Peer.get(url=relay.node_url))


async def add(key: NodeKey, *, trust_relayed: bool) -> None:
    descriptor = Descriptor.for_key(key, key.node_url, "1")
    await store.pin_peer(descriptor, member=False, trust_relayed=trust_relayed, confirm_key_change=False, now=NOW)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await make_database(tmp_path)
    with database.bound():
        await seed(database)
        await add(RELAY, trust_relayed=True)
        yield database
    await database.close()


async def held() -> dict[str, str]:
    return {str(p.entry_uid): str(p.reason) for p in await PendingEnvelope.all()}


async def stored(*signed_envelopes: SignedEnvelope) -> bool:
    return all([await Entry.exists(uid=s.entry_id) for s in signed_envelopes])


async def test_a_wrong_vouched_key_holds_its_origin_back_and_wedges_nothing(db: Database) -> None:
    # the relay (trusted) vouches a forged key for a real origin, with an envelope signed by it
    forged = envelope(FAKE, "Gefälscht")
    report = await pull(RELAY, [forged], {ORIGIN.node_url: FAKE.public_key_b64})
    assert report.ok and report.applied == 1
    assert await VouchedKey.filter(origin=ORIGIN.node_url).values_list("public_key", "vouched_by") == [
        (FAKE.public_key_b64, RELAY.node_url)]
    # the origin's real entries: held back with the reason, the rest of the page goes in
    real, own = envelope(ORIGIN, "Echt"), envelope(RELAY, "Vom Relais")
    report = await pull(RELAY, [real, own], {ORIGIN.node_url: ORIGIN.public_key_b64})
    assert report.ok, report.error
    assert report.applied == 1 and report.pending == 1 and await stored(own)
    assert "forget-key" in (await held())[real.entry_id]
    # re-added without --trust-relayed: its vouching no longer counts (no BAD_SIGNATURE either)
    await add(RELAY, trust_relayed=False)
    later, more = envelope(ORIGIN, "Echt 2"), envelope(RELAY, "Mehr")
    report = await pull(RELAY, [later, more], {ORIGIN.node_url: ORIGIN.public_key_b64})
    assert report.ok and report.applied == 1 and await stored(more)
    assert "--trust-relayed" in (await held())[later.entry_id]
    # the operator drops the forged key and trusts the relay again: the real key is learned
    assert await store.forget_vouched_key(ORIGIN.node_url) == 1
    await add(RELAY, trust_relayed=True)
    third = envelope(ORIGIN, "Echt 3")
    report = await pull(RELAY, [third], {ORIGIN.node_url: ORIGIN.public_key_b64})
    assert report.ok and await stored(real, later, third) and await held() == {}
    assert await VouchedKey.filter(origin=ORIGIN.node_url).values_list("public_key", flat=True) == [
        ORIGIN.public_key_b64]


async def test_a_vouched_key_never_replaces_a_pinned_one(db: Database) -> None:
    await add(ORIGIN, trust_relayed=False)  # the origin is a peer: its own key is pinned
    report = await pull(RELAY, [envelope(FAKE)], {ORIGIN.node_url: FAKE.public_key_b64})
    assert report.error_code == "BAD_SIGNATURE" and await Entry.all().count() == 0
    assert not await VouchedKey.exists()
    report = await pull(RELAY, [envelope(ORIGIN)], {ORIGIN.node_url: FAKE.public_key_b64})
    assert report.ok and report.applied == 1 and not await VouchedKey.exists()
    # nor ours: a key vouched for this node's own URL is not even looked at
    mine = envelope(OWN)
    report = await pull(RELAY, [mine], {OWN.node_url: FAKE.public_key_b64})
    assert report.error_code == "CONFLICT" and not await VouchedKey.exists()


async def test_vouchers_that_disagree_hold_the_origin_back(db: Database) -> None:
    await add(OTHER_RELAY, trust_relayed=True)
    first = envelope(ORIGIN)
    assert (await pull(RELAY, [first], {ORIGIN.node_url: ORIGIN.public_key_b64})).applied == 1
    forged = envelope(FAKE)
    report = await pull(OTHER_RELAY, [forged], {ORIGIN.node_url: FAKE.public_key_b64})
    assert report.ok and report.pending == 1 and not await stored(forged)
    assert f"but {RELAY.node_url} vouched" in (await held())[forged.entry_id]
    assert not await VouchedKey.exists(vouched_by=OTHER_RELAY.node_url)


def test_operators_list_and_drop_vouched_keys(tmp_path: Path) -> None:
    env = {"EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path / 'node.db'}",
           "EXCHANGE_NODE_URL": "http://127.0.0.1:8999"}
    runner = CliRunner()
    first = runner.invoke(main, ["peers", "vouched"], env=env)
    assert first.exit_code == 0 and "no vouched keys" in first.output
    with sqlite3.connect(tmp_path / "node.db") as conn:
        conn.execute("INSERT INTO vouched_key (origin, public_key, vouched_by, created_at) VALUES (?, ?, ?, ?)",
                     (ORIGIN.node_url, ORIGIN.public_key_b64, RELAY.node_url, NOW.isoformat()))
    listed = runner.invoke(main, ["peers", "vouched"], env=env)
    assert listed.exit_code == 0, listed.output
    assert f"{ORIGIN.node_url}  key {ORIGIN.key_id}  vouched by {RELAY.node_url}" in listed.output
    assert "not used: the peer is not trusted to relay" in listed.output
    dropped = runner.invoke(main, ["peers", "forget-key", ORIGIN.node_url], env=env)
    assert dropped.exit_code == 0 and "1 vouched key(s)" in dropped.output
    again: Any = runner.invoke(main, ["peers", "forget-key", ORIGIN.node_url], env=env)
    assert again.exit_code != 0 and "no key is vouched for" in again.output
