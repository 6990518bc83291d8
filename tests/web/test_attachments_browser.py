"""A staff member attaches an evaluation report and a photo in Chromium, without JavaScript, on a phone.

The demo node runs as a real process (the `server` fixture of the browser
tests); the files page is checked with axe-core at 375 px. The photo's GPS
position is gone from what the node serves, and the report is found by a
word that occurs only in its text.
"""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.exchange import attachment_files as files
from tests.web.test_browser import ARTIFACTS, Checker, _axe_source, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUBLISH = ("mutation($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id } } }")
PHONE = {"width": 375, "height": 812}


def test_a_report_and_a_photo_are_attached_in_the_browser(server: dict[str, str], browser: Any) -> None:  # noqa: F811
    base, token = server["base"], server["token"]
    answer = httpx.post(f"{base}/graphql", headers={"Authorization": f"Bearer {token}"}, timeout=30, json={
        "query": PUBLISH, "variables": {"input": {"kind": "PROJECT", "title": "Bürgerbus Hallenberg",
                                                  "summary": "Ein Jahr Bürgerbus: die Auswertung."}}})
    uid = answer.json()["data"]["publishEntry"]["entry"]["id"]

    nojs = browser.new_context(java_script_enabled=False, locale="de-DE", viewport=PHONE)
    page = nojs.new_page()
    page.goto(base + "/publish")
    page.get_by_label("API-Token").fill(token)
    page.get_by_role("button", name="Anmelden").click()
    page.goto(f"{base}/entries/{uid}")
    page.get_by_role("link", name="Berichte, Bilder und Vorlagen zu diesem Eintrag").click()
    page.wait_for_url(f"**/entries/{uid}/attachments")

    page.get_by_label("Titel", exact=True).fill("Evaluationsbericht Bürgerbus")
    page.get_by_label("Datei", exact=True).set_input_files(
        {"name": "bericht.pdf", "mimeType": "application/pdf", "buffer": files.pdf("Fahrgastzaehlung Hallenberg")})
    page.get_by_role("button", name="Hochladen").click()
    assert "Die Datei wurde hinzugefügt." in page.locator("main").inner_text()

    page.get_by_label("Titel", exact=True).fill("Der Bürgerbus")
    page.get_by_label("Beschreibung", exact=False).fill("Der Bürgerbus vor dem Rathaus")
    page.get_by_label("Datei", exact=True).set_input_files(
        {"name": "IMG_0042.JPG", "mimeType": "image/jpeg", "buffer": files.photo(size=(640, 480))})
    page.get_by_role("button", name="Hochladen").click()
    main = page.locator("main").inner_text()
    assert "Der Ort, an dem das Foto aufgenommen wurde (GPS), wurde entfernt." in main
    image = page.get_by_role("img", name="Der Bürgerbus vor dem Rathaus")
    assert image.count() == 1
    src = image.get_attribute("src")

    page.get_by_label("Titel", exact=True).fill("Logo")
    page.get_by_label("Datei", exact=True).set_input_files(
        {"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": b'<svg xmlns="http://www.w3.org/2000/svg"/>'})
    page.get_by_role("button", name="Hochladen").click()
    assert "Die Datei wurde nicht angenommen." in page.locator("main").inner_text()
    # overflowing the phone's width would mean a horizontal scrollbar
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    nojs.close()

    served = httpx.get(base + src, timeout=30)
    assert served.headers["content-type"] == "image/jpeg"
    exif = Image.open(io.BytesIO(served.content)).getexif()
    assert not exif.get_ifd(files.GPS_IFD) and b"SN-12345678" not in served.content

    search = httpx.get(f"{base}/search", params={"q": "Fahrgastzaehlung"}, headers={"Accept": "text/html"}, timeout=30)
    assert "Bürgerbus Hallenberg" in search.text

    checker = Checker(_axe_source())
    context = browser.new_context(locale="de-DE", bypass_csp=True, viewport=PHONE)
    page = context.new_page()
    page.goto(base + "/publish")
    page.get_by_label("API-Token").fill(token)
    page.get_by_role("button", name="Anmelden").click()
    page.goto(f"{base}/entries/{uid}/attachments")
    checker.check(page, "attachments-phone")
    page.goto(f"{base}/entries/{uid}/attachments?lang=en")
    checker.check(page, "attachments-en")
    context.close()
    (ARTIFACTS / "axe-attachments.json").write_text(json.dumps(checker.violations, indent=2, ensure_ascii=False))
    assert not checker.violations, json.dumps(checker.violations, indent=2, ensure_ascii=False)
