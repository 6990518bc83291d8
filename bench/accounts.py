"""People on a node: what signing in and being signed in cost.

    python bench/accounts.py [--rounds 300] [--seconds 5] [--signins 8]

- `signin_round_trip_ms`: a person signs in through a real OpenID provider
  (panva's oidc-provider, the one the tests use, from .cache/oidc), in
  Chromium against a real `exchange serve`: node -> provider's login page ->
  consent -> back, signed in (p50 over fresh browser contexts).
- `session_check`: the same entry page asked anonymously and by a signed-in
  person of another publisher (their session and memberships are read afresh
  on every request; the page shows them the same content), in process;
  `added_ms_p50` is the difference of the medians (`added_cpu_ms_p50` the
  same in CPU time of the process), `resume_session_ms_p50` the check alone. An editor of the entry's own publisher sees more (who
  changed it, the versions, the edit link): `added_for_own_editor_ms_p50`.
- `catalogue_rps`: the Catalogue operation in process, one client, for
  `--seconds` each anonymously, with a personal token and with a service
  token, in 30 alternating turns (medians); `drop_with_token_pct` compares
  the personal token with anonymous. `catalogue_cpu_ms_per_request` is the
  process's CPU time per request in the same turns (the database thread
  included), which a busy machine distorts far less than requests/s.

Prints one JSON object. The machine is shared and noisy: compare within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchange.accounts.models import Membership, Person
from exchange.app import build_node, create_app
from exchange.auth import Actor, find_publisher, person_actor
from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.models import Municipality
from exchange.sessions import open_person_session, resume_session
from exchange.settings import Settings
from exchange.tokens import create_own
from exchange.topics import import_topics
from exchange.web.forms import COOKIE, Session

CATALOGUE = (ROOT / "graphql" / "operations" / "Catalogue.graphql").read_text(encoding="utf-8")
KEY = "071405004172"
OTHER = "071405004173"
TURNS = 30  # alternating turns per kind of caller: the machine's noise falls on all three alike


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 3)


async def in_process(rounds: int, seconds: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-accounts-"))
    db = Database(f"sqlite://{folder / 'node.db'}")
    await db.open(create=True)
    try:
        with db.bound():
            await db.migrate()
            await import_topics()
            await Municipality.create(level="gemeinde", official_key=KEY, ags="07140500", name="Kisselbach",
                                      population=602, size_class="Landgemeinde")
            settings = Settings(database_url=db.url, node_url="http://bench.test", key_file=str(folder / "n.key"))
            node = build_node(settings, database=db)
            publisher = await find_publisher(KEY)
            service = Actor(publisher=publisher, scopes=frozenset({"publish"}))
            uids = []
            for i in range(200):
                e = await node.catalogue.publish(service, EntryInput(
                    kind="project", title=f"Projekt {i}", summary="Kurz.", body_markdown="Text " * 50,
                    topics=["digitalisierung"]))
                uids.append(str(e.uid))
            now = datetime.now(UTC)
            person = await Person.create(email="erika@kisselbach.example", display_name="Erika", created_at=now)
            await Membership.create(person_id=person.id, municipality_id=publisher.id, role="editor", created_at=now)
            token, _ = await create_own(await person_actor(person), publisher_key=KEY, scopes=["publish"],
                                        label="bench", valid_days=30, now=now)
            from exchange.auth import create_token

            service_token, _ = await create_token(KEY, ["publish"], now=now)
            session = Session.new()
            await open_person_session(person, sid=session.sid, now=now, client="bench")
            # a person of another publisher: the same page content, so the difference is the session alone
            await Municipality.create(level="gemeinde", official_key=OTHER, ags="07140501", name="Nachbarort",
                                      population=900, size_class="Landgemeinde")
            neighbour = await Person.create(email="otto@nachbarort.example", display_name="Otto", created_at=now)
            await Membership.create(person_id=neighbour.id, municipality_id=(await find_publisher(OTHER)).id,
                                    role="editor", created_at=now)
            other_session = Session.new()
            await open_person_session(neighbour, sid=other_session.sid, now=now, client="bench")
            app = create_app(settings, node=node, migrate=False)
            web = node.extra["web"]
            cookie = web.sessions.dumps(session)
            other_cookie = web.sessions.dumps(other_session)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench.test",
                                         headers={"Accept": "text/html"}) as client:
                for _ in range(20):  # warm up
                    await client.get(f"/entries/{uids[0]}")
                anonymous, signed_in, other, checks = [], [], [], []
                anonymous_cpu, other_cpu = [], []
                for i in range(rounds):
                    path = f"/entries/{uids[i % len(uids)]}"
                    t, c = time.perf_counter(), time.process_time()
                    r = await client.get(path)
                    anonymous.append((time.perf_counter() - t) * 1000)
                    anonymous_cpu.append((time.process_time() - c) * 1000)
                    assert r.status_code == 200
                    t, c = time.perf_counter(), time.process_time()
                    r = await client.get(path, cookies={COOKIE: other_cookie})
                    other.append((time.perf_counter() - t) * 1000)
                    other_cpu.append((time.process_time() - c) * 1000)
                    assert r.status_code == 200 and "Mein Konto" in r.text
                    t = time.perf_counter()
                    r = await client.get(path, cookies={COOKIE: cookie})
                    signed_in.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200 and "Mein Konto" in r.text
                    t = time.perf_counter()
                    await resume_session(session.sid, now=datetime.now(UTC))
                    checks.append((time.perf_counter() - t) * 1000)
                rates: dict[str, list[float]] = {"anonymous": [], "personal_token": [], "service_token": []}
                cpu: dict[str, list[float]] = {name: [] for name in rates}
                body = {"query": CATALOGUE, "operationName": "Catalogue", "variables": {"first": 50}}
                # in TURNS short turns each, so that the machine's noise falls on all three alike
                for turn in range(TURNS):
                    for name, bearer in (("anonymous", None), ("personal_token", token), ("service_token", service_token)):
                        headers = {"Accept": "application/json"}
                        if bearer:
                            headers["Authorization"] = f"Bearer {bearer}"
                        if turn == 0:
                            for _ in range(10):
                                await client.post("/graphql", json=body, headers=headers)
                        count, start, cpu_start = 0, time.perf_counter(), time.process_time()
                        while time.perf_counter() - start < seconds / TURNS:
                            r = await client.post("/graphql", json=body, headers=headers)
                            assert "errors" not in r.json(), r.text
                            count += 1
                        rates[name].append(count / (time.perf_counter() - start))
                        cpu[name].append((time.process_time() - cpu_start) * 1000 / count)
                rps = {name: round(statistics.median(values), 1) for name, values in rates.items()}
                cpu_ms = {name: round(statistics.median(values), 3) for name, values in cpu.items()}
    finally:
        await db.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "session_check": {"page_anonymous_ms_p50": p50(anonymous), "page_signed_in_ms_p50": p50(other),
                          "added_ms_p50": round(p50(other) - p50(anonymous), 3),
                          "page_anonymous_cpu_ms_p50": p50(anonymous_cpu), "page_signed_in_cpu_ms_p50": p50(other_cpu),
                          "added_cpu_ms_p50": round(p50(other_cpu) - p50(anonymous_cpu), 3),
                          "page_own_editor_ms_p50": p50(signed_in),
                          "added_for_own_editor_ms_p50": round(p50(signed_in) - p50(anonymous), 3),
                          "resume_session_ms_p50": p50(checks), "rounds": rounds},
        "catalogue_rps": {**rps, "drop_with_token_pct": round(100 * (1 - rps["personal_token"] / rps["anonymous"]), 1),
                          "seconds_each": seconds, "turns": TURNS},
        "catalogue_cpu_ms_per_request": {
            **cpu_ms, "added_by_token_pct": round(100 * (cpu_ms["personal_token"] / cpu_ms["anonymous"] - 1), 1)},
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def signins(n: int) -> dict[str, Any]:
    oidc = ROOT / ".cache" / "oidc"
    if not (oidc / "node_modules" / "oidc-provider").exists() or not os.path.exists("/usr/bin/chromium"):
        return {"skipped": "needs .cache/oidc (run the OpenID browser test once) and /usr/bin/chromium"}
    from playwright.sync_api import sync_playwright

    shutil.copy(ROOT / "tests" / "web" / "oidc" / "provider.mjs", oidc / "provider.mjs")
    folder = Path(tempfile.mkdtemp(prefix="bench-oidc-"))
    node_port, idp_port = free_port(), free_port()
    base, issuer = f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{idp_port}"
    env = {**os.environ, "EXCHANGE_DATABASE_URL": f"sqlite://{folder / 'node.db'}", "EXCHANGE_NODE_URL": base,
           "EXCHANGE_LOG_LEVEL": "WARNING", "EXCHANGE_OIDC_ISSUER": issuer, "EXCHANGE_OIDC_CLIENT_ID": "exchange-test",
           "EXCHANGE_OIDC_CLIENT_SECRET": "test-secret", "PYTHONPATH": str(ROOT)}
    with (folder / "idp.log").open("w") as idp_out, (folder / "node.log").open("w") as node_out:
        idp = subprocess.Popen(["node", "provider.mjs"], cwd=oidc, stdout=idp_out, stderr=subprocess.STDOUT,
                               env={**os.environ, "PORT": str(idp_port),
                                    "REDIRECT_URI": f"{base}/signin/oidc/callback"})
        node = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(node_port)], env=env,
                                stdout=node_out, stderr=subprocess.STDOUT, cwd=folder)
        try:
            wait(f"{issuer}/.well-known/openid-configuration", 30)
            wait(f"{base}/healthz", 180)
            subprocess.run([sys.executable, "-m", "exchange", "operators", "add", "nina@kisselbach.example"],
                           env=env, cwd=folder, check=True, capture_output=True, timeout=120)
            times = []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=["--headless", "--no-sandbox", "--disable-gpu"])
                for _ in range(n):
                    context = browser.new_context()
                    page = context.new_page()
                    t = time.perf_counter()
                    page.goto(f"{base}/signin/oidc")
                    page.fill("input[name=login]", "nina")
                    page.fill("input[name=password]", "x")
                    page.click("button[type=submit]")
                    page.wait_for_load_state()
                    while "/interaction/" in page.url:
                        with page.expect_navigation():
                            page.click("button[type=submit]")
                    page.wait_for_url(f"{base}/account*")
                    times.append((time.perf_counter() - t) * 1000)
                    context.close()
                browser.close()
        finally:
            for proc in (node, idp):
                proc.terminate()
                proc.wait(timeout=20)
    shutil.rmtree(folder, ignore_errors=True)
    return {"p50_ms": p50(times), "max_ms": round(max(times), 1), "runs": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--signins", type=int, default=8)
    args = parser.parse_args()
    result: dict[str, Any] = asyncio.run(in_process(args.rounds, args.seconds))
    result["signin_round_trip_ms"] = signins(args.signins) if args.signins else {"skipped": "--signins 0"}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
