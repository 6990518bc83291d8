"""Read paths show only what the reader may see: stored versions are judged by the
visibility each was stored with (revisions, diffs), not by the entry's current one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from federation.identity import NodeKey
from tests.exchange.test_catalogue import SMALL, TOWN, actor_for, project
from tests.helpers import client_for, seed, token_for

HISTORY = ("query($id: ID!) { entry(id: $id) { version revisions { version title note } } }")
DIFF = ("query($id: ID!, $a: Int!, $b: Int!) { entryDiff(id: $id, fromVersion: $a, toVersion: $b) "
        "{ diff } }")


async def _ask(client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    return Catalogue(signer=NodeKey.load_or_create(tmp_path / "k.key", "http://node-a.test"))


@pytest.mark.parametrize("first", ["local", "draft"])
async def test_versions_stored_private_stay_private_after_the_entry_goes_public(
    db: Database, tmp_path: Path, catalogue: Catalogue, first: str
) -> None:
    await seed(db)
    me = await actor_for(SMALL)
    entry = await catalogue.publish(me, project(title="Geheimplan Rathaus", visibility=first,
                                                body_markdown="Vertraulich: Kosten 90.000 EUR"))
    await catalogue.revise(me, str(entry.uid), 1, EntryInput(
        title="Digitales Rathaus", body_markdown="Alles online.", visibility="public"), note="freigegeben")
    uid = str(entry.uid)
    async with client_for(db, tmp_path) as client:
        anonymous = await _ask(client, HISTORY, id=uid)
        assert anonymous["data"]["entry"]["revisions"] == [
            {"version": 2, "title": "Digitales Rathaus", "note": "freigegeben"}]
        diff = await _ask(client, DIFF, id=uid, a=1, b=2)
        assert diff["data"] is None and diff["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert "Vertraulich" not in str(diff) and "Geheimplan" not in str(diff)
        # another publisher of this node: sees local versions, not someone else's draft
        other = await token_for(TOWN)
        titles = [r["title"] for r in (await _ask(client, HISTORY, other, id=uid))["data"]["entry"]["revisions"]]
        assert titles == (["Digitales Rathaus", "Geheimplan Rathaus"] if first == "local"
                          else ["Digitales Rathaus"])
        # the publisher sees every version and the diff
        own = await token_for(SMALL)
        assert len((await _ask(client, HISTORY, own, id=uid))["data"]["entry"]["revisions"]) == 2
        assert "-Vertraulich" in (await _ask(client, DIFF, own, id=uid, a=1, b=2))["data"]["entryDiff"]["diff"]
        # the web page lists the versions the reader may see
        page = (await client.get(f"/entries/{uid}", headers={"accept": "text/html"})).text
        assert "Version 2" in page and "Version 1" not in page


async def test_a_version_that_went_private_is_hidden_too(
    db: Database, tmp_path: Path, catalogue: Catalogue
) -> None:
    """public -> local -> public: anonymous readers see versions 1 and 3, never 2."""
    await seed(db)
    me = await actor_for(SMALL)
    entry = await catalogue.publish(me, project(title="Offen"))
    await catalogue.revise(me, str(entry.uid), 1, EntryInput(title="Intern: Streit im Rat", visibility="local"))
    await catalogue.revise(me, str(entry.uid), 2, EntryInput(title="Wieder offen", visibility="public"))
    async with client_for(db, tmp_path) as client:
        revisions = (await _ask(client, HISTORY, id=str(entry.uid)))["data"]["entry"]["revisions"]
        assert [r["version"] for r in revisions] == [3, 1]
        assert (await _ask(client, DIFF, id=str(entry.uid), a=1, b=3))["data"]["entryDiff"]["diff"]
        assert (await _ask(client, DIFF, id=str(entry.uid), a=2, b=3))["errors"][0]["extensions"]["code"] == "NOT_FOUND"
