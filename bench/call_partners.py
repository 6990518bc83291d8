"""Benchmark: what the suggested partners cost a call's page (prints JSON).

Builds a SQLite node as bench/web_pages.py does (register, topics, demo
entries and N synthetic entries over 2,000 municipalities), publishes three
calls (one open to all, one for small towns within 100 km, one of a city
with a long text), starts the node (the matcher loads every profile) and
asks, through the ASGI app in process, each call's page and, for
comparison, a project's page R times each (the page keeps the
suggestions: `PartnerCache`). It also times `suggested_partners` alone,
ranking every time and kept. Each figure is wall time and process CPU time
(the SQLite thread included), p50 and p95; the load average is reported.

    python bench/call_partners.py [--entries 20000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from web_pages import build

from exchange.app import build_node, create_app
from exchange.auth import Actor, Publisher
from exchange.calls import suggested_partners
from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.models import Entry, Municipality
from exchange.settings import Settings

CALLS = [  # caller's official key, title, summary, terms
    ("059580020020", "LoRaWAN-Sensoren gemeinsam beschaffen",
     "Wir suchen Gemeinden, die Sensoren und Gateways für Pegel und Parkplätze mit uns ausschreiben.", {}),
    ("097800146146", "Gemeinsames Bürgerportal für kleine Gemeinden",
     "Online-Anträge und Terminbuchung mit einem Dienstleister für mehrere Orte.",
     {"radius_km": 100, "size_classes": ["Landgemeinde", "Kleinstadt"]}),
    ("010010000000", "Kommunale Wärmeplanung: Erfahrungsaustausch",
     "Wir tauschen Daten, Ausschreibungstexte und Erfahrungen zur Wärmeplanung aus. " * 20, {}),
]


def figures(wall: list[float], cpu: list[float]) -> dict[str, float]:
    wall, cpu = sorted(wall), sorted(cpu)
    p95 = max(0, int(len(wall) * 0.95) - 1)
    return {"p50_ms": round(statistics.median(wall) * 1000, 3), "p95_ms": round(wall[p95] * 1000, 2),
            "cpu_p50_ms": round(statistics.median(cpu) * 1000, 3), "cpu_p95_ms": round(cpu[p95] * 1000, 2)}


async def timed(rounds: int, run: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    await run()  # the first one warms what is kept
    wall, cpu = [], []
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        await run()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return figures(wall, cpu)


async def main(n: int, rounds: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    db = Database(f"sqlite://{folder / 'bench.db'}")
    await db.open(create=True)
    result: dict[str, Any] = {"entries": n, "rounds": rounds, "database": "sqlite",
                              "load_average_start": round(os.getloadavg()[0], 2)}
    with db.bound():
        await db.migrate()
        await build(db, "http://bench.test", n, random.Random(7))
        settings = Settings(database_url=db.url, node_url="http://bench.test", key_file=str(folder / "k.key"))
        node = build_node(settings, database=db)
        for hook in node.extra.get("startup", []):
            await hook()
        uids = []
        for key, title, summary, terms in CALLS:
            m = await Municipality.get(official_key=key)
            actor = Actor(Publisher("municipality", m.id, key, m.name), frozenset({"publish"}))
            e = await node.catalogue.publish(actor, EntryInput(
                kind="call", title=title, summary=summary, body_markdown=summary, topics=["digitalisierung"],
                language="de", visibility="public",
                call={"form": "joint_procurement", "deadline": "2099-12-31", **terms}))
            uids.append(str(e.uid))
        matcher = node.services.matcher
        assert matcher is not None
        await matcher.settle()
        project = await Entry.filter(kind="project", visibility="public").first()
        assert project is not None
        app = create_app(settings, node=node, migrate=False)
        pages: dict[str, Any] = {}
        kept = node.extra["call_partners"]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.test",
                                     headers={"Accept-Language": "de"}) as client:
            async def page(path: str) -> None:
                r = await client.get(path)
                assert r.status_code == 200, (path, r.status_code)

            pages["project_page"] = await timed(rounds, lambda: page(f"/entries/{project.uid}"))
            for i, uid in enumerate(uids):
                call = await Entry.get(uid=uid)
                pages[f"call_{i + 1}_page"] = await timed(rounds, lambda uid=uid: page(f"/entries/{uid}"))
                pages[f"call_{i + 1}_suggested_partners"] = await timed(
                    rounds, lambda call=call: suggested_partners(matcher, call, first=5))
                pages[f"call_{i + 1}_suggested_partners_kept"] = await timed(
                    rounds, lambda call=call: suggested_partners(matcher, call, first=5, cache=kept))
        result["pages"] = pages
    await db.close()
    result["load_average_end"] = round(os.getloadavg()[0], 2)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.entries, args.rounds)), indent=2))
