"""Several nodes in one process, wired through ASGI transports, for federation tests.

`Net` routes each request by host name to the app of one node (or refuses it
when that node is cut off), so every node's peer client reaches the others
without sockets. `FedNode` holds one node: its database (bound per call with
`run`), its app, its `Federation`. `connect(a, b)` makes each pin the
other's key; `a.pull(b)` runs one sync of `a` from `b` inside `a`'s database.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from exchange.app import Node, build_node, create_app
from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.models import Change, Entry, Peer
from exchange.settings import Settings
from federation import store
from federation.routes import Federation
from federation.sync import SyncReport
from tests.conftest import make_database
from tests.helpers import MUNICIPALITIES, seed

T = TypeVar("T")
KISSELBACH = next(m["official_key"] for m in MUNICIPALITIES if m["name"] == "Kisselbach")
FLENSBURG = next(m["official_key"] for m in MUNICIPALITIES if m["name"].startswith("Flensburg"))


class Net(httpx.AsyncBaseTransport):
    """Routes requests by host to in-process apps; hosts in `down` are unreachable."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()
        self.requests: list[httpx.Request] = []

    def add(self, host: str, app: Any) -> None:
        self.apps[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host = request.url.host
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"{host} is down", request=request)
        return await self.apps[host].handle_async_request(request)


@dataclass
class FedNode:
    name: str
    url: str
    db: Database
    node: Node
    app: Any
    net: Net
    listened: list[str] = field(default_factory=list)

    @property
    def federation(self) -> Federation:
        return self.node.extra["federation"]  # type: ignore[no-any-return]

    async def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        with self.db.bound():
            return await fn()

    async def publish(self, title: str, *, key: str = KISSELBACH, visibility: str = "public",
                      body: str = "Text", topics: list[str] | None = None) -> str:
        async def go() -> str:
            actor = Actor(publisher=await find_publisher(key), scopes=frozenset({"publish"}))
            entry = await self.node.catalogue.publish(actor, EntryInput(
                kind="project", title=title, summary=f"About {title}", body_markdown=body,
                topics=topics or [], visibility=visibility))
            return str(entry.uid)
        return await self.run(go)

    async def revise(self, uid: str, **changes: Any) -> int:
        async def go() -> int:
            entry = await Entry.get(uid=uuid.UUID(uid))
            actor = Actor(publisher=await find_publisher(changes.pop("key", KISSELBACH)),
                          scopes=frozenset({"publish"}))
            done = await self.node.catalogue.revise(actor, uid, entry.version, EntryInput(**changes))
            return done.version
        return await self.run(go)

    async def unpublish(self, uid: str, key: str = KISSELBACH) -> None:
        async def go() -> None:
            actor = Actor(publisher=await find_publisher(key), scopes=frozenset({"publish"}))
            await self.node.catalogue.unpublish(actor, uid)
        await self.run(go)

    async def add_peer(self, other: FedNode, *, member: bool = False, trust_relayed: bool = False) -> Peer:
        async def go() -> Peer:
            descriptor = await self.federation.client().descriptor(other.url)
            return await store.pin_peer(descriptor, member=member, trust_relayed=trust_relayed,
                                        confirm_key_change=False, now=self.federation.clock())
        return await self.run(go)

    async def pull(self, other: FedNode, page_size: int | None = None, **kwargs: Any) -> SyncReport:
        async def go() -> SyncReport:
            peer = await store.get_peer(other.url)
            syncer = self.federation.syncer()
            if page_size is not None:
                syncer.page_size = page_size
            return await syncer.sync_peer(peer, **kwargs)
        return await self.run(go)

    async def entries(self) -> dict[str, tuple[int, bool, str]]:
        """uid -> (version, deleted, title) of every entry this node holds."""
        async def go() -> dict[str, tuple[int, bool, str]]:
            rows = await Entry.all().values("uid", "version", "deleted", "title")
            return {str(r["uid"]): (r["version"], r["deleted"], r["title"]) for r in rows}
        return await self.run(go)

    async def changes(self) -> list[tuple[str, int]]:
        async def go() -> list[tuple[str, int]]:
            rows = await Change.all().order_by("seq").values("entry_uid", "version")
            return [(str(r["entry_uid"]), r["version"]) for r in rows]
        return await self.run(go)


async def make_node(tmp_path: Path, name: str, net: Net, *, seeded: bool = True,
                    settings: dict[str, Any] | None = None) -> FedNode:
    db = await make_database(tmp_path, name)
    url = f"http://{name}.test"
    # The nodes talk over an in-process network (closed), under http:// names.
    config = Settings(database_url=db.url, node_url=url, node_name=f"Node {name.upper()}",
                      key_file=str(tmp_path / f"{name}.key"),
                      **{"sync_interval": 0, "allow_plain_http": True,
                         "attachments_dir": str(tmp_path / f"{name}-attachments"), **(settings or {})})
    node = build_node(config, database=db)
    node.extra["federation_http"] = httpx.AsyncClient(transport=net)
    app = create_app(config, node=node, migrate=False)
    net.add(f"{name}.test", app)
    fed = FedNode(name, url, db, node, app, net)

    async def listen(entry: Entry) -> None:
        fed.listened.append(str(entry.uid))

    node.catalogue.listeners.append(listen)
    if seeded:
        with db.bound():
            await seed(db)
    return fed


async def connect(a: FedNode, b: FedNode, *, member: bool = False, trust_relayed: bool = False) -> None:
    """Each of a and b pins the other's key (a pulls b, b answers a, and the other way round)."""
    await a.add_peer(b, member=member, trust_relayed=trust_relayed)
    await b.add_peer(a, member=member, trust_relayed=trust_relayed)


async def close_all(*nodes: FedNode) -> None:
    for n in nodes:
        await n.db.close()


async def make_nodes(tmp_path: Path, names: str, net: Net | None = None) -> list[FedNode]:
    net = net or Net()
    return [await make_node(tmp_path, name, net) for name in names]
