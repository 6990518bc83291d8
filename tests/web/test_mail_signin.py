"""Sign-in links and invitations by mail, through a real SMTP server (aiosmtpd, in-process).

The node sends through its SmtpMailer to the server on a loopback port; the
tests read the mails as received, take the links out of them and follow
them like a person would.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from exchange.accounts.links import PER_ADDRESS
from exchange.accounts.mail import mailer_for
from exchange.accounts.models import Invitation, Membership, Person, SignInLink
from exchange.db import Database
from exchange.models import WebSession
from tests.web.accountkit import Staff, staff, web_client
from tests.web.test_publish import csrf_of
from tests.web.webkit import KISSELBACH, Content, page_client, populate


class Inbox:
    """The aiosmtpd handler: keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"

    def link(self, to: str, path: str) -> str:
        mails = [m for m in self.messages if m["To"] == to]
        assert mails, f"no mail to {to}"
        body = mails[-1].get_content()
        found = re.search(rf"http://node-a\.test({re.escape(path)}[A-Za-z0-9_-]+)", body)
        assert found, body
        return found.group(1)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
async def content(db: Database, tmp_path: Path, inbox: tuple[Inbox, int]) -> Content:
    content = await populate(db, tmp_path)
    settings = content.node.settings.with_(smtp_host="127.0.0.1", smtp_port=inbox[1], smtp_starttls=False,
                                           mail_from="knoten@node-a.test")
    content.node.services.extra["mailer"] = mailer_for(settings)
    return content


@pytest.fixture
async def people(content: Content) -> AsyncIterator[Staff]:
    yield await staff()


async def ask_link(client: httpx.AsyncClient, address: str) -> httpx.Response:
    csrf = csrf_of((await client.get("/signin")).text)
    return await client.post("/signin/link", data={"csrf": csrf, "email": address})


async def test_a_sign_in_link_arrives_signs_in_once_and_is_then_refused(
    content: Content, db: Database, people: Staff, inbox: tuple[Inbox, int]
) -> None:
    mails, _ = inbox
    async with page_client(content, db) as browser:
        answer = await ask_link(browser, "Erika@Kisselbach.example")
        assert answer.status_code == 200
        link = mails.link("erika@kisselbach.example", "/signin/link/")
        assert mails.messages[-1]["From"] == "knoten@node-a.test"
        before = browser.cookies.get("exchange_session")
        confirm = await browser.get(link)
        assert confirm.status_code == 200 and "Sign in" in confirm.text or "Anmelden" in confirm.text
        r = await browser.post(link, data={"csrf": csrf_of(confirm.text)})
        assert r.status_code == 303 and r.headers["location"] == "/account"
        assert browser.cookies.get("exchange_session") != before  # a new session id at sign-in
        account = await browser.get("/account")
        assert account.status_code == 200 and "erika@kisselbach.example" in account.text
    async with page_client(content, db) as thief:
        again = await thief.get(link)
        assert again.status_code == 401 and ("used already" in again.text or "schon benutzt" in again.text)
        r = await thief.post(link, data={"csrf": csrf_of((await thief.get("/signin")).text)})
        assert r.status_code == 401
    assert await WebSession.filter(person_id=people.people["editor"].id).count() == 1


async def test_unknown_and_known_addresses_get_the_same_answer(
    content: Content, db: Database, people: Staff, inbox: tuple[Inbox, int]
) -> None:
    mails, _ = inbox
    async with page_client(content, db) as browser:
        known = await ask_link(browser, "erika@kisselbach.example")
        unknown = await ask_link(browser, "niemand@kisselbach.example")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("erika", "X") == unknown.text.replace("niemand", "X")
    assert [m["To"] for m in mails.messages] == ["erika@kisselbach.example"]


async def test_an_expired_link_is_refused(content: Content, db: Database, people: Staff,
                                          inbox: tuple[Inbox, int]) -> None:
    mails, _ = inbox
    async with page_client(content, db) as browser:
        await ask_link(browser, "erika@kisselbach.example")
        link = mails.link("erika@kisselbach.example", "/signin/link/")
        await SignInLink.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        r = await browser.get(link)
        assert r.status_code == 401 and ("expired" in r.text or "abgelaufen" in r.text)
    assert await WebSession.filter(person_id__not_isnull=True).count() == 0


async def test_link_requests_are_rate_limited_per_address_and_per_client(
    content: Content, db: Database, people: Staff, inbox: tuple[Inbox, int]
) -> None:
    mails, _ = inbox
    async with page_client(content, db) as browser:
        for _ in range(PER_ADDRESS):
            assert (await ask_link(browser, "erika@kisselbach.example")).status_code == 200
        refused = await ask_link(browser, "erika@kisselbach.example")
        assert refused.status_code == 429 and "too many" in refused.text or "zu viele" in refused.text.lower()
        for n in range(10 - PER_ADDRESS):
            assert (await ask_link(browser, f"jemand{n}@example.org")).status_code == 200
        refused = await ask_link(browser, "anna@kisselbach.example")
        assert refused.status_code == 429
    assert len(mails.messages) == PER_ADDRESS


