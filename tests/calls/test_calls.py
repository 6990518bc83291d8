"""Calls for partners as entries: their terms, the rules for them, the envelope, the API."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from exchange.auth import Actor, authenticate
from exchange.calls import clean_terms, closing, received_terms
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from exchange.errors import ConflictError, FieldError, InvalidInputError
from exchange.models import Entry, Revision
from federation.envelopes import ContentError, entry_values
from federation.identity import NodeKey
from tests.helpers import NOW, client_for, seed, token_for

SMALL = "071405008068"  # Kisselbach
TOWN = "097800146146"  # Wiggensbach
LATER = (NOW.date() + timedelta(days=60)).isoformat()


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    return Catalogue(signer=NodeKey.load_or_create(tmp_path / "node.key", "http://node-a.test"), clock=lambda: NOW)


async def actor_for(key: str) -> Actor:
    return await authenticate(f"Bearer {await token_for(key)}", now=NOW)


def call(**terms: Any) -> EntryInput:
    return EntryInput(kind="call", title="Gemeinsame Beschaffung von Tablets für Räte",
                      summary="Wir suchen zwei Gemeinden für eine gemeinsame Ausschreibung.",
                      topics=["digitalisierung"],
                      call={"form": "joint_procurement", "region": "Rhein-Hunsrück-Kreis", "radius_km": 40,
                            "size_classes": ["Kleinstadt", "Landgemeinde"], "partners_wanted": 2,
                            "deadline": LATER, **terms})


async def test_a_call_is_published_with_its_terms_in_the_signed_envelope(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    entry = await catalogue.publish(await actor_for(SMALL), call())
    stored = await Entry.get(uid=entry.uid)
    assert stored.kind == "call"
    assert stored.call == {"form": "joint_procurement", "region": "Rhein-Hunsrück-Kreis", "radius_km": 40,
                           "centre_key": "", "size_classes": ["Landgemeinde", "Kleinstadt"], "partners_wanted": 2,
                           "deadline": LATER, "state": "open", "close_reason": ""}
    envelope = (await Revision.get(entry_id=entry.id, version=1)).envelope
    assert envelope["entry"]["call"] == stored.call
    # what a peer makes of the envelope: the same terms
    assert entry_values(envelope)["call"] == stored.call


async def test_other_kinds_carry_no_terms(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    actor = await actor_for(SMALL)
    project = await catalogue.publish(actor, EntryInput(kind="project", title="Rathaus", summary="Online."))
    assert "call" not in (await Revision.get(entry_id=project.id)).envelope["entry"]
    with pytest.raises(InvalidInputError, match="calls for partners only"):
        await catalogue.revise(actor, str(project.uid), 1, EntryInput(call={"partners_wanted": 3}))


@pytest.mark.parametrize(("terms", "field", "words"), [
    ({"deadline": "2026-11-20"}, "call.deadline", "in the past"),
    ({"deadline": "2026-13-01"}, "call.deadline", "is not a date"),
    ({"deadline": ""}, "call.deadline", "Please give a deadline"),
    ({"radius_km": 10_000}, "call.radius_km", "between 1 and 1000 km, not 10000"),
    ({"radius_km": 0}, "call.radius_km", "between 1 and 1000 km"),
    ({"form": "merger"}, "call.form", "form of cooperation"),
    ({"size_classes": ["Metropole"]}, "call.size_classes", "Metropole"),
    ({"partners_wanted": 0}, "call.partners_wanted", "between 1 and 100"),
])
async def test_bad_terms_name_the_field_and_store_nothing(
    db: Database, catalogue: Catalogue, terms: dict[str, Any], field: str, words: str
) -> None:
    await seed(db)
    with pytest.raises(FieldError, match=words) as caught:
        await catalogue.publish(await actor_for(SMALL), call(**terms))
    assert caught.value.field == field
    assert await Entry.filter(kind="call").count() == 0


async def test_closing_keeps_the_terms_and_tells_the_reason(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    actor = await actor_for(SMALL)
    entry = await catalogue.publish(actor, call())
    closed = await catalogue.revise(actor, str(entry.uid), 1,
                                    EntryInput(call=closing("call", entry.call, "filled", "Zwei Partner gefunden.")))
    assert closed.call is not None
    assert (closed.call["state"], closed.call["close_reason"], closed.call["radius_km"]) == (
        "filled", "Zwei Partner gefunden.", 40)
    with pytest.raises(ConflictError, match="closed already"):
        closing("call", closed.call, "withdrawn", "")
    with pytest.raises(InvalidInputError, match="only a call"):
        closing("project", None, "filled", "")


def test_a_closed_call_keeps_its_past_deadline_but_an_open_one_may_not_set_one() -> None:
    past = (date.today() - timedelta(days=3)).isoformat()
    closed = clean_terms({"deadline": past, "state": "withdrawn", "close_reason": "Haushalt"}, today=date.today())
    assert closed["deadline"] == past
    with pytest.raises(FieldError, match="in the past"):
        clean_terms({"deadline": past}, today=date.today())


def test_received_terms_are_checked_like_local_ones() -> None:
    assert received_terms({"deadline": "2020-01-01", "form": "pilot"})["form"] == "pilot"  # the origin judged the date
    for bad in ("open", {"radius_km": 5000, "deadline": "2030-01-01"}, {"spy": 1, "deadline": "2030-01-01"}):
        with pytest.raises(ValueError, match="call"):
            received_terms(bad)
    envelope = {"type": "entry", "id": "5d0b7c36-0bb2-4c39-a1a8-1b7a3e3c1a10", "origin": "http://b.test",
                "version": 1, "visibility": "public", "updatedAt": NOW.isoformat(),
                "entry": {"kind": "call", "title": "T", "call": {"radius_km": "far", "deadline": "2030-01-01"}}}
    with pytest.raises(ContentError, match="radius"):
        entry_values(envelope)


PUBLISH = """mutation($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id kind version
  ... on Call { form region radiusKm sizeClasses partnersWanted deadline state closeReason } } } }"""
CLOSE = """mutation($id: ID!, $reason: String!) { closeCall(id: $id, state: WITHDRAWN, reason: $reason) {
  entry { version ... on Call { state closeReason radiusKm } } } }"""
READ = """query($kinds: [EntryKind!]) { entries(filter: {kinds: $kinds}) { edges { node { __typename id
  ... on Call { state partnersWanted } } } } }"""


async def test_graphql_publishes_reads_and_closes_a_call(db: Database, tmp_path: Path) -> None:
    await seed(db)
    token = await token_for(SMALL)
    headers = {"Authorization": f"Bearer {token}"}
    async with client_for(db, tmp_path) as client:
        terms = {"form": "SHARED_SERVICE", "radiusKm": 30, "sizeClasses": ["Landgemeinde"], "partnersWanted": 3,
                 "deadline": "2099-01-31"}
        r = await client.post("/graphql", headers=headers, json={"query": PUBLISH, "variables": {"input": {
            "kind": "CALL", "title": "Ein Bauhof für drei Dörfer", "summary": "Gemeinsamer Bauhof.", "call": terms}}})
        entry = r.json()["data"]["publishEntry"]["entry"]
        assert entry["kind"] == "CALL"
        assert (entry["form"], entry["radiusKm"], entry["sizeClasses"], entry["partnersWanted"], entry["state"]) == (
            "SHARED_SERVICE", 30, ["Landgemeinde"], 3, "OPEN")
        r = await client.post("/graphql", json={"query": READ, "variables": {"kinds": ["CALL"]}})
        assert "errors" not in r.json(), r.json()
        assert [e["node"] for e in r.json()["data"]["entries"]["edges"]] == [
            {"__typename": "Call", "id": entry["id"], "state": "OPEN", "partnersWanted": 3}]
        r = await client.post("/graphql", json={"query": PUBLISH, "variables": {"input": {
            "kind": "CALL", "title": "Zu spät", "summary": "Frist vorbei.", "call": {**terms, "deadline": "2001-01-01"}}}},
            headers=headers)
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "in the past" in r.json()["errors"][0]["message"]
        r = await client.post("/graphql", headers=headers, json={"query": CLOSE, "variables": {
            "id": entry["id"], "reason": "Der Kreis übernimmt."}})
        assert r.json()["data"]["closeCall"]["entry"] == {
            "version": 2, "state": "WITHDRAWN", "closeReason": "Der Kreis übernimmt.", "radiusKm": 30}
        r = await client.post("/graphql", headers=headers, json={"query": CLOSE, "variables": {
            "id": entry["id"], "reason": "noch einmal"}})
        assert r.json()["errors"][0]["extensions"]["code"] == "CONFLICT"
        other = {"Authorization": f"Bearer {await token_for(TOWN)}"}
        r = await client.post("/graphql", headers=other, json={"query": CLOSE, "variables": {
            "id": entry["id"], "reason": "nicht meins"}})
        assert r.json()["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "PERMISSION_DENIED")
