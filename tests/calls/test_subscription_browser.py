"""In Chromium at 375 px: a person subscribes to new calls, sees the subscription, deletes it.

The demo node of the browser tests (`exchange serve --demo`), signed in as its
operator by the link it prints. axe-core finds nothing on the subscription
page (empty, with an error, with a subscription, after deleting) nor on the
confirmation page, in German and English, and no page is wider than the
phone. Without JavaScript the same steps work.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_browser import ARTIFACTS, Checker, _axe_source, browser, server  # noqa: F401 - fixtures
from tests.web.test_editor_browser import _fits

pytestmark = pytest.mark.browser


def _signed_in_phone(browser: Any, server: dict[str, str]) -> Any:  # noqa: F811
    links = re.findall(r"(/signin/link/[A-Za-z0-9_-]+)", Path(server["log"]).read_text())
    assert links, "the demo node printed no sign-in link"
    context = browser.new_context(locale="de-DE", bypass_csp=True, viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(server["base"] + links[-1])
    page.wait_for_load_state()
    if page.get_by_role("button", name="Anmelden").count():  # a link is confirmed by a button press
        page.get_by_role("button", name="Anmelden").first.click()
        page.wait_for_load_state()
    return page


def _check(checker: Checker, page: Any, name: str) -> None:
    _fits(page, name)
    checker.check(page, name)


def test_subscribe_to_calls_and_delete_the_subscription_on_a_phone(server: dict[str, str],  # noqa: F811
                                                                   browser: Any) -> None:  # noqa: F811
    base = server["base"]
    checker = Checker(_axe_source())
    page = _signed_in_phone(browser, server)
    page.goto(base + "/calls/subscriptions")
    assert page.locator("h1").inner_text() == "Neue Partnersuchen"
    _check(checker, page, "subscriptions")
    page.get_by_label("Um die Kommune (amtlicher Schlüssel)").fill("059580020020")
    page.get_by_label("Umkreis um Ihre Kommune (km)").fill("5000")
    page.get_by_label("täglich").check()
    page.get_by_role("checkbox", name="Digitalisierung", exact=True).check()
    page.get_by_role("button", name="Abonnieren").click()
    page.wait_for_load_state()
    assert page.get_by_text("zwischen 1 und 1000 km").is_visible()
    _check(checker, page, "subscriptions-error")
    page.get_by_label("Umkreis um Ihre Kommune (km)").fill("40")
    page.get_by_role("button", name="Abonnieren").click()
    page.wait_for_load_state()
    assert page.get_by_text("Abonniert.").is_visible()
    assert re.search(r"/calls/feed/[A-Za-z0-9_-]+", page.locator("code").first.inner_text())
    _check(checker, page, "subscriptions-added")
    page.goto(base + "/calls/subscriptions?lang=en")
    assert page.locator("h1").inner_text() == "New calls for partners"
    _check(checker, page, "subscriptions-en")
    page.get_by_role("link", name="Delete this subscription").first.click()
    page.wait_for_url("**/delete")
    _check(checker, page, "subscription-delete-en")
    page.goto(page.url + "?lang=de")
    _check(checker, page, "subscription-delete")
    page.get_by_role("button", name="Abonnement löschen").click()
    page.wait_for_url("**/calls/subscriptions?deleted=1")
    assert page.get_by_text("Das Abonnement ist gelöscht.").is_visible()
    assert page.get_by_role("link", name="Dieses Abonnement löschen").count() == 0
    _check(checker, page, "subscriptions-deleted")
    signed_in = page.context.storage_state()
    page.context.close()

    # without JavaScript (the same session): subscribe, then delete
    plain = browser.new_context(locale="de-DE", java_script_enabled=False, storage_state=signed_in,
                                viewport={"width": 375, "height": 800}).new_page()
    plain.goto(base + "/calls/subscriptions?lang=de")
    plain.get_by_role("button", name="Abonnieren").click()
    assert plain.get_by_text("Abonniert.").is_visible()
    plain.get_by_role("link", name="Dieses Abonnement löschen").first.click()
    plain.get_by_role("button", name="Abonnement löschen").click()
    assert plain.get_by_text("Das Abonnement ist gelöscht.").is_visible()
    plain.context.close()

    (ARTIFACTS / "axe-subscriptions.json").write_text(json.dumps(checker.violations, indent=2, ensure_ascii=False))
    assert not checker.violations, json.dumps(checker.violations, indent=2, ensure_ascii=False)
