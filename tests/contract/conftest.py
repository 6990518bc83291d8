"""Fixtures of the contract tests: a live in-process node with the demo content.

Loading the register and the demo entries takes a few seconds, so a module
shares one node (`demo_node`, module scope, run in the module's event loop:
modules using it set `pytestmark = pytest.mark.asyncio(loop_scope="module")`).
Tests that write make their own entries and never rely on counts others change.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from exchange.app import Node, build_node, create_app
from exchange.db import Database
from exchange.demo import load_demo
from tests.conftest import make_database
from tests.helpers import settings_for

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "graphql" / "operations"
NPM_CACHE = REPO / ".cache" / "npm"


@dataclass
class DemoNode:
    db: Database
    node: Node
    client: httpx.AsyncClient

    async def gql(self, query: str, variables: dict | None = None, token: str | None = None,
                  operation_name: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body: dict = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        r = await self.client.post("/graphql", json=body, headers=headers)
        assert r.status_code < 500, r.text
        return r.json()  # type: ignore[no-any-return]


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoNode]:
    tmp = tmp_path_factory.mktemp("demo")
    db = await make_database(tmp)
    with db.bound():
        settings = settings_for(db, tmp)
        node = build_node(settings, database=db)
        await load_demo(node.catalogue)
        app = create_app(settings, node=node, migrate=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.node_url) as client:
            yield DemoNode(db=db, node=node, client=client)
    await db.close()


NPM_PACKAGES = ("graphql-http@1.23.1", "@theguild/federation-composition@0.27.0", "graphql@16.11.0")


def npm_tools() -> Path:
    """The pinned npm packages in .cache/npm (installed once); fails clearly without Node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js (20 or later) and npm are needed for this contract test: apt-get install nodejs npm")
    if any(_installed_version(spec) != spec.rsplit("@", 1)[1] for spec in NPM_PACKAGES):
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NPM_CACHE), *NPM_PACKAGES],
            capture_output=True, text=True, timeout=300, check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm install {' '.join(NPM_PACKAGES)} failed:\n{done.stdout}\n{done.stderr}")
    return NPM_CACHE


def run_node_script(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run an ES module script with the npm cache as its module path."""
    root = npm_tools()
    path = root / f"script-{hashlib.sha256(script.encode()).hexdigest()[:12]}.mjs"
    path.write_text(script, encoding="utf-8")
    return subprocess.run([shutil.which("node") or "node", str(path), *args], capture_output=True, check=False,
                          text=True, timeout=timeout, cwd=root)


def _installed_version(spec: str) -> str:
    name = spec.rsplit("@", 1)[0]
    meta = NPM_CACHE / "node_modules" / name / "package.json"
    if not meta.is_file():
        return ""
    return str(json.loads(meta.read_text(encoding="utf-8")).get("version", ""))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(tmp_path: Path, *args: str) -> Iterator[str]:
    """A real `exchange serve` process (uvicorn) on a free loopback port; yields its base URL."""
    import os
    import sys
    import time

    port = free_port()
    env = {**os.environ, "EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path / 'live.db'}",
           "EXCHANGE_KEY_FILE": str(tmp_path / "live.key"), "EXCHANGE_NODE_URL": f"http://127.0.0.1:{port}"}
    env.pop("EXCHANGE_TEST_DATABASE_URL", None)
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(port), *args],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail("the node did not start:\n" + (tmp_path / "server.log").read_text())
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the node did not answer /healthz within 120 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
