"""The web pages in a real browser: Debian's Chromium driven by Playwright, checked by axe-core.

A real node (`exchange serve --demo`, uvicorn on a loopback port, SQLite in a
temporary folder) serves the demo content. The flow is what a municipal
employee does: search, open an entry, switch the language, find peers for a
municipality, sign in with a token, publish an entry (with hostile Markdown)
and see it listed. axe-core (the npm package, installed once into .cache/)
runs on every page type and the test fails on any violation; screenshots of
every page type go to test-artifacts/. Chromium must be at /usr/bin/chromium
(`apt-get install chromium`); the test fails, not skips, when it is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE_DIR = ROOT / ".cache" / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
HALLENBERG = "059580020020"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
HOSTILE_BODY = (
    "## Ablauf\n\nNormaler Text.\n\n<script>window.__xss = 1</script>\n\n"
    '<img src="x" onerror="window.__xss = 2">\n\n[Link](javascript:window.__xss=3)\n\n'
    '<svg onload="window.__xss=4"></svg>\n'
)

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _axe_source() -> str:
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install axe-core for the accessibility checks"
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR),
                        "axe-core@4"], check=True, timeout=300)
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    folder = tmp_path_factory.mktemp("browser-node")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EXCHANGE_DATABASE_URL": f"sqlite://{folder / 'node.db'}",
           "EXCHANGE_NODE_URL": base, "EXCHANGE_NODE_NAME": "Testknoten", "EXCHANGE_LOG_LEVEL": "WARNING"}
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--demo", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, (folder / "server.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the demo node did not start within 180 s"
            time.sleep(0.5)
        token = subprocess.run(
            [sys.executable, "-m", "exchange", "tokens", "create", "--publisher", HALLENBERG, "--scope", "publish"],
            env=env, cwd=folder, check=True, capture_output=True, text=True, timeout=120,
        ).stdout.strip().splitlines()[-1]
        yield {"base": base, "token": token, "log": str(folder / "server.log")}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Checker:
    """axe-core and screenshots for each page type; collects violations of all pages."""

    def __init__(self, axe: str) -> None:
        self.axe = axe
        self.violations: dict[str, list[dict[str, Any]]] = {}
        ARTIFACTS.mkdir(exist_ok=True)

    def check(self, page: Any, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=self.axe)
        found = page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return {passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))};
            }""",
            AXE_TAGS,
        )
        assert found["passes"] > 10, f"axe-core checked next to nothing on {name}"
        found = found["violations"]
        if found:
            self.violations[name] = found
        assert page.evaluate("window.__xss === undefined"), f"a script ran on {name}"


