"""The subscription page: a signed-in person subscribes to new calls without JavaScript and gets a feed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exchange.calls import Subscription
from exchange.db import Database
from tests.web.accountkit import staff, web_client
from tests.web.test_publish import csrf_of
from tests.web.webkit import KISSELBACH, Content, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


async def test_a_person_subscribes_and_reads_the_feed(content: Content, db: Database) -> None:
    people = await staff()
    async with await web_client(content, db, people.people["editor"]) as page:
        r = await page.get("/calls/subscriptions")
        assert r.status_code == 200 and "Neue Partnersuchen" in r.text and f'value="{KISSELBACH}"' in r.text
        form = {"csrf": csrf_of(r.text), "email": "erika@kisselbach.example", "centre_key": KISSELBACH,
                "radius_km": "5000", "frequency": "daily", "topics": ["digitalisierung"]}
        r = await page.post("/calls/subscriptions", data=form)
        assert r.status_code == 400 and "zwischen 1 und 1000 km" in r.text and 'value="5000"' in r.text
        assert await Subscription.all().count() == 0
        r = await page.post("/calls/subscriptions", data={**form, "radius_km": "40"})
        assert r.status_code == 200 and "Abonniert." in r.text and "täglich" in r.text
        feed = re.search(r"http://node-a\.test(/calls/feed/[A-Za-z0-9_-]+)", r.text)
        assert feed is not None
        answer = await page.get(feed.group(1))
        assert answer.status_code == 200 and answer.text.startswith("<?xml")
    sub = await Subscription.get()
    assert (sub.topics, sub.radius_km, sub.frequency, sub.centre_key) == (["digitalisierung"], 40, "daily", KISSELBACH)
    async with await web_client(content, db, None) as anonymous:
        assert (await anonymous.get("/calls/subscriptions")).status_code == 401


async def test_a_person_deletes_a_subscription_after_confirming_and_nobody_else_can(content: Content,
                                                                                    db: Database) -> None:
    people = await staff()
    async with await web_client(content, db, people.people["editor"]) as page:
        r = await page.get("/calls/subscriptions")
        r = await page.post("/calls/subscriptions", data={"csrf": csrf_of(r.text), "email": "", "frequency": "weekly",
                                                          "topics": ["digitalisierung"]})
        feed = re.search(r"http://node-a\.test(/calls/feed/[A-Za-z0-9_-]+)", r.text)
        assert feed is not None
        sub = await Subscription.get()
        link = f"/calls/subscriptions/{sub.id}/delete"
        assert f'href="{link}"' in r.text
        confirm = await page.get(link)
        assert confirm.status_code == 200 and "Abonnement löschen" in confirm.text and "Digitalisierung" in confirm.text
        assert await Subscription.filter(id=sub.id).exists()  # looking at the page deletes nothing
        assert (await page.post(link, data={})).status_code == 403  # the form's token is needed
        english = await page.get(link, params={"lang": "en"})
        assert "Delete the subscription" in english.text and "Abonnement" not in english.text
    async with await web_client(content, db, people.people["other editor"]) as stranger:
        assert (await stranger.get(link)).status_code == 404
        own = await stranger.get("/calls/subscriptions")
        assert (await stranger.post(link, data={"csrf": csrf_of(own.text)})).status_code == 404
        assert (await stranger.get("/calls/subscriptions/99999999999999999999/delete")).status_code == 404
        assert (await stranger.get("/calls/subscriptions/x/delete")).status_code == 404
    async with await web_client(content, db, None) as anonymous:
        assert (await anonymous.post(link, data={})).status_code == 401
    assert await Subscription.filter(id=sub.id).exists()
    async with await web_client(content, db, people.people["editor"]) as page:
        confirm = await page.get(link)
        r = await page.post(link, data={"csrf": csrf_of(confirm.text)})
        assert r.status_code == 303 and r.headers["location"] == "/calls/subscriptions?deleted=1"
        after = await page.get(r.headers["location"])
        assert "Das Abonnement ist gelöscht." in after.text and link not in after.text
        assert not await Subscription.filter(id=sub.id).exists()
        assert (await page.get(feed.group(1))).status_code == 404  # its feed is gone with it
        assert (await page.post(link, data={"csrf": csrf_of(confirm.text)})).status_code == 404
