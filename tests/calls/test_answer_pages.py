"""Answering a call in the web pages of another node, and reading the answers on the call's page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.calls.test_answers import deliver, post_call
from tests.federation.fednodes import KISSELBACH, FedNode, close_all, connect, make_nodes
from tests.helpers import token_for
from tests.web.test_publish import csrf_of, sign_in

WIGGENSBACH = "097800146146"


@pytest.fixture
async def ab(tmp_path: Path) -> AsyncIterator[tuple[FedNode, FedNode]]:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    yield a, b
    await close_all(a, b)


def browser(node: FedNode) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=node.app), base_url=node.url,
                             headers={"Accept": "text/html", "Accept-Language": "de"})


async def test_an_answer_from_a_second_nodes_page_shows_on_the_calls_page(ab: tuple[FedNode, FedNode]) -> None:
    a, b = ab
    call = await post_call(a)
    await b.pull(a)
    with b.db.bound():
        async with browser(b) as page:
            await sign_in(page, await token_for(WIGGENSBACH))
            r = await page.get(f"/entries/{call}")
            assert "Auf diese Partnersuche antworten" in r.text
            r = await page.post(f"/entries/{call}/answer", data={
                "csrf": csrf_of(r.text), "message": "Wiggensbach plant dasselbe.", "contact_role": "Hauptamt"})
            assert r.status_code == 303
            r = await page.get(f"/entries/{call}")
            assert "Wiggensbach plant dasselbe." in r.text and "unterwegs" in r.text
            assert "Auf diese Partnersuche antworten" not in r.text  # one answer per publisher
    await deliver(b, a)
    with a.db.bound():
        async with browser(a) as page:
            anonymous = (await page.get(f"/entries/{call}")).text
            assert "Wiggensbach plant dasselbe." not in anonymous  # the owner alone sees answers
            await sign_in(page, await token_for(KISSELBACH))
            assert "1 neue Antwort(en)" in (await page.get("/publish")).text  # on "my entries" until opened
            r = await page.get(f"/entries/{call}")
            assert "neue Antwort" not in (await page.get("/publish")).text
            assert "Antworten (1)" in r.text and "Wiggensbach plant dasselbe." in r.text and "Hauptamt" in r.text
    with b.db.bound():
        async with browser(b) as page:
            await sign_in(page, await token_for(WIGGENSBACH))
            r = await page.get(f"/entries/{call}")
            assert "zugestellt" in r.text
            uid = r.text.split('action="/answers/')[1].split("/")[0]
            r = await page.post(f"/answers/{uid}/withdraw", data={"csrf": csrf_of(r.text)})
            assert r.status_code == 303
    await deliver(b, a)
    with a.db.bound():
        async with browser(a) as page:
            await sign_in(page, await token_for(KISSELBACH))
            r = await page.get(f"/entries/{call}")
            assert "von der Absenderin zurückgezogen" in r.text and "Wiggensbach plant dasselbe." not in r.text


async def test_a_bad_answer_shows_the_call_again_with_the_problem_at_its_field(ab: tuple[FedNode, FedNode]) -> None:
    a, b = ab
    call = await post_call(a)
    await b.pull(a)
    with b.db.bound():
        async with browser(b) as page:
            await sign_in(page, await token_for(WIGGENSBACH))
            r = await page.get(f"/entries/{call}")
            form = {"csrf": csrf_of(r.text), "message": "   ", "contact_role": "Hauptamt"}
            r = await page.post(f"/entries/{call}/answer", data=form)
            assert r.status_code == 400 and "Die Antwort wurde nicht gesendet." in r.text
            assert 'aria-describedby="err-answer-message"' in r.text and "Bitte füllen Sie dieses Feld aus." in r.text
            assert 'value="Hauptamt"' in r.text  # what was typed stays
            r = await page.post(f"/entries/{call}/answer", params={"lang": "en"},
                                data={**form, "message": "Ja.", "contact_role": "x" * 201})
            assert r.status_code == 400 and "The answer was not sent." in r.text
            assert 'aria-describedby="err-answer-contact"' in r.text and ">Ja.</textarea>" in r.text
            assert "This is 201 characters long; at most 200 are allowed." in r.text
            assert "Your answer" not in r.text  # nothing was stored
            r = await page.post(f"/entries/{call}/answer", data={**form, "message": "Ja, gern."})
            assert r.status_code == 303
