"""Writing a whole project in Chromium: every field, goals with measurements, a partner from the
register, then withdrawing it; axe-core finds nothing on any of these pages, and at 375 px no
page scrolls sideways and the header stays within a fifth of the screen.

Uses the demo node and the browser of `test_browser` (a real `exchange serve --demo`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_browser import ARTIFACTS, Checker, _axe_source, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _fits(page: Any, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    header = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().height")
    assert width <= 375, f"{name} is {width} px wide at 375 px"
    assert header <= 800 / 5, f"the header of {name} takes {header} px of 800"


def test_a_project_written_measured_and_withdrawn_in_the_browser(server: dict[str, str], browser: Any) -> None:  # noqa: F811
    base = server["base"]
    checker = Checker(_axe_source())
    context = browser.new_context(locale="de-DE", bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/publish")
    page.get_by_label("API-Token").fill(server["token"])
    page.get_by_role("button", name="Anmelden").click()

    page.goto(base + "/publish/new?kind=project")
    page.get_by_label("Titel", exact=True).fill("Browser-Test: Digitale Wasserzähler")
    page.get_by_label("Zusammenfassung (zwei oder drei Sätze)").fill("Funkzähler in allen Haushalten.")
    page.get_by_label("Text (Markdown)").fill("## Ablauf\n\nAusschreibung, Einbau, Auswertung.")
    page.get_by_label("Projektstand").select_option("running")
    page.get_by_label("Beginn (JJJJ-MM)").fill("2023-03")
    page.get_by_label("Budget", exact=True).fill("45000")
    page.get_by_label("Währung des Budgets").select_option("CHF")
    page.get_by_label("Förderprogramm").fill("Smart Cities made in Germany")
    page.get_by_role("checkbox", name="Digitalisierung", exact=True).check()
    page.evaluate("window.__samePage = true")  # gone if a button loads the page again
    page.get_by_role("button", name="Ziel hinzufügen").click()
    page.get_by_label("Das Ziel in Worten").wait_for()
    assert page.evaluate("document.activeElement.name") == "goals.0.goal"  # the new field has the focus
    assert page.get_by_role("status").inner_text() == "Das Formular wurde aktualisiert."
    assert page.get_by_label("Titel", exact=True).input_value() == "Browser-Test: Digitale Wasserzähler"
    page.get_by_label("Das Ziel in Worten").fill("Wasserverluste senken")
    page.get_by_label("Was gemessen wird").fill("Wasserverlust im Netz")
    page.get_by_label("Einheit").fill("%")
    page.get_by_label("Welche Werte sind besser?").select_option("lower")
    page.get_by_label("Ausgangswert (vor dem Projekt)").fill("18")
    page.get_by_label("Ziel", exact=True).fill("8")
    page.get_by_role("button", name="Messung hinzufügen").click()
    page.get_by_label("Datum der Messung 1").fill("2024-06-30")
    page.get_by_label("Wert der Messung 1").fill("11,5")
    page.get_by_label("Eine Kommune aus dem Verzeichnis hinzufügen").fill("Medebach")
    page.get_by_role("button", name="Finden", exact=True).first.click()
    page.get_by_role("button", name=re.compile(r"Hinzufügen Medebach")).first.click()
    assert "Medebach, Hansestadt" in page.locator("#f-partners").inner_text()
    assert page.evaluate("window.__samePage") is True  # goals, measurements and partners without a reload
    assert page.get_by_label("Wert der Messung 1").input_value() == "11,5"
    checker.check(page, "edit-project-full")
    page.get_by_label("Ziel", exact=True).fill("18")  # equal to the baseline: refused at the field
    page.get_by_role("button", name="Veröffentlichen").click()
    assert "Zielwert ist gleich dem Ausgangswert" in page.locator("#err-f-goals-0-indicators-0-target").inner_text()
    checker.check(page, "edit-project-errors")
    page.get_by_label("Ziel", exact=True).fill("8")
    page.get_by_role("button", name="Veröffentlichen").click()
    page.wait_for_url("**/entries/**")
    main = page.locator("main").inner_text()
    assert "Wasserverluste senken" in main and "Medebach, Hansestadt" in main and "45.000" in main
    checker.check(page, "entry-project-written")
    entry_url = page.url.split("?")[0]
    page.goto(entry_url.replace("/entries/", "/publish/") + "/edit")
    page.get_by_label("Wert der Messung 1").fill("10")
    page.get_by_role("button", name="Überarbeitung speichern").click()
    page.wait_for_url("**/entries/**")
    page.get_by_role("link", name="Versionen vergleichen").click()
    page.wait_for_url("**/versions")
    assert "2024-06-30: 10" in page.locator(".diff ins").all_inner_texts()[-1]
    checker.check(page, "versions")

    page.goto(base + "/search?kind=guide")
    page.locator(".card-title a").first.click()
    page.wait_for_url("**/entries/**")
    page.locator(".checklist-form input[type=checkbox]").first.check()
    page.get_by_role("button", name="Fortschritt speichern").click()
    page.wait_for_url("**ticked=1**")
    assert "1 von" in page.locator("main").inner_text()
    checker.check(page, "guide-checklist")

    for kind in ("guide", "lesson"):
        page.goto(f"{base}/publish/new?kind={kind}")
        checker.check(page, f"edit-{kind}")

    phone = browser.new_context(locale="de-DE", bypass_csp=True, viewport={"width": 375, "height": 800},
                                storage_state=context.storage_state())
    small = phone.new_page()
    for path in ("/", "/search?q=Sensor", "/municipalities/059580020020", "/matching", "/topics", "/collections",
                 "/publish", "/publish/new?kind=project", entry_url.removeprefix(base),
                 entry_url.removeprefix(base).replace("/entries/", "/publish/") + "/edit",
                 entry_url.removeprefix(base).replace("/entries/", "/publish/") + "/withdraw",
                 entry_url.removeprefix(base) + "/versions?from=1&to=2"):
        small.goto(base + path)
        _fits(small, path)
    small.goto(base + "/search?q=Sensor")
    first = small.evaluate("document.querySelector('.results .card').getBoundingClientRect().top")
    assert first < 800, f"the first result starts at {first} px, below the screen"
    small.locator("summary", has_text="Filter").click()
    assert small.get_by_role("button", name="Filter anwenden").is_visible()
    checker.check(small, "search-phone")
    small.goto(base + "/publish/new?kind=project")
    small.get_by_role("button", name="Ziel hinzufügen").click()
    small.get_by_role("button", name="Messung hinzufügen").click()
    _fits(small, "the project form with a goal and a measurement")
    checker.check(small, "edit-project-phone")
    phone.close()

    page.goto(entry_url)
    page.locator(".entry-facts").get_by_role("link", name="Zurückziehen").click()
    page.wait_for_url("**/withdraw")
    checker.check(page, "withdraw")
    page.get_by_role("button", name="Eintrag zurückziehen").click()  # not ticked yet
    assert page.locator("[role=alert]").count() == 1
    page.get_by_label("Ja, diesen Eintrag und seinen Inhalt überall entfernen.").check()
    page.get_by_role("button", name="Eintrag zurückziehen").click()
    page.wait_for_url("**/publish?withdrawn=*")
    assert "zurückgezogen" in page.locator("main").inner_text()
    checker.check(page, "publish-after-withdrawal")
    page.goto(entry_url)
    assert "Wasserverluste" not in page.content() and "Medebach" not in page.content()
    context.close()

    (ARTIFACTS / "axe-editor.json").write_text(json.dumps(checker.violations, indent=2, ensure_ascii=False))
    assert not checker.violations, json.dumps(checker.violations, indent=2, ensure_ascii=False)


def test_repeating_groups_work_without_javascript(server: dict[str, str], browser: Any) -> None:  # noqa: F811
    base = server["base"]
    context = browser.new_context(locale="de-DE", java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/publish")
    page.get_by_label("API-Token").fill(server["token"])
    page.get_by_role("button", name="Anmelden").click()
    page.goto(base + "/publish/new?kind=guide")
    page.get_by_label("Titel", exact=True).fill("Ohne Skript")
    items = page.locator("#f-checklist [name^='checklist.']")
    before = items.count()
    page.get_by_role("button", name="Punkt hinzufügen").click()  # a submit: the server adds the item
    page.wait_for_load_state()
    assert page.url.endswith("#f-checklist")
    assert page.get_by_label("Titel", exact=True).input_value() == "Ohne Skript"
    assert items.count() == before + 1
    context.close()


def test_the_staff_and_reading_pages_on_a_phone(server: dict[str, str], browser: Any) -> None:  # noqa: F811
    """The demo operator (signed in by the link `exchange serve --demo` prints) opens the account,
    people, operator and files pages and the legal, organisation and topic pages at 375 px."""
    base = server["base"]
    links = re.findall(r"(/signin/link/[A-Za-z0-9_-]+)", Path(server["log"]).read_text())
    assert links, "the demo node printed no sign-in link"
    checker = Checker(_axe_source())
    phone = browser.new_context(locale="de-DE", bypass_csp=True, viewport={"width": 375, "height": 800})
    small = phone.new_page()
    small.goto(base + links[-1])
    small.wait_for_load_state()
    if small.get_by_role("button", name="Anmelden").count():  # a link is confirmed by a button press
        small.get_by_role("button", name="Anmelden").first.click()
        small.wait_for_load_state()
    small.goto(base + "/account")
    assert "Demo Operator" in small.content(), small.content()[small.content().find("<main"):][:1500]
    small.goto(base + "/search?q=Sensor")
    entry = small.locator(".results .card-title a").first.get_attribute("href")
    small.goto(base + "/organisations")
    organisation = small.locator("main li a").first.get_attribute("href")
    for path in ("/account", "/publishers/059580020020/people", "/operator/people", "/operator/peers",
                 "/operator/audit", f"{entry}/attachments", "/impressum", "/datenschutz", "/organisations",
                 organisation, "/topics", "/topics?q=verk", "/topics/digitalisierung"):
        small.goto(base + path)
        assert "<h1" in small.content(), path
        _fits(small, path)
        checker.check(small, "phone" + re.sub(r"[^a-z0-9]+", "-", path))
    small.goto(base + "/topics")
    small.get_by_label("Themen filtern").fill("verk")  # filters while one types
    assert small.get_by_role("link", name="Verkehr", exact=True).is_visible()
    assert not small.get_by_role("link", name="Bildung", exact=True).is_visible()
    phone.close()
    (ARTIFACTS / "axe-phone.json").write_text(json.dumps(checker.violations, indent=2, ensure_ascii=False))
    assert not checker.violations, json.dumps(checker.violations, indent=2, ensure_ascii=False)


def test_a_lesson_from_a_project_on_an_english_phone_without_javascript(
        server: dict[str, str], browser: Any) -> None:  # noqa: F811
    """A lesson learned that links to a project, written, revised, compared and withdrawn at 375 px
    in English with JavaScript off; the project shows the lesson, and every page fits."""
    base = server["base"]
    checker = Checker(_axe_source())
    phone = browser.new_context(locale="en-GB", java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = phone.new_page()
    page.goto(base + "/publish")
    page.get_by_label("API token").fill(server["token"])
    page.get_by_role("button", name="Sign in").click()
    # axe-core needs JavaScript: the same person's pages are checked in a second phone with it
    axe = browser.new_context(locale="en-GB", bypass_csp=True, viewport={"width": 375, "height": 800},
                              storage_state=phone.storage_state()).new_page()

    def check(path: str, name: str) -> None:
        axe.goto(base + path)
        _fits(axe, name)
        checker.check(axe, name)
    page.goto(base + "/search?kind=project&q=Grimma")
    project = page.locator(".results .card-title a").first
    project_title, project_url = project.inner_text(), project.get_attribute("href")
    page.goto(base + "/publish/new?kind=lesson")
    page.get_by_label("Title", exact=True).fill("Phone test: what the sensors taught us")
    page.get_by_label("Summary (two or three sentences)").fill("Three lessons.")
    page.get_by_label("Text (Markdown)").fill("Short.")
    page.get_by_label("What worked").fill("Volunteers read the gauges.")
    page.get_by_label("What did not work").fill("Printed flyers.")
    page.get_by_label("Preconditions for transfer").fill("A local club.")
    page.get_by_label("Costs and staffing").fill("Half a post for a year.")
    page.get_by_label("Find a project description by its title").fill(project_title[:30])
    page.get_by_role("button", name="Find", exact=True).click()  # a submit: the server answers
    page.wait_for_load_state()
    page.get_by_role("button", name=re.compile("^Choose")).first.click()
    page.wait_for_load_state()
    assert page.get_by_label("What worked").input_value() == "Volunteers read the gauges."  # kept
    _fits(page, "the lesson form")
    check("/publish/new?kind=lesson", "edit-lesson-phone-en")
    page.get_by_label("Contact: role or office (no personal names)").fill("Digital office")
    page.get_by_label("Contact: role e-mail address").fill("digital@example.org")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url("**/entries/**")
    lesson_url = page.url.split("?")[0]
    main = page.locator("main").inner_text()
    assert "The project this lesson comes from" in main and project_title in main, main[:800]
    _fits(page, "the lesson")
    check(lesson_url.removeprefix(base), "entry-lesson-phone-en")

    page.goto(lesson_url.replace("/entries/", "/publish/") + "/edit")
    page.get_by_label("What did not work").fill("Printed flyers and a hotline.")
    page.get_by_role("button", name="Save revision").click()
    page.wait_for_url("**/entries/**")
    page.goto(lesson_url + "/versions?from=1&to=2")
    assert "Printed flyers and a hotline." in page.locator(".diff ins").all_inner_texts()[-1]
    _fits(page, "the versions of the lesson")
    check(lesson_url.removeprefix(base) + "/versions?from=1&to=2", "versions-lesson-phone-en")
    page.goto(base + project_url)
    assert "Phone test: what the sensors taught us" in page.locator("main").inner_text()
    _fits(page, "the project with its lesson")

    page.goto(base + "/search?kind=guide")
    guide = page.locator(".results .card-title a").first.get_attribute("href")
    check(guide, "entry-guide-phone-en")  # its checklist to tick, at 375 px
    assert axe.locator(".checklist-form").count() == 1
    page.goto(lesson_url.replace("/entries/", "/publish/") + "/withdraw")
    _fits(page, "withdrawing the lesson")
    check(lesson_url.removeprefix(base).replace("/entries/", "/publish/") + "/withdraw", "withdraw-phone-en")
    page.get_by_label("Yes, remove this entry and its content everywhere.").check()
    page.get_by_role("button", name="Withdraw the entry").click()
    page.wait_for_url("**/publish?withdrawn=*")
    _fits(page, "my entries after withdrawing")
    check("/publish", "publish-after-withdrawal-phone-en")
    page.goto(lesson_url)
    assert "Volunteers" not in page.content() and "hotline" not in page.content()
    page.goto(base + project_url)
    assert "Phone test" not in page.content()
    phone.close()
    axe.context.close()
    (ARTIFACTS / "axe-lesson-phone.json").write_text(json.dumps(checker.violations, indent=2, ensure_ascii=False))
    assert not checker.violations, json.dumps(checker.violations, indent=2, ensure_ascii=False)
