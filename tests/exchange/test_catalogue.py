"""The catalogue service: publish, revise, unpublish, authorisation, bad input."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from exchange.auth import Actor, authenticate, find_publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from exchange.envelope import canonical_json
from exchange.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from exchange.models import Change, Entry, EntryTopic, Revision
from exchange.search import EntryQuery, find_entries
from federation.identity import NodeKey, verify
from tests.helpers import NOW, seed, token_for

SMALL = "071405008068"  # Kisselbach, a Landgemeinde
TOWN = "097800146146"  # Wiggensbach


@pytest.fixture
def key(tmp_path: Path) -> NodeKey:
    return NodeKey.load_or_create(tmp_path / "node.key", "http://node-a.test")


@pytest.fixture
def catalogue(key: NodeKey) -> Catalogue:
    return Catalogue(signer=key, max_body_bytes=10_000)


async def actor_for(key: str, scopes: tuple[str, ...] = ("publish",)) -> Actor:
    return await authenticate(f"Bearer {await token_for(key, scopes)}", now=NOW)


def project(**changes: object) -> EntryInput:
    values: dict[str, object] = {
        "kind": "project", "title": "Digitales Rathaus", "summary": "Zwölf Anträge online.",
        "body_markdown": "## Ziel\n\nAlles online.", "topics": ["buergerservice"], "language": "de",
        "status": "running", "goals": [{"goal": "Online", "indicators": [
            {"name": "Anträge online", "unit": "Anzahl", "baseline": 2, "target": 12, "actual": None}]}],
    }
    values.update(changes)
    return EntryInput(**values)  # type: ignore[arg-type]


async def test_publish_stores_entry_topics_signed_revision_and_change(
    db: Database, catalogue: Catalogue, key: NodeKey
) -> None:
    await seed(db)
    actor = await actor_for(SMALL)
    entry = await catalogue.publish(actor, project())
    assert entry.version == 1 and entry.origin_node == "http://node-a.test"
    assert await EntryTopic.filter(entry_id=entry.id).count() == 1
    rev = await Revision.get(entry_id=entry.id, version=1)
    assert verify(key.public_key_b64, canonical_json(rev.envelope), rev.signature)
    assert rev.envelope["entry"]["topics"] == ["buergerservice"]
    assert rev.envelope["entry"]["publisher"]["key"] == SMALL
    change = await Change.get(entry_uid=entry.uid)
    assert (change.version, change.visibility) == (1, "public")
    assert entry.goals[0]["indicators"][0]["target"] == 12.0


async def test_contact_person_never_enters_the_signed_envelope(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    entry = await catalogue.publish(
        await actor_for(SMALL),
        project(contact_role="Hauptamt", contact_email="digital@example.org", contact_person="Erika Muster"),
    )
    rev = await Revision.get(entry_id=entry.id)
    assert "Erika" not in canonical_json(rev.envelope).decode()
    assert rev.envelope["entry"]["contact_role"] == "Hauptamt"


async def test_revise_with_current_version_makes_version_two(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    actor = await actor_for(SMALL)
    entry = await catalogue.publish(actor, project())
    revised = await catalogue.revise(actor, str(entry.uid), 1, EntryInput(title="Digitales Rathaus 2.0"))
    assert revised.version == 2 and revised.title == "Digitales Rathaus 2.0"
    assert revised.summary == "Zwölf Anträge online."  # unchanged fields are kept
    assert await Revision.filter(entry_id=entry.id).count() == 2
    assert [c.version for c in await Change.filter(entry_uid=entry.uid).order_by("seq")] == [1, 2]
    # topics are kept when the revision does not name them
    assert await EntryTopic.filter(entry_id=entry.id).count() == 1


async def test_stale_revision_is_a_conflict_and_changes_nothing(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    actor = await actor_for(SMALL)
    entry = await catalogue.publish(actor, project())
    await catalogue.revise(actor, str(entry.uid), 1, EntryInput(title="Zweite Fassung"))
    with pytest.raises(ConflictError, match="version 2, not 1"):
        await catalogue.revise(actor, str(entry.uid), 1, EntryInput(title="Veraltete Fassung"))
    stored = await Entry.get(id=entry.id)
    assert stored.title == "Zweite Fassung" and stored.version == 2
    assert await Revision.filter(entry_id=entry.id).count() == 2


async def test_concurrent_revisions_of_one_version_let_exactly_one_win(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    actor = await actor_for(SMALL)
    entry = await catalogue.publish(actor, project())
    results = await asyncio.gather(
        *(catalogue.revise(actor, str(entry.uid), 1, EntryInput(title=f"Fassung {i}")) for i in range(4)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, ConflictError) for r in results if isinstance(r, Exception))
    assert (await Entry.get(id=entry.id)).version == 2


async def test_unpublish_leaves_a_signed_tombstone(db: Database, catalogue: Catalogue, key: NodeKey) -> None:
    await seed(db)
    actor = await actor_for(SMALL)
    entry = await catalogue.publish(actor, project())
    gone = await catalogue.unpublish(actor, str(entry.uid))
    assert gone.deleted and gone.version == 2
    rev = await Revision.get(entry_id=entry.id, version=2)
    assert rev.envelope["type"] == "tombstone"
    assert verify(key.public_key_b64, canonical_json(rev.envelope), rev.signature)
    page = await find_entries(EntryQuery(), None, first=10)
    assert page.entries == []
    with pytest.raises(ConflictError):
        await catalogue.revise(actor, str(entry.uid), 2, EntryInput(title="Wieder da"))
    with pytest.raises(ConflictError):
        await catalogue.unpublish(actor, str(entry.uid))


async def test_another_publishers_token_is_forbidden(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    entry = await catalogue.publish(await actor_for(SMALL), project())
    other = await actor_for(TOWN)
    with pytest.raises(PermissionDeniedError, match="Wiggensbach"):
        await catalogue.revise(other, str(entry.uid), 1, EntryInput(title="Übernommen"))
    with pytest.raises(PermissionDeniedError):
        await catalogue.unpublish(other, str(entry.uid))
    with pytest.raises(PermissionDeniedError):
        await catalogue.publish(other, project(), publisher_key=SMALL)


async def test_tokens_wrong_revoked_expired_or_without_scope(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    with pytest.raises(UnauthenticatedError):
        await authenticate("Bearer exg_not-a-token", now=NOW)
    with pytest.raises(UnauthenticatedError, match="Bearer"):
        await authenticate("Basic abc", now=NOW)
    from datetime import timedelta

    from exchange.auth import create_token
    from exchange.models import ApiToken

    token, row = await create_token(SMALL, ["publish"], now=NOW, valid_days=1)
    assert (await authenticate(f"Bearer {token}", now=NOW)).publisher is not None
    with pytest.raises(UnauthenticatedError, match="expired"):
        await authenticate(f"Bearer {token}", now=NOW + timedelta(days=2))
    await ApiToken.filter(id=row.id).update(revoked=True)
    with pytest.raises(UnauthenticatedError, match="revoked"):
        await authenticate(f"Bearer {token}", now=NOW)
    curator = await actor_for(SMALL, ("curate",))
    with pytest.raises(PermissionDeniedError, match="publish"):
        await catalogue.publish(curator, project())
    with pytest.raises(UnauthenticatedError):
        await catalogue.publish(Actor(), project())
    assert await ApiToken.filter(token_hash=token).count() == 0  # only the hash is stored


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "   "}, "title: Please fill in this field"),
        ({"title": "x" * 301}, "at most 300"),
        ({"summary": ""}, "summary: Please fill in this field"),
        ({"language": "fr"}, "language must be one of"),
        ({"visibility": "secret"}, "visibility must be one of"),
        ({"topics": ["no-such-topic"]}, "unknown topic"),
        ({"status": "dreaming"}, "status must be one of"),
        ({"period_start": "2024-13"}, "period_start: Please give a month"),
        ({"budget_eur": -5}, "budget_eur: The budget cannot be negative"),
        ({"budget_eur": 5, "budget_currency": "DM"}, "budget_currency: DM is not a currency this node offers"),
        ({"goals": [{"goal": ""}]}, "goals.0.goal: Please describe the goal"),
        ({"goals": [{"goal": "x", "indicators": [{"name": "y", "target": "viel"}]}]}, "goals.0.indicators.0.target: Please give a number, not viel"),
        ({"contact_email": "not an address"}, "not an e-mail address"),
        ({"body_markdown": "ä" * 6000}, "bytes long"),
        ({"kind": "essay"}, "kind must be one of"),
        ({"project_id": "not-a-uuid", "kind": "lesson", "status": None, "goals": None}, "not an entry id"),
        ({"links": [{"relation": "likes", "target": "x"}]}, "link relation"),
        ({"license": "Namensnennung"}, "license: Namensnennung is not a licence an entry may carry"),
        ({"period_start": "2024-05", "period_end": "2024-04"}, "period_end: The project cannot end before it starts"),
        ({"goals": [{"goal": "x", "indicators": [{"name": "y", "baseline": 3, "target": 3}]}]},
         "goals.0.indicators.0.target: The target equals the baseline"),
        ({"goals": [{"goal": "x", "indicators": [{"name": "y", "measurements": [{"date": "2999-01-01", "value": 1}]}]}]},
         "cannot lie in the future"),
        ({"period_start": "2024-05", "goals": [{"goal": "x", "indicators": [
            {"name": "y", "measurements": [{"date": "2024-04-30", "value": 1}]}]}]}, "before the project started"),
        ({"checklist": ["item"] * 1000}, "checklist: A checklist holds at most 100 items, not 1000"),
        ({"contact_role": "Frau Dr. Erika Mustermann"}, "contact_role: This looks like a person \\(Frau\\)"),
        ({"contact_role": "Bauamt, Herr Schulze"}, "contact_role: This looks like a person \\(Herr\\)"),
        ({"contact_role": "Mr. John Smith"}, "contact_role: This looks like a person"),
        ({"contact_role": "Erika Mustermann"}, "contact_role: This looks like a person \\(Erika Mustermann\\)"),
        ({"contact_email": "erika.mustermann@example.org"}, "contact_email: erika.mustermann@example.org looks like a"),
    ],
)
async def test_bad_input_is_refused_with_a_clear_message_and_nothing_stored(
    db: Database, catalogue: Catalogue, changes: dict[str, object], message: str
) -> None:
    await seed(db)
    with pytest.raises(InvalidInputError, match=message):
        await catalogue.publish(await actor_for(SMALL), project(**changes))
    assert await Entry.all().count() == 0
    assert await Change.all().count() == 0


async def test_hostile_markdown_is_rendered_inert(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    body = (
        "<script>window.__xss=1</script>\n\n[klick](javascript:alert(1))\n\n"
        '<img src=x onerror="alert(1)">\n\n[daten](data:text/html;base64,PHNjcmlwdD4=)'
    )
    entry = await catalogue.publish(await actor_for(SMALL), project(body_markdown=body))
    html = entry.body_html.lower()
    tags = re.findall(r"<[a-z][^>]*>", html)  # real tags only; escaped text is inert
    assert not any(t.startswith(("<script", "<img")) for t in tags)
    assert not any(re.search(r"\son\w+=", t) for t in tags)
    assert not any("javascript:" in t or "data:" in t for t in tags)
    assert "<p>klick</p>" in html  # the link text survives, the link does not
    assert entry.body_markdown == body  # the author's text is kept as written


async def test_lesson_links_to_its_project(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    actor = await actor_for(SMALL)
    proj = await catalogue.publish(actor, project())
    lesson = await catalogue.publish(actor, EntryInput(
        kind="lesson", title="Was wir lernten", summary="Früh anfangen.", project_id=str(proj.uid),
        what_worked="Schulungen", what_did_not="Zeitplan"))
    assert lesson.project_uid == proj.uid
    with pytest.raises(InvalidInputError, match="not a project"):
        await catalogue.publish(actor, EntryInput(
            kind="lesson", title="x", summary="y", project_id=str(lesson.uid)))


async def test_drafts_are_seen_by_their_publisher_only(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    owner = await actor_for(SMALL)
    draft = await catalogue.publish(owner, project(visibility="draft"))
    assert (await catalogue.get(draft.uid, owner)).title == "Digitales Rathaus"
    with pytest.raises(NotFoundError):
        await catalogue.get(draft.uid, None)
    with pytest.raises(NotFoundError):
        await catalogue.get(draft.uid, await actor_for(TOWN))
    assert (await find_entries(EntryQuery(), None, first=10)).entries == []
    assert len((await find_entries(EntryQuery(), owner, first=10)).entries) == 1


async def test_unknown_publisher_keys_name_the_problem(db: Database) -> None:
    await seed(db)
    with pytest.raises(NotFoundError, match="999999999999"):
        await find_publisher("999999999999")
    with pytest.raises(InvalidInputError, match="not a 12-digit ARS"):
        await find_publisher("1234")
    with pytest.raises(NotFoundError, match="no organisation"):
        await find_publisher("no-such-org")
    assert (await find_publisher("07140068")).key == SMALL  # AGS works too
