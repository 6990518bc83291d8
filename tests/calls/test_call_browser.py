"""In Chromium: a call posted on node A, answered from node B's page, the answer read on A.

Two real nodes (`exchange serve` processes that are each other's peers); axe-core
finds nothing on the call form and the call's pages, in either role, nor on the
answer form showing its error.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.federation.test_processes import ProcNode, _free_port
from tests.web.test_browser import Checker, _axe_source, browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CALLER, ANSWERER = "010010000000", "097800146146"  # Flensburg on A, Wiggensbach on B


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ProcNode, ProcNode]]:
    a, b = ProcNode("a", _free_port(), tmp_path), ProcNode("b", _free_port(), tmp_path)
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def signed_in(browser: Any, node: ProcNode, token: str) -> Any:  # noqa: F811
    context = browser.new_context(locale="de-DE", bypass_csp=True, viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(node.url + "/publish")
    page.get_by_label("API-Token").fill(token)
    page.get_by_role("button", name="Anmelden").click()
    return page


def test_post_a_call_answer_it_from_another_node_see_the_answer(pair: tuple[ProcNode, ProcNode],
                                                                  browser: Any) -> None:  # noqa: F811
    a, b = pair
    a.cli("peers", "add", b.url)
    b.cli("peers", "add", a.url)
    checker = Checker(_axe_source())
    owner = signed_in(browser, a, a.cli("tokens", "create", "--publisher", CALLER).stdout.strip())
    owner.goto(a.url + "/publish/new?kind=call")
    owner.get_by_label("Titel", exact=True).fill("Gemeinsam ein Ratsinformationssystem beschaffen")
    owner.get_by_label("Zusammenfassung (zwei oder drei Sätze)").fill("Wir suchen zwei Partner.")
    owner.get_by_label("Form der Zusammenarbeit").select_option("joint_procurement")
    owner.get_by_label("Antworten bis (JJJJ-MM-TT)").fill("2099-12-31")
    owner.get_by_label("Wie viele Partner").fill("2")
    owner.get_by_label("Umkreis um Ihre Kommune (km)").fill("5000")
    owner.get_by_role("button", name="Veröffentlichen", exact=True).click()
    assert owner.get_by_text("Der Umkreis muss zwischen 1 und 1000 km liegen, nicht 5000.").first.is_visible()
    checker.check(owner, "call-form-errors")
    owner.get_by_label("Umkreis um Ihre Kommune (km)").fill("")
    owner.get_by_role("button", name="Veröffentlichen", exact=True).click()
    owner.wait_for_url(re.compile(r"/entries/[0-9a-f-]+"))
    uid = re.search(r"/entries/([0-9a-f-]+)", owner.url).group(1)  # type: ignore[union-attr]
    assert owner.get_by_text("offen für Antworten").first.is_visible()
    checker.check(owner, "call-owner")

    b.cli("sync", "--peer", a.url)
    answerer = signed_in(browser, b, b.cli("tokens", "create", "--publisher", ANSWERER).stdout.strip())
    answerer.goto(f"{b.url}/entries/{uid}")
    checker.check(answerer, "call-on-another-node")
    answerer.get_by_label("Ihre Nachricht (nur die suchende Kommune sieht sie)").fill("   ")  # passes `required`
    answerer.get_by_label("Kontakt (ein Amt oder eine Rolle)").fill("Hauptamt")
    answerer.get_by_role("button", name="Antwort senden").click()
    assert answerer.get_by_text("Die Antwort wurde nicht gesendet.").is_visible()
    assert answerer.get_by_label("Kontakt (ein Amt oder eine Rolle)").input_value() == "Hauptamt"
    checker.check(answerer, "call-answer-errors")
    answerer.get_by_label("Ihre Nachricht (nur die suchende Kommune sieht sie)").fill("Wiggensbach ist dabei.")
    answerer.get_by_label("Kontakt (ein Amt oder eine Rolle)").fill("Hauptamt")
    answerer.get_by_role("button", name="Antwort senden").click()
    assert answerer.get_by_text("Ihre Antwort geht an den Knoten der Partnersuche.").is_visible()

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        owner.goto(f"{a.url}/entries/{uid}")
        if owner.get_by_text("Wiggensbach ist dabei.").count():
            break
        time.sleep(0.3)
    assert owner.get_by_text("Antworten (1)").is_visible()
    assert owner.get_by_text("Wiggensbach ist dabei.").is_visible()
    checker.check(owner, "call-with-answer")
    assert checker.violations == {}, checker.violations