@pytest.mark.parametrize("address", ["", "kein-at-zeichen", "a@b", "zwei@@example.org", "x" * 300 + "@example.org",
                                     "leer zeichen@example.org", "<script>@example.org"])
async def test_malformed_addresses_are_named(content: Content, db: Database, address: str) -> None:
    async with page_client(content, db) as browser:
        r = await ask_link(browser, address)
    assert r.status_code == 400
    assert "e-mail address" in r.text or "E-Mail" in r.text
    assert await SignInLink.all().count() == 0


async def test_an_invitation_arrives_is_accepted_and_the_colleague_publishes(
    content: Content, db: Database, people: Staff, inbox: tuple[Inbox, int]
) -> None:
    mails, _ = inbox
    async with await web_client(content, db, people.people["publisher-admin"]) as admin:
        csrf = csrf_of((await admin.get(f"/publishers/{KISSELBACH}/people")).text)
        r = await admin.post(f"/publishers/{KISSELBACH}/people/invite",
                             data={"csrf": csrf, "email": "Neu@Kisselbach.example", "role": "editor"})
        assert r.status_code == 303 and r.headers["location"].endswith("invited=sent")
        again = await admin.post(f"/publishers/{KISSELBACH}/people/invite",
                                 data={"csrf": csrf, "email": "erika@kisselbach.example", "role": "editor"})
        assert again.status_code == 409 and "already a member" in again.text
        nowhere = await admin.post("/publishers/999999999999/people/invite",
                                   data={"csrf": csrf, "email": "x@example.org", "role": "editor"})
        assert nowhere.status_code == 404 and "999999999999" in nowhere.text
    link = mails.link("neu@kisselbach.example", "/invitations/")
    # Someone else, signed in, cannot accept it: nothing is created.
    async with await web_client(content, db, people.people["other editor"]) as other:
        page = await other.get(link)
        assert "otto@wiggensbach.example" in page.text
        assert 'action="/invitations/' not in page.text  # no form to accept it
        r = await other.post(link, data={"csrf": csrf_of((await other.get("/signin")).text)})
        assert r.status_code == 403 and "neu@kisselbach.example" in r.text
    assert await Person.filter(email="neu@kisselbach.example").count() == 0
    async with page_client(content, db) as colleague:
        page = await colleague.get(link)
        r = await colleague.post(link, data={"csrf": csrf_of(page.text), "name": "Nina Neu"})
        assert r.status_code == 303 and r.headers["location"] == "/account?joined=1"
        account = (await colleague.get("/account")).text
        assert "Nina Neu" in account and "Kisselbach" in account
        form = await colleague.get("/publish/new")
        r = await colleague.post("/publish/new", data={
            "csrf": csrf_of(form.text), "kind": "project", "title": "Dorf-WLAN", "summary": "Freies WLAN.",
            "body_markdown": "Text.", "language": "de", "visibility": "public", "status": "running",
            "action": "save"})
        assert r.status_code == 303
        entry_page = (await colleague.get(r.headers["location"].split("?")[0])).text
        assert "Nina Neu" in entry_page
    async with page_client(content, db) as late:
        used = await late.get(link)
        assert used.status_code == 400 and ("accepted already" in used.text or "angenommen" in used.text)
    person = await Person.get(email="neu@kisselbach.example")
    assert await Membership.filter(person_id=person.id, role="editor").count() == 1
    assert (await Invitation.get(email="neu@kisselbach.example")).accepted_by_id == person.id


async def test_an_expired_invitation_is_refused(content: Content, db: Database, people: Staff,
                                                inbox: tuple[Inbox, int]) -> None:
    mails, _ = inbox
    async with await web_client(content, db, people.people["publisher-admin"]) as admin:
        csrf = csrf_of((await admin.get(f"/publishers/{KISSELBACH}/people")).text)
        await admin.post(f"/publishers/{KISSELBACH}/people/invite",
                         data={"csrf": csrf, "email": "spaet@kisselbach.example", "role": "editor"})
    link = mails.link("spaet@kisselbach.example", "/invitations/")
    await Invitation.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    async with page_client(content, db) as colleague:
        r = await colleague.get(link)
        assert r.status_code == 400 and ("expired" in r.text or "abgelaufen" in r.text)
    assert await Person.filter(email="spaet@kisselbach.example").count() == 0


async def test_a_mail_server_that_is_down_is_logged_and_the_answer_stays_the_same(
    content: Content, db: Database, people: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = int(s.getsockname()[1])
    content.node.services.extra["mailer"] = mailer_for(content.node.settings.with_(
        smtp_host="127.0.0.1", smtp_port=dead, smtp_starttls=False))
    async with page_client(content, db) as browser:
        r = await ask_link(browser, "erika@kisselbach.example")
    assert r.status_code == 200
    assert any("not sent" in rec.getMessage() for rec in caplog.records)
