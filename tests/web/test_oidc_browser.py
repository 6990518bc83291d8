"""Sign-in through a real OpenID provider, in a real browser, end to end.

panva's oidc-provider (the npm package, installed once into .cache/oidc as
axe-core is) runs as a Node process on a loopback port with a test client
and two users (tests/web/oidc/provider.mjs). A real node (`exchange serve`,
uvicorn, SQLite) is configured with it. In Chromium, Nina, invited by her
verified address, goes node -> the provider's login page -> back, is signed
in, publishes and is named as who changed the entry; Erika, whom nobody
invited, is refused with a clear page and no session. axe-core checks the
sign-in and account pages, and the account page fits a 375 px screen.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, Checker, _axe_source, _free_port

OIDC_DIR = ROOT / ".cache" / "oidc"
PROVIDER = Path(__file__).parent / "oidc" / "provider.mjs"
HALLENBERG = "059580020020"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _provider_dir() -> Path:
    if not (OIDC_DIR / "node_modules" / "oidc-provider").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install oidc-provider for the OpenID tests"
        OIDC_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(OIDC_DIR),
                        "oidc-provider@9"], check=True, timeout=300)
    shutil.copy(PROVIDER, OIDC_DIR / "provider.mjs")  # beside its node_modules, where imports resolve
    return OIDC_DIR


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} did not come up:\n{log.read_text()}"
        time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    folder = tmp_path_factory.mktemp("oidc")
    node_port, idp_port = _free_port(), _free_port()
    base, issuer = f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{idp_port}"
    idp_log = folder / "provider.log"
    idp_out, node_out = idp_log.open("w"), (folder / "node.log").open("w")
    idp = subprocess.Popen(["node", "provider.mjs"], cwd=_provider_dir(), stdout=idp_out,
                           stderr=subprocess.STDOUT,
                           env={**os.environ, "PORT": str(idp_port), "REDIRECT_URI": f"{base}/signin/oidc/callback"})
    env = {**os.environ, "EXCHANGE_DATABASE_URL": f"sqlite://{folder / 'node.db'}", "EXCHANGE_NODE_URL": base,
           "EXCHANGE_NODE_NAME": "Testknoten", "EXCHANGE_LOG_LEVEL": "WARNING", "EXCHANGE_OIDC_ISSUER": issuer,
           "EXCHANGE_OIDC_CLIENT_ID": "exchange-test", "EXCHANGE_OIDC_CLIENT_SECRET": "test-secret"}
    env.pop("EXCHANGE_TEST_DATABASE_URL", None)
    node_log = folder / "node.log"
    node = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(node_port)], env=env,
                            stdout=node_out, stderr=subprocess.STDOUT, cwd=folder)
    try:
        _wait(f"{issuer}/.well-known/openid-configuration", idp, idp_log, 30)
        _wait(f"{base}/healthz", node, node_log, 180)
        # The operator invites Nina's address to Hallenberg as an editor (what the people page does).
        seed = (
            "import asyncio\n"
            "from datetime import UTC, datetime\n"
            "from exchange.accounts.people import add_operator, invite\n"
            "from exchange.auth import person_actor\n"
            "from exchange.cli.runner import run\n"
            "async def go(db, s):\n"
            "    now = datetime.now(UTC)\n"
            "    op, _ = await add_operator('olga@node.example', name='Olga', now=now)\n"
            f"    await invite(await person_actor(op), 'nina@kisselbach.example', '{HALLENBERG}', 'editor', now=now)\n"
            "run(go)\n"
        )
        subprocess.run([sys.executable, "-c", seed], env=env, cwd=folder, check=True, timeout=120)
        yield {"base": base, "issuer": issuer}
    finally:
        _stop(node)
        _stop(idp)
        idp_out.close()
        node_out.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _through_the_provider(page: Any, base: str, user: str) -> None:
    page.goto(f"{base}/signin")
    page.get_by_role("link", name="Mit dem Konto des Verbunds anmelden").click()
    page.wait_for_selector("input[name=login]")  # the provider's own login page
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", "irrelevant")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    for _ in range(3):  # the provider's consent page, then back to the node
        if "/interaction/" not in page.url:
            break
        with page.expect_navigation():
            page.click("button[type=submit]")
    assert page.url.startswith(base), f"still at the provider: {page.url}: {page.content()[:2000]}"


def test_sign_in_through_the_provider_then_publish(nodes: dict[str, str], browser: Any) -> None:
    base = nodes["base"]
    checker = Checker(_axe_source())
    context = browser.new_context(locale="de-DE", bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/signin")
    checker.check(page, "signin")
    _through_the_provider(page, base, "nina")
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/account"), page.content()[page.content().find("<main"):][:1500]
    assert "Nina Neu" in page.content() and "Hallenberg" in page.content()
    checker.check(page, "account")
    page.goto(f"{base}/publish/new")
    page.fill("#f-title", "Dorfladen mit App")
    page.fill("#f-summary", "Ein Laden, der rund um die Uhr öffnet.")
    page.fill("#f-body_markdown", "## Ablauf\n\nTür per App.")
    page.click("button[value=save]")
    page.wait_for_url(f"{base}/entries/*")
    assert "geändert von Nina Neu am" in page.content()
    phone = browser.new_context(locale="de-DE", bypass_csp=True, viewport={"width": 375, "height": 800},
                                storage_state=context.storage_state())
    small = phone.new_page()
    small.goto(f"{base}/account")
    assert small.evaluate("document.documentElement.scrollWidth <= 375"), "the account page scrolls sideways"
    phone.close()
    context.close()
    assert not checker.violations, checker.violations


def test_someone_nobody_invited_is_refused_without_a_session(nodes: dict[str, str], browser: Any) -> None:
    base = nodes["base"]
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _through_the_provider(page, base, "erika")
    page.wait_for_url(f"{base}/signin/oidc/callback*")
    assert "Anmeldung fehlgeschlagen" in page.content()
    assert "erika@kisselbach.example has no account on this node" in page.content()
    page.goto(f"{base}/account")
    assert "Bitte" in page.content() or page.url.endswith("/account")
    cookies = {c["name"] for c in context.cookies()}
    assert "exchange_oidc" not in cookies
    context.close()


def test_a_tampered_state_is_refused(nodes: dict[str, str], browser: Any) -> None:
    base = nodes["base"]
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/signin/oidc")
    page.wait_for_selector("input[name=login]")
    response = page.goto(f"{base}/signin/oidc/callback?state=tampered&code=forged")
    assert response.status == 401 and "state differs" in page.content()
    context.close()
