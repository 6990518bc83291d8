"""Subscriptions to new calls: a person's saved search (topics and a region), as Atom and by e-mail digest.

A subscription stays on this node and is never federated: it names a person,
an address, topics and a municipality with a radius. `subscribe` stores one
and returns the secret of its Atom feed (only its SHA-256 is kept);
`unsubscribe` (by number) and `unsubscribe_feed` (by feed address) delete
one of the person's own; `calls_for` finds the open public calls it matches
(any of its topics, if any; within its radius of its municipality, if
given); `atom` writes them as a feed, and `send_digests` mails each subscription that is due (daily or
weekly) the calls published since its last digest, through the node's mailer
(`exchange.accounts.mail`: SMTP when configured).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from exchange.calls.models import Subscription
from exchange.calls.terms import MAX_RADIUS_KM, is_open
from exchange.errors import N_, FieldError, InvalidInputError, NotFoundError
from exchange.models import Entry, EntryTopic, Municipality, Topic

log = logging.getLogger("exchange.calls")
FREQUENCIES = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_SUBSCRIPTIONS = 20  # per person
ATOM = "http://www.w3.org/2005/Atom"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def subscribe(person_id: int, email: str, *, topics: list[str], centre_key: str = "",
                    radius_km: int | None = None, frequency: str = "weekly", language: str = "de",
                    now: datetime) -> tuple[Subscription, str]:
    """Store a subscription; returns it and the secret of its Atom feed."""
    if frequency not in FREQUENCIES:
        raise FieldError("frequency", N_("Please choose daily or weekly."))
    if email and "@" not in email:
        raise FieldError("email", N_("%(value)s is not an e-mail address."), value=email[:80])
    slugs = list(dict.fromkeys(t.strip() for t in topics if t.strip()))[:10]
    known = set(await Topic.filter(slug__in=slugs).values_list("slug", flat=True))
    if set(slugs) - known:
        raise InvalidInputError(f"unknown topic(s): {', '.join(sorted(set(slugs) - known))}")
    if radius_km is not None and not 0 < radius_km <= MAX_RADIUS_KM:
        raise FieldError("radius_km", N_("The radius must be between 1 and %(most)s km, not %(value)s."),
                         most=MAX_RADIUS_KM, value=radius_km)
    if radius_km is not None and not centre_key:
        raise InvalidInputError("a radius needs a municipality to count from (centreKey)")
    if centre_key and not await Municipality.exists(official_key=centre_key):
        raise NotFoundError(f"no municipality with the official key {centre_key}")
    if await Subscription.filter(person_id=person_id).count() >= MAX_SUBSCRIPTIONS:
        raise InvalidInputError(f"at most {MAX_SUBSCRIPTIONS} subscriptions per person")
    token = secrets.token_urlsafe(24)
    sub = await Subscription.create(person_id=person_id, email=email.strip()[:200], topics=slugs,
                                    centre_key=centre_key, radius_km=radius_km, frequency=frequency,
                                    language=language if language in ("de", "en") else "de",
                                    feed_token_hash=_hash(token), last_sent_at=now, created_at=now)
    return sub, token


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dp, dl = map(math.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


async def calls_for(sub: Subscription, now: datetime, since: datetime | None = None, limit: int = 50) -> list[Entry]:
    """The open public calls the subscription matches, newest first (published after `since`)."""
    query = Entry.filter(kind="call", deleted=False, visibility="public")
    if since is not None:
        query = query.filter(created_at__gt=since)
    if sub.topics:
        ids = EntryTopic.filter(topic__slug__in=list(sub.topics)).values_list("entry_id", flat=True)
        query = query.filter(id__in=list(await ids))
    rows = [e for e in await query.order_by("-created_at").limit(500) if is_open(e.call, now.date())]
    if sub.radius_km is not None and sub.centre_key:
        centre = await Municipality.get(official_key=sub.centre_key)
        places = {m.id: m for m in await Municipality.filter(id__in=[e.municipality_id for e in rows
                                                                      if e.municipality_id is not None])}
        rows = [e for e in rows if e.municipality_id in places and None not in (
            centre.latitude, centre.longitude, places[e.municipality_id].latitude)
            and _km(centre.latitude, centre.longitude, places[e.municipality_id].latitude,  # type: ignore[arg-type]
                    places[e.municipality_id].longitude) <= sub.radius_km]  # type: ignore[arg-type]
    return rows[:limit]


async def own_subscription(person_id: int, sub_id: str) -> Subscription:
    """One of the person's subscriptions by its number; another person's is not found."""
    number = int(sub_id) if sub_id.isascii() and sub_id.isdigit() and len(sub_id) <= 9 else None
    sub = await Subscription.get_or_none(id=number, person_id=person_id) if number is not None else None
    if sub is None:
        raise NotFoundError(f"you have no subscription number {sub_id[:20]}")
    return sub


async def unsubscribe(person_id: int, sub_id: str) -> None:
    """Delete one of the person's subscriptions (its feed address stops working)."""
    sub = await own_subscription(person_id, sub_id)
    await Subscription.filter(id=sub.id, person_id=person_id).delete()


