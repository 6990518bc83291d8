"""GraphiQL in a real browser loads the schema: its docs explorer lists the types.

GraphiQL sends its own introspection query (nine `ofType` levels deep) when it
opens; the node must answer it although data queries stay limited to depth 12.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    folder = tmp_path_factory.mktemp("graphiql-node")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EXCHANGE_DATABASE_URL": f"sqlite://{folder / 'node.db'}", "EXCHANGE_NODE_URL": url,
           "EXCHANGE_SYNC_INTERVAL": "0", "EXCHANGE_LOG_LEVEL": "WARNING"}
    with (folder / "server.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, (folder / "server.log").read_text()
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the node did not start within 120 s"
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_graphiql_loads_the_schema_into_its_docs_explorer(base: str) -> None:
    from playwright.sync_api import sync_playwright

    answers: list[dict[str, Any]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def record(response: Any) -> None:
                if response.url.startswith(base + "/graphql") and response.request.method == "POST":
                    answers.append(response.json())

            page.on("response", record)
            page.goto(base + "/graphql")
            page.get_by_role("button", name="Show Documentation Explorer").click()
            docs = page.locator(".graphiql-doc-explorer")
            docs.get_by_text("Query", exact=True).first.wait_for(timeout=15_000)
            docs.get_by_text("Query", exact=True).first.click()
            docs.get_by_text("entries", exact=True).first.wait_for(timeout=5_000)
        finally:
            browser.close()
    introspection = [a for a in answers if "__schema" in (a.get("data") or {})]
    assert introspection, answers
    names = {t["name"] for t in introspection[0]["data"]["__schema"]["types"]}
    assert {"Query", "Entry", "Mutation"} <= names