def test_a_municipal_employee_uses_the_catalogue(server: dict[str, str], browser: Any) -> None:
    base = server["base"]
    checker = Checker(_axe_source())
    # bypass_csp lets axe be injected; it also proves that the sanitiser alone stops hostile Markdown
    context = browser.new_context(locale="de-DE", bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()

    page.goto(base + "/")
    assert page.locator("html").get_attribute("lang") == "de"
    checker.check(page, "start")

    # search
    page.get_by_label("Suchbegriffe").fill("LoRaWAN")
    page.get_by_role("button", name="Suche", exact=True).click()
    page.wait_for_url("**/search?**")
    assert "gefunden" in page.locator("#results-heading").inner_text()
    checker.check(page, "search")
    page.get_by_label("Projekt", exact=False).first.check()
    page.get_by_role("button", name="Filter anwenden").click()
    assert "kind=project" in page.url
    checker.check(page, "search-filtered")

    # open an entry
    page.locator(".card-title a").first.click()
    page.wait_for_url("**/entries/**")
    assert page.locator("h1").count() == 1
    checker.check(page, "entry")
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "entry-print.png"), full_page=True)
    assert not page.locator(".site-header").is_visible()
    page.emulate_media(media="screen")

    # switch language (a link, works without JavaScript) and back
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#facts-heading").inner_text() == "About this entry"
    page.goto(base + "/matching")
    assert page.locator("html").get_attribute("lang") == "en"  # the choice is remembered
    checker.check(page, "matching-en")
    page.get_by_role("link", name="Deutsch").click()
    assert page.locator("html").get_attribute("lang") == "de"

    # find peers for a municipality
    page.goto(base + "/")
    page.get_by_label("Name oder amtlicher Schlüssel Ihrer Kommune").fill("Hallenberg")
    page.get_by_role("button", name="Finden").click()
    if "/municipalities/" not in page.url:
        checker.check(page, "municipality-search")
        page.locator(".muni-list a").first.click()
    page.wait_for_url(f"**/municipalities/{HALLENBERG}")
    assert page.locator(".peers > li").count() >= 3
    assert page.locator("svg.map .map-peer").count() >= 3 and page.locator("svg.map .map-self").count() == 1
    checker.check(page, "municipality")
    page.get_by_label("Erfahrung").fill("0")
    page.get_by_label("Struktur").fill("0")
    page.get_by_role("button", name="Partner mit diesen Gewichten zeigen").click()
    page.wait_for_url("**structure=0**")
    assert "Gewichten dieser Anfrage" in page.locator("main").inner_text()
    checker.check(page, "municipality-weights")
    page.goto(base + "/municipalities?name=Wiesen")
    checker.check(page, "municipality-search")
    page.goto(base + "/topics/digitalisierung")
    checker.check(page, "topic")
    page.get_by_role("link", name="Sammlungen").first.click()
    page.wait_for_url("**/collections")
    checker.check(page, "collections")
    page.locator(".collection-list .card-title a").first.click()
    page.wait_for_url("**/collections/**")
    assert page.locator(".collection-items > li").count() >= 3
    checker.check(page, "collection")
    page.goto(base + "/entries/00000000-0000-0000-0000-000000000000")
    checker.check(page, "not-found")

    # sign in, write with a preview, publish, see it listed
    page.goto(base + "/publish")
    checker.check(page, "signin")
    page.get_by_label("API-Token").fill(server["token"])
    page.get_by_role("button", name="Anmelden").click()
    assert "Angemeldet als Hallenberg" in page.locator("main").inner_text()
    checker.check(page, "publish")
    page.get_by_role("link", name="Neuen Eintrag schreiben").click()
    assert page.locator("strong[aria-current=page]").inner_text() == "Projekt"  # a project unless chosen otherwise
    page.get_by_label("Titel", exact=True).fill("Browser-Test: Bauhof-App")
    page.get_by_label("Zusammenfassung (zwei oder drei Sätze)").fill("Aufträge des Bauhofs per App.")
    page.get_by_label("Text (Markdown)").fill(HOSTILE_BODY)
    page.get_by_role("checkbox", name="Digitalisierung", exact=True).check()
    page.get_by_role("button", name="Vorschau").click()
    assert page.locator(".preview h3", has_text="Ablauf").count() == 1 or page.locator(
        ".preview h2", has_text="Ablauf").count() == 1
    checker.check(page, "edit-preview")
    page.get_by_role("button", name="Veröffentlichen").click()
    page.wait_for_url("**/entries/**")
    assert "Gespeichert" in page.locator("main").inner_text()
    checker.check(page, "entry-published")  # asserts window.__xss stayed unset
    page.goto(base + "/publish")
    assert page.get_by_role("link", name="Browser-Test: Bauhof-App", exact=True).count() == 1

    # without JavaScript the pages still work: search and an entry
    nojs = browser.new_context(java_script_enabled=False, locale="de-DE")
    p2 = nojs.new_page()
    p2.goto(base + "/search?q=Sensor")
    p2.get_by_role("button", name="Filter anwenden").click()
    assert p2.locator(".card").count() >= 1
    nojs.close()
    context.close()

    (ARTIFACTS / "axe.json").write_text(json.dumps(checker.violations, indent=2, ensure_ascii=False))
    assert not checker.violations, json.dumps(checker.violations, indent=2, ensure_ascii=False)
