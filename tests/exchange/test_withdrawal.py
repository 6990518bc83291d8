"""Withdrawn content is gone, not hidden: on the origin, in stored versions, on peers,
and in databases written before withdrawals removed it (migration 0011)."""

from __future__ import annotations

import json
from pathlib import Path

from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database, current_connection
from exchange.envelope import canonical_json
from exchange.models import Entry, EntryTopic, Revision
from federation.identity import NodeKey, verify
from tests.exchange.test_catalogue import SMALL, actor_for, project
from tests.exchange.test_read_paths import _ask
from tests.federation.fednodes import close_all, connect, make_nodes
from tests.helpers import client_for, seed

ENTRY = "query($id: ID!) { entry(id: $id) { deleted title summary bodyMarkdown keywords revisions { title } } }"
SECRET = "Geheimer Plan"


async def _everything(uid: str) -> str:
    """Every stored text of an entry: its row and all its stored versions."""
    entry = await Entry.get(uid=uid)
    rows = [str(v) for v in (await Entry.filter(id=entry.id).values())[0].values()]
    rows += [json.dumps(r.envelope) for r in await Revision.filter(entry_id=entry.id)]
    return "\n".join(rows)


async def test_unpublish_removes_the_content(db: Database, tmp_path: Path) -> None:
    await seed(db)
    key = NodeKey.load_or_create(tmp_path / "node.key", "http://node-a.test")
    catalogue = Catalogue(signer=key)
    me = await actor_for(SMALL)
    entry = await catalogue.publish(me, project(title=SECRET, keywords=["Vertraulich"]))
    await catalogue.revise(me, str(entry.uid), 1, EntryInput(body_markdown="Zweite Fassung"))
    await catalogue.unpublish(me, str(entry.uid))
    text = await _everything(str(entry.uid))
    assert SECRET not in text and "Vertraulich" not in text and "Zweite Fassung" not in text
    assert await EntryTopic.filter(entry_id=entry.id).count() == 0
    tomb = await Revision.get(entry_id=entry.id, version=3)
    assert tomb.envelope["type"] == "tombstone" and set(tomb.envelope["entry"]) == {"kind", "publisher"}
    assert verify(key.public_key_b64, canonical_json(tomb.envelope), tomb.signature)
    async with client_for(db, tmp_path) as client:
        got = (await _ask(client, ENTRY, id=str(entry.uid)))["data"]["entry"]
        assert got["deleted"] and (got["title"], got["summary"], got["bodyMarkdown"], got["keywords"]) == ("", "", "", [])
        assert all(r["title"] == "" for r in got["revisions"])
        search = await _ask(client, "{ entries(first: 5, filter: {text: \"Geheimer\"}) { totalCount } }")
        assert search["data"]["entries"]["totalCount"] == 0


async def test_withdrawn_content_is_gone_on_peers_too(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    uid = await a.publish(SECRET, body="Vertraulicher Text")
    assert (await b.pull(a)).error_code in ("", None)
    await a.unpublish(uid)
    report = await b.pull(a)
    assert report.error_code in ("", None), report
    assert await b.entries() == {uid: (2, True, "")}
    text = await b.run(lambda: _everything(uid))
    assert SECRET not in text and "Vertraulich" not in text
    assert (await a.pull(b)).error_code in ("", None)  # b's feed relays nothing a refuses
    await close_all(a, b)


async def test_migration_purges_entries_withdrawn_before(db: Database, tmp_path: Path) -> None:
    import importlib

    purge = importlib.import_module("migrations.0011_purge_withdrawn").purge_withdrawn
    await seed(db)
    key = NodeKey.load_or_create(tmp_path / "node.key", "http://node-a.test")
    catalogue = Catalogue(signer=key)
    me = await actor_for(SMALL)
    entry = await catalogue.publish(me, project(title=SECRET))
    # what a withdrawal left before: the content kept, hidden, and in a signed tombstone
    v1 = await Revision.get(entry_id=entry.id, version=1)
    legacy = {**v1.envelope, "type": "tombstone", "version": 2}
    await Entry.filter(id=entry.id).update(deleted=True, version=2)
    await Revision.create(entry_id=entry.id, version=2, envelope=legacy,
                          signature=key.sign(canonical_json(legacy)), created_at=entry.updated_at)
    assert await purge(current_connection()) == 1
    assert SECRET not in await _everything(str(entry.uid))
    assert await EntryTopic.filter(entry_id=entry.id).count() == 0
    assert await catalogue.seal_tombstones() == 1
    tomb = await Revision.get(entry_id=entry.id, version=2)
    assert verify(key.public_key_b64, canonical_json(tomb.envelope), tomb.signature)
