"""Sequence numbers in commit order: concurrent publishers on PostgreSQL while a peer pulls.

If a sequence number were handed out before a slow transaction commits, a
reader could see n+1 before n commits, move its cursor past n and never see
it. The catalogue serialises the assignment with an advisory lock held to
commit; this test publishes from many tasks at once on PostgreSQL while the
peer keeps pulling small pages, and checks that the peer ends up with every
entry. SQLite allows one writer at a time, so the question does not arise.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from exchange.app import build_node, create_app
from exchange.settings import Settings
from federation import store
from federation.sync import Syncer
from tests.conftest import PG_URL, make_database
from tests.federation.fednodes import FedNode, close_all, connect, make_node
from tests.helpers import seed

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (EXCHANGE_TEST_DATABASE_URL)")


async def test_a_pulling_peer_misses_no_concurrent_publication(tmp_path: Path) -> None:
    from tests.federation.fednodes import Net

    net = Net()
    a = await make_node(tmp_path, "a", net)
    db = await make_database(tmp_path)  # PostgreSQL
    config = Settings(database_url=db.url, node_url="http://b.test", node_name="Node B",
                      key_file=str(tmp_path / "b.key"), sync_interval=0, allow_plain_http=True)
    node = build_node(config, database=db)
    node.extra["federation_http"] = httpx.AsyncClient(transport=net)
    app = create_app(config, node=node, migrate=False)
    net.add("b.test", app)
    b = FedNode("b", "http://b.test", db, node, app, net)
    with db.bound():
        await seed(db)
    await connect(a, b)
    published: list[str] = []
    done = asyncio.Event()

    async def writer(n: int) -> None:
        for i in range(8):
            published.append(await b.publish(f"Writer {n} entry {i}"))

    async def reader() -> None:
        fed = a.federation
        while not done.is_set():
            syncer = fed.syncer()
            syncer.page_size = 3

            async def go(syncer: Syncer = syncer) -> None:
                await syncer.sync_peer(await store.get_peer(b.url))
            await a.run(go)
            await asyncio.sleep(0)

    pulling = asyncio.ensure_future(reader())
    await asyncio.gather(*(writer(n) for n in range(12)))
    done.set()
    await pulling
    report = await a.pull(b)
    assert report.ok
    held = await a.entries()
    assert set(published) <= set(held), f"{len(set(published) - set(held))} entries skipped"
    await close_all(a, b)