async def unsubscribe_feed(person_id: int, feed: str) -> None:
    """Delete the person's subscription with this feed address (or the secret at its end)."""
    token = feed.strip().rstrip("/").rsplit("/", 1)[-1][:100]
    sub = await Subscription.get_or_none(feed_token_hash=_hash(token), person_id=person_id) if token else None
    if sub is None:
        raise NotFoundError("you have no subscription with this feed address")
    await sub.delete()


async def by_token(token: str) -> Subscription:
    sub = await Subscription.get_or_none(feed_token_hash=_hash(token))
    if sub is None:
        raise NotFoundError("no subscription has this feed address")
    return sub


def atom(calls: list[Entry], base_url: str, title: str, updated: datetime) -> bytes:
    """An Atom feed of calls."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base_url}/calls/feed"
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = (calls[0].updated_at if calls else updated).isoformat()
    for e in calls:
        item = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(item, f"{{{ATOM}}}title").text = e.title
        ET.SubElement(item, f"{{{ATOM}}}id").text = f"urn:uuid:{e.uid}"
        ET.SubElement(item, f"{{{ATOM}}}link", href=f"{base_url}/entries/{e.uid}")
        ET.SubElement(item, f"{{{ATOM}}}updated").text = e.updated_at.isoformat()
        deadline = (e.call or {}).get("deadline", "")
        ET.SubElement(item, f"{{{ATOM}}}summary").text = f"{e.summary} (bis/until {deadline})"
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


async def send_digests(send: Callable[[str, str, str], Awaitable[Any]], base_url: str, now: datetime) -> int:
    """Mail every due subscription the calls published since its last digest; returns mails sent."""
    sent = 0
    for sub in await Subscription.exclude(email=""):
        if sub.last_sent_at is not None and now - sub.last_sent_at < FREQUENCIES.get(sub.frequency, timedelta(7)):
            continue
        # claimed first, so that of several processes one sends it
        if await Subscription.filter(id=sub.id, last_sent_at=sub.last_sent_at).update(last_sent_at=now) != 1:
            continue
        calls = await calls_for(sub, now, since=sub.last_sent_at)
        if calls:
            german = sub.language == "de"
            subject = (f"{len(calls)} neue Partnersuche(n)" if german else f"{len(calls)} new call(s) for partners")
            lines = [f"- {e.title} ({(e.call or {}).get('deadline', '')}): {base_url}/entries/{e.uid}" for e in calls]
            await send(sub.email, subject, "\n".join(lines) + "\n")
            sent += 1
    return sent


class DigestTimer:
    """Sends the due digests every `every` seconds in the background (started with the node)."""

    def __init__(self, database: Any, send: Callable[[str, str, str], Awaitable[Any]], base_url: str,
                 clock: Callable[[], datetime], every: float = 3600.0) -> None:
        self.database, self.send, self.base_url, self.clock, self.every = database, send, base_url, clock, every
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                with self.database.bound():
                    await send_digests(self.send, self.base_url, self.clock())
            except Exception:  # a mail server that is down: the next round tries again
                log.exception("sending digests of calls failed")
            await asyncio.sleep(self.every)

    async def startup(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
