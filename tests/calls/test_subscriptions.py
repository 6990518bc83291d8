"""Subscriptions to calls: topics and a region choose the calls, as Atom and as a digest mail."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from exchange.auth import Actor, find_publisher
from exchange.calls import Subscription, calls_for, send_digests, subscribe
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from exchange.errors import FieldError, InvalidInputError
from federation.identity import NodeKey
from tests.helpers import NOW, client_for, seed

KISSELBACH, WIGGENSBACH = "071405008068", "097800146146"


async def post(catalogue: Catalogue, key: str, title: str, topics: list[str]) -> str:
    actor = Actor(publisher=await find_publisher(key), scopes=frozenset({"publish"}))
    entry = await catalogue.publish(actor, EntryInput(kind="call", title=title, summary="Partner gesucht.",
                                                      topics=topics, call={"deadline": "2099-01-01"}))
    return str(entry.uid)


async def test_topics_and_radius_choose_the_calls_for_feed_and_digest(db: Database, tmp_path: Path) -> None:
    await seed(db)
    catalogue = Catalogue(signer=NodeKey.load_or_create(tmp_path / "k.key", "http://node-a.test"), clock=lambda: NOW)
    sub, token = await subscribe(1, "digital@kisselbach.example", topics=["digitalisierung"],
                                 centre_key=KISSELBACH, radius_km=50, frequency="weekly",
                                 now=NOW - timedelta(days=1))
    near = await post(catalogue, KISSELBACH, "Sensoren gemeinsam kaufen", ["digitalisierung"])
    await post(catalogue, WIGGENSBACH, "Sensoren im Allgäu", ["digitalisierung"])  # about 330 km away
    await post(catalogue, KISSELBACH, "Bauhof teilen", [])  # another topic
    assert [str(e.uid) for e in await calls_for(sub, NOW)] == [near]
    async with client_for(db, tmp_path) as client:
        r = await client.get(f"/calls/feed/{token}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
        assert "Sensoren gemeinsam kaufen" in r.text and "Allgäu" not in r.text and f"/entries/{near}" in r.text
        assert (await client.get("/calls/feed/not-a-token", headers={"Accept": "text/html"})).status_code == 404
    mails: list[tuple[str, str, str]] = []

    async def send(to: str, subject: str, body: str) -> None:
        mails.append((to, subject, body))

    assert await send_digests(send, "http://node-a.test", NOW) == 0  # a weekly digest: not due yet
    assert await send_digests(send, "http://node-a.test", NOW + timedelta(days=6)) == 1
    assert mails == [("digital@kisselbach.example", "1 neue Partnersuche(n)",
                      f"- Sensoren gemeinsam kaufen (2099-01-01): http://node-a.test/entries/{near}\n")]
    assert await send_digests(send, "http://node-a.test", NOW + timedelta(days=14)) == 0  # nothing new since
    assert (await Subscription.get(id=sub.id)).last_sent_at == NOW + timedelta(days=14)


async def test_bad_subscriptions_are_refused(db: Database) -> None:
    await seed(db)
    with pytest.raises(FieldError, match="between 1 and 1000"):
        await subscribe(1, "", topics=[], centre_key=KISSELBACH, radius_km=10_000, now=NOW)
    with pytest.raises(InvalidInputError, match="unknown topic"):
        await subscribe(1, "", topics=["no-such-topic"], now=NOW)
    with pytest.raises(FieldError, match="daily or weekly"):
        await subscribe(1, "", topics=[], frequency="hourly", now=NOW)
    with pytest.raises(InvalidInputError, match="needs a municipality"):
        await subscribe(1, "", topics=[], radius_km=20, now=NOW)
    assert await Subscription.all().count() == 0
