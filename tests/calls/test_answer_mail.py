"""The call's contact address hears of an answer by mail, through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from tests.calls.test_answers import answer, deliver
from tests.federation.fednodes import KISSELBACH, Net, close_all, connect, make_node
from tests.web.test_mail_signin import Inbox, inbox  # noqa: F401 - fixture


async def test_an_answer_is_mailed_to_the_calls_contact(tmp_path: Path, inbox: tuple[Inbox, int]) -> None:  # noqa: F811
    mails, port = inbox
    net = Net()
    a = await make_node(tmp_path, "a", net, settings={"smtp_host": "127.0.0.1", "smtp_port": port,
                                                      "smtp_starttls": False, "mail_from": "knoten@a.test"})
    b = await make_node(tmp_path, "b", net)
    try:
        await connect(a, b)

        async def post() -> str:
            actor = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
            entry = await a.node.catalogue.publish(actor, EntryInput(
                kind="call", title="Bauhof teilen", summary="Partner gesucht.", contact_role="Bauamt",
                contact_email="bauamt@kisselbach.example", call={"deadline": "2099-01-01"}))
            return str(entry.uid)

        call = await a.run(post)
        await b.pull(a)
        await answer(b, call, message="Wir teilen gern.")
        await deliver(b, a)
        for _ in range(50):
            if mails.messages:
                break
            await asyncio.sleep(0.1)
        assert [m["To"] for m in mails.messages] == ["bauamt@kisselbach.example"]
        assert mails.messages[0]["Subject"] == "Antwort erhalten: Bauhof teilen"
        assert "Wir teilen gern." in mails.messages[0].get_content()
    finally:
        await close_all(a, b)
