"""Review flow, diffs, endorsements, collections and checklist progress, through the API and the feed."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.app import build_node
from exchange.catalogue import Catalogue
from exchange.curation import import_guides
from exchange.curation.guides import guide_uid
from exchange.curation.review import may_move, unified_diff
from exchange.db import Database
from exchange.models import Change, ChecklistProgress, CurationRevision, Entry, Peer, ReviewEvent
from tests.helpers import NOW, client_for, seed, settings_for, token_for


def write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


GUIDE = "---\nid: g\ntitle: Leitfaden\nsummary: Kurz\nchecklist: [Beschluss fassen, Daten wählen]\n---\n{body}"


async def gql(
    client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return dict(response.json())


@pytest.fixture
async def node(db: Database, tmp_path: Path) -> Catalogue:
    await seed(db)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    write(bundle, "g.md", GUIDE.format(body="Erster Absatz.\n"))
    catalogue = build_node(settings_for(db, tmp_path), database=db).catalogue
    await import_guides(catalogue, bundle, "kompetenzzentrum")
    return catalogue


def test_moves_table() -> None:
    assert may_move("draft", "in_review") and may_move("in_review", "published")
    assert may_move("published", "withdrawn") and may_move("in_review", "draft")
    assert not may_move("draft", "published") and not may_move("published", "draft")


def test_unified_diff_of_envelopes() -> None:
    old = {
        "version": 1,
        "entry": {"title": "T", "summary": "S", "body_markdown": "a\nb\n", "checklist": ["x"]},
    }
    new = {
        "version": 2,
        "entry": {"title": "T", "summary": "S", "body_markdown": "a\nc\n", "checklist": ["x", "y"]},
    }
    diff = unified_diff(old, new)
    assert "--- version 1\n+++ version 2\n" in diff
    assert "-b\n" in diff and "+c\n" in diff and "+- [ ] y\n" in diff
    assert unified_diff(old, old) == ""


async def test_review_flow_only_published_guides_reach_peers(
    node: Catalogue, db: Database, tmp_path: Path
) -> None:
    from federation.feed import Feed

    uid = str(guide_uid(node.node_url, "kompetenzzentrum", "g"))
    curator = await token_for("kompetenzzentrum", ("curate",))
    publisher_only = await token_for("kompetenzzentrum", ("publish",))
    peer = await Peer.create(
        url="http://peer.test", public_key="x" * 43, key_id="k", created_at=NOW
    )
    feed = Feed(build_node(settings_for(db, tmp_path), database=db).key)

    async def peer_sees() -> list[tuple[str, str]]:
        page = await feed.read(peer, None, 100)
        return [
            (i.envelope.envelope["type"], i.envelope.envelope["entry"].get("review_state", "-"))
            for i in page.batch.items
        ]

    move = "mutation($id: ID!, $to: ReviewState!, $note: String!) { moveGuide(id: $id, to: $to, note: $note) { entry { version visibility ... on Guide { reviewState } } } }"
    async with client_for(db, tmp_path) as client:
        assert await peer_sees() == []  # a draft never leaves the node
        anonymous = await gql(client, "query($id: ID!) { entry(id: $id) { id } }", id=uid)
        assert anonymous["data"]["entry"] is None
        denied = await gql(client, move, publisher_only, id=uid, to="IN_REVIEW", note="")
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        skip = await gql(client, move, curator, id=uid, to="PUBLISHED", note="")
        assert skip["errors"][0]["extensions"]["code"] == "CONFLICT"
        for state, note in (("IN_REVIEW", "bitte prüfen"), ("PUBLISHED", "geprüft")):
            result = await gql(client, move, curator, id=uid, to=state, note=note)
            assert result["data"]["moveGuide"]["entry"]["reviewState"] == state, result
        assert await peer_sees() == [("entry", "published")]
        assert (await gql(client, "query($id: ID!) { entry(id: $id) { id } }", id=uid))["data"][
            "entry"
        ]["id"] == uid

        history = await gql(
            client,
            "query($id: ID!) { reviewHistory(id: $id) { version fromState toState actor note } }",
            id=uid,
        )
        assert [
            (e["fromState"], e["toState"], e["actor"], e["note"])
            for e in history["data"]["reviewHistory"]
        ] == [
            (None, "DRAFT", "organisation:kompetenzzentrum", "imported"),
            ("DRAFT", "IN_REVIEW", "organisation:kompetenzzentrum", "bitte prüfen"),
            ("IN_REVIEW", "PUBLISHED", "organisation:kompetenzzentrum", "geprüft"),
        ]
        await gql(client, move, curator, id=uid, to="WITHDRAWN", note="veraltet")
        assert await peer_sees() == [
            ("entry", "published"),
            ("tombstone", "-"),
        ]  # peers drop their copy
    assert await ReviewEvent.all().count() == 4


async def test_revision_diff_through_the_api(node: Catalogue, db: Database, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    write(bundle, "g.md", GUIDE.format(body="Erster Absatz.\n\nZweiter Absatz.\n"))
    await import_guides(node, bundle, "kompetenzzentrum")
    curator = await token_for("kompetenzzentrum", ("curate",))
    uid = str(guide_uid(node.node_url, "kompetenzzentrum", "g"))
    async with client_for(db, tmp_path) as client:
        result = await gql(
            client,
            "query($id: ID!) { entryDiff(id: $id, fromVersion: 1, toVersion: 2) { diff added removed } }",
            curator,
            id=uid,
        )
        diff = result["data"]["entryDiff"]
        assert "+Zweiter Absatz.\n" in diff["diff"] and diff["added"] == 2 and diff["removed"] == 0
        missing = await gql(
            client,
            "query($id: ID!) { entryDiff(id: $id, fromVersion: 1, toVersion: 9) { diff } }",
            curator,
            id=uid,
        )
        assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_endorsements_collections_and_filter(
    node: Catalogue, db: Database, tmp_path: Path
) -> None:
    from exchange.auth import Actor, find_publisher
    from exchange.curation.review import set_review_state

    uid = str(guide_uid(node.node_url, "kompetenzzentrum", "g"))
    actor = Actor(publisher=await find_publisher("kompetenzzentrum"), scopes=frozenset({"curate"}))
    await set_review_state(node, actor, uid, "published", check_move=False)
    curator = await token_for("kompetenzzentrum", ("curate",))
    async with client_for(db, tmp_path) as client:
        endorse = "mutation($id: ID!, $note: String!) { endorseEntry(id: $id, note: $note) { note organisation { slug } } }"
        result = await gql(client, endorse, curator, id=uid, note="Bewährt")
        assert result["data"]["endorseEntry"] == {
            "note": "Bewährt",
            "organisation": {"slug": "kompetenzzentrum"},
        }
        await gql(client, endorse, curator, id=uid, note="Bewährt")  # same note: nothing new
        assert await CurationRevision.filter(kind="endorsement").count() == 1
        anonymous = await gql(client, endorse, None, id=uid, note="x")
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        listing = await gql(
            client,
            '{ entries(filter: {endorsedBy: "kompetenzzentrum"}, orderBy: ENDORSED) { totalCount edges { node { id endorsements { note } } } } }',
        )
        assert listing["data"]["entries"]["totalCount"] == 1
        assert listing["data"]["entries"]["edges"][0]["node"]["endorsements"] == [
            {"note": "Bewährt"}
        ]
        none = await gql(client, '{ entries(filter: {endorsedBy: "niemand"}) { totalCount } }')
        assert none["data"]["entries"]["totalCount"] == 0

        save = "mutation($input: CollectionInput!) { saveCollection(input: $input) { id version items { position note entry { title } } } }"
        items = [
            {"entryId": uid, "note": "Zuerst"},
            {"entryId": "00000000-0000-4000-8000-000000000001", "note": "Auf einem anderen Knoten"},
        ]
        saved = await gql(client, save, curator, input={"title": "Starterpaket", "items": items})
        collection = saved["data"]["saveCollection"]
        assert [(i["position"], i["note"], i["entry"]) for i in collection["items"]] == [
            (0, "Zuerst", {"title": "Leitfaden"}),
            (1, "Auf einem anderen Knoten", None),
        ]
        read = await gql(
            client,
            "query($id: ID!) { collection(id: $id) { title organisation { slug } } }",
            id=collection["id"],
        )
        assert read["data"]["collection"] == {
            "title": "Starterpaket",
            "organisation": {"slug": "kompetenzzentrum"},
        }
        assert len((await gql(client, "{ collections { id } }"))["data"]["collections"]) == 1
    # every version of a collection or endorsement is signed and numbered in the change feed
    revisions = await CurationRevision.all()
    assert all(r.signature for r in revisions)
    assert {r.record_uid for r in revisions} <= set(
        await Change.all().values_list("entry_uid", flat=True)
    )


async def test_checklist_progress_is_local_per_municipality(
    node: Catalogue, db: Database, tmp_path: Path
) -> None:
    uid = str(guide_uid(node.node_url, "kompetenzzentrum", "g"))
    entry = await Entry.get(uid=uid)
    entry.visibility, entry.review_state = "public", "published"
    await entry.save()
    town = await token_for("071405008068")
    other = await token_for("097800146146")
    tick = "mutation($id: ID!, $i: Int!) { setChecklistItem(guideId: $id, index: $i, done: true) { index text done } }"
    read = "query($id: ID!) { checklistProgress(guideId: $id) { index done } }"
    async with client_for(db, tmp_path) as client:
        result = await gql(client, tick, town, id=uid, i=1)
        assert result["data"]["setChecklistItem"] == [
            {"index": 0, "text": "Beschluss fassen", "done": False},
            {"index": 1, "text": "Daten wählen", "done": True},
        ]
        assert [
            i["done"] for i in (await gql(client, read, other, id=uid))["data"]["checklistProgress"]
        ] == [False, False]
        bad = await gql(client, tick, town, id=uid, i=5)
        assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        org = await gql(client, tick, await token_for("kompetenzzentrum"), id=uid, i=0)
        assert org["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await ChecklistProgress.all().count() == 1
    assert not await Change.filter(
        entry_uid=uid, version__gt=entry.version
    ).exists()  # nothing federates


async def test_collections_and_endorsements_travel_to_another_node(
    node: Catalogue, db: Database, tmp_path: Path
) -> None:
    from exchange.auth import Actor, find_publisher
    from exchange.curation import apply_received
    from exchange.curation.collections import delete_collection, endorse, put_collection
    from exchange.curation.review import set_review_state
    from exchange.models import Collection, Endorsement, Organisation
    from federation.protocol import SignedEnvelope
    from federation.signing import verify_envelope
    from tests.conftest import make_database

    uid = str(guide_uid(node.node_url, "kompetenzzentrum", "g"))
    actor = Actor(publisher=await find_publisher("kompetenzzentrum"), scopes=frozenset({"curate"}))
    await set_review_state(node, actor, uid, "published", check_move=False)
    collection = await put_collection(
        node,
        actor,
        uid=uuid.UUID(int=1),
        title="Paket",
        summary="",
        language="de",
        items=[(uuid.UUID(uid), "Lesen")],
    )
    await endorse(node, actor, uid, "Gut")
    await delete_collection(node, actor, collection.uid)
    revisions = await CurationRevision.all().order_by("id")
    key = build_node(settings_for(db, tmp_path), database=db).key
    for (
        r
    ) in revisions:  # each version is validly signed by this node, in the wire format peers check
        verify_envelope(
            SignedEnvelope.from_json({"envelope": r.envelope, "signature": r.signature}),
            key.public_key_b64,
        )

    other = await make_database(tmp_path, "other")
    try:
        with other.bound():
            applied = [await apply_received(r.envelope, r.signature) for r in revisions[:2]]
            assert applied == [True, True]
            assert [await apply_received(r.envelope, r.signature) for r in revisions[:2]] == [
                False,
                False,
            ]
            received = await Collection.get(uid=collection.uid)
            assert (received.title, received.origin_node, received.deleted) == (
                "Paket",
                node.node_url,
                False,
            )
            assert (await Organisation.get(id=received.organisation_id)).slug == "kompetenzzentrum"  # type: ignore[attr-defined]
            assert (await Endorsement.get()).note == "Gut"
            assert await apply_received(
                revisions[2].envelope, revisions[2].signature
            )  # the tombstone
            assert (await Collection.get(uid=collection.uid)).deleted
            assert await Change.all().count() == 3  # relays pass them on
    finally:
        await other.close()
