"""Two nodes: published guides, collections and endorsements travel; drafts and progress do not."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange.auth import Actor, find_publisher
from exchange.curation import import_guides
from exchange.curation.collections import delete_collection, endorse, put_collection
from exchange.curation.guides import guide_uid
from exchange.models import Collection, CollectionItem, Endorsement, Entry
from tests.federation.fednodes import FedNode, Net, close_all, connect, make_node

GUIDE = "---\nid: {id}\ntitle: Leitfaden {id}\nsummary: Kurz\n---\nText.\n"


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[FedNode, FedNode]]:
    net = Net()
    a, b = await make_node(tmp_path, "a", net), await make_node(tmp_path, "b", net)
    await connect(a, b)
    yield a, b
    await close_all(a, b)


async def test_guides_collections_and_endorsements_federate(
    pair: tuple[FedNode, FedNode], tmp_path: Path
) -> None:
    a, b = pair
    for name, state in (("published", "published"), ("draft", "draft")):
        bundle = tmp_path / name
        bundle.mkdir()
        (bundle / "g.md").write_text(GUIDE.format(id=name), encoding="utf-8")

        async def load(bundle: Path = bundle, state: str = state) -> None:
            await import_guides(
                b.node.catalogue, bundle, f"org-{state}", state=state, organisation_name="Org"
            )

        await b.run(load)
    published = guide_uid(b.url, "org-published", "published")
    draft = guide_uid(b.url, "org-draft", "draft")
    collection_id = uuid.UUID(int=7)

    async def curate() -> None:
        actor = Actor(publisher=await find_publisher("org-published"), scopes=frozenset({"curate"}))
        await put_collection(
            b.node.catalogue,
            actor,
            uid=collection_id,
            title="Starterpaket",
            summary="",
            language="de",
            items=[(published, "Zuerst lesen")],
        )
        await endorse(b.node.catalogue, actor, str(published), "Bewährt")

    await b.run(curate)
    report = await a.pull(b)
    assert report.ok, report.error

    async def held() -> tuple[set[uuid.UUID], list[tuple[uuid.UUID, str]], list[str], bool]:
        entries = set(await Entry.filter(deleted=False).values_list("uid", flat=True))
        c = await Collection.get_or_none(uid=collection_id)
        items = (
            [(i.entry_uid, i.note) for i in await CollectionItem.filter(collection_id=c.id)]
            if c
            else []
        )
        notes = [e.note for e in await Endorsement.filter(deleted=False)]
        return {uuid.UUID(str(u)) for u in entries}, items, notes, bool(c and c.deleted)

    entries, items, notes, deleted = await a.run(held)
    assert published in entries and draft not in entries
    assert items == [(published, "Zuerst lesen")] and notes == ["Bewährt"] and not deleted

    again = await a.pull(b)
    assert again.ok and again.applied == 0
    echo = await b.pull(a)  # a relays b's own records back: no refusal, nothing changes
    assert echo.ok, echo.error

    async def remove() -> None:
        actor = Actor(publisher=await find_publisher("org-published"), scopes=frozenset({"curate"}))
        await delete_collection(b.node.catalogue, actor, collection_id)

    await b.run(remove)
    assert (await a.pull(b)).ok
    assert (await a.run(held))[3] is True
