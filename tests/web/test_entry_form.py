"""The entry form: every field of every kind, repeating groups by submit, messages at their fields."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.db import Database
from exchange.models import Entry
from tests.web.test_publish import csrf_of, sign_in
from tests.web.webkit import WIGGENSBACH, Content, page_client, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        await sign_in(c, content.token)
        yield c


def fields_of(html: str) -> dict[str, Any]:
    """The form's fields as a browser would post them (inputs, textareas, selected options)."""
    form = html[html.index('<form method="post"'):html.index("</form>")]
    data: dict[str, Any] = {}
    for tag in re.findall(r"<input\b[^>]*>", form):
        name = re.search(r'\bname="([^"]*)"', tag)
        kind = re.search(r'\btype="([^"]*)"', tag)
        if not name or (kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag):
            continue
        value = re.search(r'\bvalue="([^"]*)"', tag)
        text = value.group(1).replace("&#34;", '"').replace("&amp;", "&") if value else ""
        if kind and kind.group(1) == "checkbox":
            data.setdefault(name.group(1), []).append(text)
        else:
            data[name.group(1)] = text
    for name, text in re.findall(r'<textarea\b[^>]*name="([^"]*)"[^>]*>(.*?)</textarea>', form, re.DOTALL):
        data[name] = text
    for name, options in re.findall(r'<select\b[^>]*name="([^"]*)"[^>]*>(.*?)</select>', form, re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)"[^>]*\sselected', options) or re.search(r'<option value="([^"]*)"', options)
        data[name] = chosen.group(1) if chosen else ""
    return data


async def press(client: httpx.AsyncClient, url: str, html: str, action: str, **typed: Any) -> httpx.Response:
    """Submit the form shown in `html` with what was typed and the button `action`."""
    return await client.post(url, data={**fields_of(html), **typed, "action": action})


def message_at(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="err-f-{re.escape(field.replace(".", "-"))}">(.*?)</p>', html)
    return found.group(1) if found else ""


async def test_a_complete_project_with_goals_partners_and_measurements(client: httpx.AsyncClient) -> None:
    url = "/publish/new"
    html = (await client.get(url, params={"kind": "project"})).text
    typed = {"title": "Digitale Wasserzähler", "summary": "Funkzähler in allen Haushalten.",
             "body_markdown": "## Ablauf\n\nAusschreibung, Einbau.", "status": "running",
             "period_start": "2023-03", "period_end": "2026-12", "budget_eur": "125000",
             "budget_currency": "CHF", "funding_programme": "Smart Cities made in Germany", "topics": ["digitalisierung"],
             "contact_role": "Wasserwerk", "contact_email": "wasser@example.org", "license": "CC0-1.0"}
    r = await press(client, url, html, "add-goal", **typed)
    assert r.status_code == 200 and 'name="goals.0.goal"' in r.text and 'name="goals.0.indicators.0.name"' in r.text
    assert 'value="Digitale Wasserzähler"' in r.text  # what was typed is kept
    goal = {"goals.0.goal": "Verluste im Netz senken", "goals.0.indicators.0.name": "Wasserverlust",
            "goals.0.indicators.0.unit": "%", "goals.0.indicators.0.direction": "lower",
            "goals.0.indicators.0.baseline": "18", "goals.0.indicators.0.target": "8"}
    r = await press(client, url, r.text, "add-measurement.0.0", **goal)
    r = await press(client, url, r.text, "add-measurement.0.0", **{
        "goals.0.indicators.0.measurements.0.date": "2024-01-15", "goals.0.indicators.0.measurements.0.value": "12,5"})
    r = await press(client, url, r.text, "add-indicator.0", **{
        "goals.0.indicators.0.measurements.1.date": "2025-01-15", "goals.0.indicators.0.measurements.1.value": "9"})
    assert 'name="goals.0.indicators.1.name"' in r.text
    r = await press(client, url, r.text, "remove-indicator.0.1")
    assert 'name="goals.0.indicators.1.name"' not in r.text and 'value="12,5"' in r.text
    r = await press(client, url, r.text, "find-partners", partner_query="wiggens")
    assert f'value="pick-partner.{WIGGENSBACH}"' in r.text
    r = await press(client, url, r.text, f"pick-partner.{WIGGENSBACH}")
    assert f'name="partners.0.key" value="{WIGGENSBACH}"' in r.text
    r = await press(client, url, r.text, "add-partner")
    r = await press(client, url, r.text, "save", **{"partners.1.name": "Stadtwerke Beispiel GmbH"})
    assert r.status_code == 303, r.text[r.text.find("<main"):][:3000]
    uid = r.headers["location"].split("/")[2].split("?")[0]
    entry = await Entry.get(uid=uid)
    assert (entry.status, entry.period_start, entry.period_end, entry.budget_eur) == ("running", "2023-03", "2026-12", 125000)
    assert entry.budget_currency == "CHF"
    assert entry.funding_programme == "Smart Cities made in Germany" and entry.license == "CC0-1.0"
    assert entry.partners == ["Wiggensbach, Markt", "Stadtwerke Beispiel GmbH"]
    [indicator] = entry.goals[0]["indicators"]
    assert indicator["direction"] == "lower" and (indicator["baseline"], indicator["target"]) == (18, 8)
    assert indicator["measurements"] == [{"date": "2024-01-15", "value": 12.5}, {"date": "2025-01-15", "value": 9}]
    assert indicator["actual"] == 9
    # revising shows every field again, measurements included
    html = (await client.get(f"/publish/{uid}/edit")).text
    assert 'value="2025-01-15"' in html and 'value="Stadtwerke Beispiel GmbH"' in html and 'value="125000"' in html
    assert '<option value="CHF" selected>' in html
    page = (await client.get(f"/entries/{uid}")).text
    assert '125.000 <abbr title="Schweizer Franken (CHF)">CHF</abbr>' in page
    r = await press(client, f"/publish/{uid}/edit", html, "save", **{"goals.0.indicators.0.measurements.1.value": "7"})
    assert r.status_code == 303
    assert (await Entry.get(uid=uid)).goals[0]["indicators"][0]["actual"] == 7


@pytest.mark.parametrize(("typed", "field", "german", "english"), [
    ({"budget_eur": "-5"}, "budget_eur", "Das Budget kann nicht negativ sein.", "The budget cannot be negative."),
    ({"budget_eur": "viel"}, "budget_eur", "ganze Zahl", "whole number, not viel"),
    ({"budget_currency": "DEM"}, "budget_currency", "DEM ist keine Währung", "DEM is not a currency"),
    ({"period_start": "2024-05", "period_end": "2024-03"}, "period_end", "nicht enden, bevor es beginnt",
     "cannot end before it starts"),
    ({"period_start": "März"}, "period_start", "Bitte geben Sie einen Monat", "Please give a month"),
    ({"goals.0.indicators.0.baseline": "5", "goals.0.indicators.0.target": "5"}, "goals.0.indicators.0.target",
     "Zielwert ist gleich dem Ausgangswert", "The target equals the baseline"),
    ({"goals.0.indicators.0.baseline": "5", "goals.0.indicators.0.target": "9", "goals.0.indicators.0.direction": "lower"},
     "goals.0.indicators.0.target", "über dem Ausgangswert", "lies above the baseline"),
    ({"period_start": "2024-05", "goals.0.indicators.0.measurements.0.date": "2024-04-30",
      "goals.0.indicators.0.measurements.0.value": "3"}, "goals.0.indicators.0.measurements.0.date",
     "vor dem Projektbeginn", "before the project started"),
    ({"goals.0.indicators.0.measurements.0.date": "2999-01-01", "goals.0.indicators.0.measurements.0.value": "3"},
     "goals.0.indicators.0.measurements.0.date", "in der Zukunft", "cannot lie in the future"),
    ({"goals.0.indicators.0.name": ""}, "goals.0.indicators.0.name", "Bitte nennen Sie", "Please name what is measured"),
    ({"partners.0.name": "Nirgendwo", "partners.0.key": "999999999999"}, "partners.0", "kein Ort des Verzeichnisses",
     "is not a municipality of the register"),
    ({"license": "Namensnennung"}, "license", "keine Lizenz", "is not a licence an entry may carry"),
    ({"title": ""}, "title", "Bitte füllen Sie dieses Feld aus.", "Please fill in this field."),
    ({"contact_role": "Frau Erika Mustermann"}, "contact_role", "Das sieht nach einer Person aus (Frau)",
     "Please name the office or role instead"),
    ({"contact_role": "Erika Mustermann"}, "contact_role", "Das sieht nach einer Person aus (Erika Mustermann)",
     "This looks like a person (Erika Mustermann)"),
    ({"contact_email": "erika.mustermann@example.org"}, "contact_email", "persönlichen Adresse",
     "looks like a person's own address"),
])
async def test_bad_input_is_named_at_its_field_in_the_pages_language(
    client: httpx.AsyncClient, typed: dict[str, str], field: str, german: str, english: str
) -> None:
    good = {"kind": "project", "title": "Ein Projekt", "summary": "Kurz.", "status": "running",
            "goals.0.goal": "Etwas verbessern", "goals.0.indicators.0.name": "Anzahl",
            "goals.0.indicators.0.baseline": "1", "goals.0.indicators.0.target": "2", "typed": "kept"}
    before = await Entry.all().count()
    for lang, words in (("de", german), ("en", english)):
        csrf = csrf_of((await client.get("/publish/new", params={"lang": lang})).text)
        r = await client.post("/publish/new", data={**good, **typed, "csrf": csrf, "action": "save"})
        assert r.status_code == 400
        assert words in message_at(r.text, field), (lang, r.text[r.text.find("<main"):][:2500])
        if field != "partners.0":  # a partner from the register is shown as text, not as a field
            assert f'aria-describedby="err-f-{field.replace(".", "-")}' in r.text
        for name, value in {**good, **typed}.items():
            if name in ("title", "summary", "goals.0.goal") and value:
                assert f'value="{value}"' in r.text or f">{value}</textarea>" in r.text  # the input is kept
    assert await Entry.all().count() == before  # nothing half-saved


async def test_several_problems_are_shown_at_once(client: httpx.AsyncClient) -> None:
    csrf = csrf_of((await client.get("/publish/new")).text)
    r = await client.post("/publish/new", data={"csrf": csrf, "kind": "project", "title": "", "summary": "",
                                                 "budget_eur": "-1", "period_start": "2024-02", "period_end": "2023-01",
                                                 "action": "save"})
    assert r.status_code == 400
    for field in ("title", "summary", "budget_eur", "period_end"):
        assert message_at(r.text, field), field
    assert r.text.count('href="#f-') >= 4  # the summary at the top links to each field


async def test_every_goal_and_indicator_names_its_own_problem(client: httpx.AsyncClient) -> None:
    """Not only the first problem of a goal: its text, each of its indicators, and the next goal."""
    csrf = csrf_of((await client.get("/publish/new", params={"lang": "en"})).text)
    r = await client.post("/publish/new", data={
        "csrf": csrf, "kind": "project", "title": "Ein Projekt", "summary": "Kurz.", "status": "running",
        "goals.0.goal": "", "goals.0.indicators.0.name": "", "goals.0.indicators.0.target": "2",
        "goals.0.indicators.1.name": "Anzahl", "goals.0.indicators.1.baseline": "5",
        "goals.0.indicators.1.target": "5",
        "goals.1.goal": "Mehr Nutzung", "goals.1.indicators.0.name": "Nutzer",
        "goals.1.indicators.0.measurements.0.date": "2999-01-01", "goals.1.indicators.0.measurements.0.value": "3",
        "action": "save"})
    assert r.status_code == 400
    assert "Please describe the goal" in message_at(r.text, "goals.0.goal")
    assert "Please name what is measured" in message_at(r.text, "goals.0.indicators.0.name")
    assert "The target equals the baseline" in message_at(r.text, "goals.0.indicators.1.target")
    assert "cannot lie in the future" in message_at(r.text, "goals.1.indicators.0.measurements.0.date")


async def test_a_guide_with_a_checklist_added_moved_and_removed(client: httpx.AsyncClient) -> None:
    url = "/publish/new"
    html = (await client.get(url, params={"kind": "guide"})).text
    assert 'name="audience"' in html and 'name="goals.0.goal"' not in html and "add-goal" not in html
    r = await press(client, url, html, "add-check", title="Leitfaden Funknetz", summary="Schritt für Schritt.",
                    audience="Bauämter kleiner Gemeinden")
    r = await press(client, url, r.text, "add-check", **{"checklist.0": "Gateways zählen"})
    r = await press(client, url, r.text, "add-check", **{"checklist.1": "Standorte prüfen"})
    r = await press(client, url, r.text, "up-check.1", **{"checklist.2": "Zu löschen"})
    assert r.text.index('value="Standorte prüfen"') < r.text.index('value="Gateways zählen"')
    r = await press(client, url, r.text, "remove-check.2")
    assert "Zu löschen" not in r.text
    r = await press(client, url, r.text, "save")
    assert r.status_code == 303
    entry = await Entry.get(uid=r.headers["location"].split("/")[2].split("?")[0])
    assert entry.kind == "guide" and entry.audience == "Bauämter kleiner Gemeinden"
    assert entry.checklist == ["Standorte prüfen", "Gateways zählen"]


async def test_a_checklist_of_a_thousand_items_is_refused_whole(client: httpx.AsyncClient) -> None:
    csrf = csrf_of((await client.get("/publish/new", params={"kind": "guide"})).text)
    items = {f"checklist.{n}": f"Punkt {n}" for n in range(1000)}
    before = await Entry.all().count()
    r = await client.post("/publish/new", data={"csrf": csrf, "kind": "guide", "title": "Lang", "summary": "Sehr lang.",
                                                 **items, "action": "save"})
    assert r.status_code == 400 and "höchstens 100 Punkte" in message_at(r.text, "checklist")
    assert await Entry.all().count() == before


async def test_a_lesson_names_the_project_it_comes_from_found_by_search(client: httpx.AsyncClient, content: Content) -> None:
    url = "/publish/new"
    html = (await client.get(url, params={"kind": "lesson"})).text
    for name in ("what_worked", "what_did_not", "transfer_preconditions", "costs_staffing"):
        assert f'name="{name}"' in html
    typed = {"title": "Was wir beim Funknetz lernten", "summary": "Früh mit dem Bauhof reden.",
             "what_worked": "Die Gateways.", "what_did_not": "Die Batterien.",
             "transfer_preconditions": "Ein Dach mit Strom.", "costs_staffing": "12.000 Euro, 0,2 Stellen."}
    r = await press(client, url, html, "find-project", project_query="nix", **typed)
    assert "Keine Projektbeschreibung" in message_at(r.text, "project_query")
    r = await press(client, url, r.text, "find-project", project_query="sensornetz")
    assert f'value="pick-project.{content.project}"' in r.text
    r = await press(client, url, r.text, f"pick-project.{content.project}")
    assert f'name="project_id" value="{content.project}"' in r.text and "LoRaWAN-Sensornetz im Dorf" in r.text
    r = await press(client, url, r.text, "save")
    assert r.status_code == 303
    entry = await Entry.get(uid=r.headers["location"].split("/")[2].split("?")[0])
    assert str(entry.project_uid) == content.project and entry.costs_staffing == "12.000 Euro, 0,2 Stellen."


async def test_group_buttons_with_bad_indices_change_nothing(client: httpx.AsyncClient) -> None:
    html = (await client.get("/publish/new")).text
    for action in ("remove-goal.7", "remove-indicator.x.1", "add-measurement.0", "up-check.-1", "pick-partner.nope"):
        r = await press(client, "/publish/new", html, action, title="bleibt")
        assert r.status_code == 200 and 'value="bleibt"' in r.text, action


async def test_the_entry_page_draws_measurements_over_time(client: httpx.AsyncClient) -> None:
    csrf = csrf_of((await client.get("/publish/new")).text)
    r = await client.post("/publish/new", data={
        "csrf": csrf, "kind": "project", "title": "Funkzähler", "summary": "Zähler.", "period_start": "2023-01",
        "goals.0.goal": "Verluste senken", "goals.0.indicators.0.name": "Wasserverlust", "goals.0.indicators.0.unit": "%",
        "goals.0.indicators.0.baseline": "18", "goals.0.indicators.0.target": "8",
        "goals.0.indicators.0.measurements.0.date": "2024-06-30", "goals.0.indicators.0.measurements.0.value": "12",
        "goals.0.indicators.0.measurements.1.date": "2025-06-30", "goals.0.indicators.0.measurements.1.value": "9,5",
        "action": "save"})
    assert r.status_code == 303
    page = (await client.get(r.headers["location"])).text
    assert 'class="chart series"' in page and page.count('class="series-dot"') == 2
    assert "<td>2024-06-30</td><td>12 %</td>" in page and "<td>2025-06-30</td><td>9,5 %</td>" in page
    assert "Ziel noch nicht erreicht." in page
    english = (await client.get(r.headers["location"].split("?")[0], params={"lang": "en"})).text
    assert "Wasserverlust over time: 2024-06-30 12 %, 2025-06-30 9.5 %" in english and "Target not reached yet." in english


async def test_the_form_offers_one_list_of_topics(client: httpx.AsyncClient) -> None:
    from exchange.models import Topic

    html = (await client.get("/publish/new")).text
    offered = set(re.findall(r'name="topics" value="([^"]+)"', html))
    mdk = {t.slug for t in await Topic.filter(scheme="mdk")}
    others = {t.slug for t in await Topic.exclude(scheme="mdk")}
    assert offered == mdk and mdk and not offered & others
