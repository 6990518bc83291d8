"""A budget's currency on every path (catalogue, envelope, GraphQL, version diff), and the
migration that dates the single "actual" values of indicators written before measurements."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from exchange.catalogue import Catalogue
from exchange.db import Database
from exchange.goals import clean_goals
from exchange.models import Entry, Revision
from exchange.versiondiff import field_changes
from federation.envelopes import ContentError, entry_values
from federation.identity import NodeKey
from tests.exchange.test_catalogue import SMALL, actor_for, project
from tests.federation.fednodes import close_all, connect, make_nodes
from tests.helpers import client_for, seed, token_for

migration = __import__("migrations.0014_budget_currency_measurements", fromlist=["dated_goals", "forward"])


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    return Catalogue(signer=NodeKey.load_or_create(tmp_path / "node.key", "http://node-a.test"))


async def test_the_currency_is_stored_signed_and_read_back_by_a_peer(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    entry = await catalogue.publish(await actor_for(SMALL), project(budget_eur=80_000, budget_currency="chf"))
    assert (entry.budget_eur, entry.budget_currency) == (80_000, "CHF")
    envelope = (await Revision.get(entry_id=entry.id)).envelope
    # not under budget_eur, which a node that knows no currencies would show as euros
    assert "budget_eur" not in envelope["entry"]
    assert (envelope["entry"]["budget_amount"], envelope["entry"]["budget_currency"]) == (80_000, "CHF")
    assert (entry_values(envelope)["budget_eur"], entry_values(envelope)["budget_currency"]) == (80_000, "CHF")
    plain = await catalogue.publish(await actor_for(SMALL), project(budget_eur=5))
    assert plain.budget_currency == "EUR"  # the default
    euros = (await Revision.get(entry_id=plain.id)).envelope["entry"]
    assert (euros["budget_eur"], euros["budget_currency"]) == (5, "EUR") and "budget_amount" not in euros


async def test_an_amount_in_another_currency_keeps_it_across_two_nodes(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    try:
        await connect(a, b)
        uid = await b.publish("Grenzprojekt")
        await b.revise(uid, budget_eur=120_000, budget_currency="CHF")
        assert (await a.pull(b)).ok

        async def held() -> tuple[int | None, str]:
            entry = await Entry.get(uid=uuid.UUID(uid))
            return entry.budget_eur, entry.budget_currency
        assert await a.run(held) == (120_000, "CHF")
        await b.revise(uid, budget_eur=90_000, budget_currency="EUR")
        assert (await a.pull(b)).ok
        assert await a.run(held) == (90_000, "EUR")
    finally:
        await close_all(a, b)


def _envelope(**body: Any) -> dict[str, Any]:
    return {"type": "entry", "id": "urn:uuid:5b0c8a4e-4a8e-4a55-9a53-2a8f4f5c1d20", "origin": "http://b.test",
            "version": 1, "visibility": "public", "updatedAt": "2026-01-02T03:04:05+00:00",
            "entry": {"kind": "project", "title": "T", **body}}


def test_an_envelope_without_a_currency_is_in_euros_and_a_bad_one_is_refused() -> None:
    old = entry_values(_envelope(budget_eur=10))  # written before currencies
    assert (old["budget_eur"], old["budget_currency"]) == (10, "EUR")
    new = entry_values(_envelope(budget_amount=7, budget_currency="SEK"))
    assert (new["budget_eur"], new["budget_currency"]) == (7, "SEK")
    with pytest.raises(ContentError, match="budget_amount needs budget_currency"):
        entry_values(_envelope(budget_amount=7))
    with pytest.raises(ContentError, match="non-negative"):
        entry_values(_envelope(budget_amount=-7, budget_currency="SEK"))
    for bad in ("euro", "eur", 978, ""):
        with pytest.raises(ContentError, match="budget_currency"):
            entry_values(_envelope(budget_eur=10, budget_currency=bad))


def test_the_diff_shows_a_currency_only_where_it_changed() -> None:
    old = {"entry": {"budget_eur": 100}}  # written before currencies: euros
    assert field_changes(old, {"entry": {"budget_eur": 100, "budget_currency": "EUR"}}) == []
    [change] = field_changes(old, {"entry": {"budget_eur": 100, "budget_currency": "CHF"}})
    assert change.name == "budget_currency" and [(x.op, x.text) for x in change.lines] == [("-", "EUR"), ("+", "CHF")]
    [change] = field_changes(old, {"entry": {"budget_amount": 100, "budget_currency": "CHF"}})
    assert change.name == "budget_currency" and [(x.op, x.text) for x in change.lines] == [("-", "EUR"), ("+", "CHF")]


async def test_graphql_names_the_currency_and_gives_euros_only_in_euros(db: Database, tmp_path: Path) -> None:
    await seed(db)
    publish = ("mutation P($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id "
               "... on ProjectDescription { budgetEur budgetAmount budgetCurrency } } } }")
    base = {"kind": "PROJECT", "publisher": SMALL, "title": "Rathaus", "summary": "Kurz.", "bodyMarkdown": "Text"}
    async with client_for(db, tmp_path) as client:
        headers = {"authorization": f"Bearer {await token_for(SMALL)}"}

        async def send(**fields: object) -> dict[str, Any]:
            r = await client.post("/graphql", json={"query": publish, "variables": {"input": {**base, **fields}}},
                                  headers=headers)
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        body = await send(budgetAmount=250_000, budgetCurrency="DKK")
        assert body["data"]["publishEntry"]["entry"] == {
            "id": body["data"]["publishEntry"]["entry"]["id"], "budgetEur": None, "budgetAmount": 250_000,
            "budgetCurrency": "DKK"}
        body = await send(budgetEur=1_000)
        got = body["data"]["publishEntry"]["entry"]
        assert (got["budgetEur"], got["budgetAmount"], got["budgetCurrency"]) == (1_000, 1_000, "EUR")
        refused = await send(budgetEur=1, budgetAmount=2)
        assert "not both" in refused["errors"][0]["message"]
        refused = await send(budgetAmount=2, budgetCurrency="XEU")
        assert "XEU is not a currency" in refused["errors"][0]["message"]
        assert await Entry.all().count() == 2  # nothing half-saved


def test_an_undated_actual_becomes_one_measurement_dated_by_its_version() -> None:
    goals = [{"goal": "G", "indicators": [{"name": "a", "baseline": 0, "target": 60, "actual": 71},
                                          {"name": "b", "target": 3, "actual": None},
                                          {"name": "c", "actual": 4, "measurements": [{"date": "2024-01-01",
                                                                                        "value": 4.0}]}]}]
    dated = migration.dated_goals(goals, date(2025, 3, 4), "2023-01")
    assert [i.get("measurements") for i in dated[0]["indicators"]] == [
        [{"date": "2025-03-04", "value": 71.0}], None, [{"date": "2024-01-01", "value": 4.0}]]
    assert dated[0]["indicators"][0]["actual"] == 71  # kept: the latest measurement
    # not before the project started, so that a revision in the form accepts it
    assert migration.dated_goals(goals, date(2022, 5, 1), "2023-01")[0]["indicators"][0]["measurements"][0][
        "date"] == "2023-01-01"
    assert migration.dated_goals([{"goal": "G", "indicators": [{"name": "b", "actual": None}]}], date(2025, 1, 1),
                                 None) is None  # nothing to change
    # what the migration writes passes the rules a revision is checked by
    clean_goals(dated, period_start="2023-01", today=date(2026, 1, 1))


async def test_the_migration_dates_stored_actual_values(db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    entry = await catalogue.publish(await actor_for(SMALL), project(period_start="2023-01"))
    old = [{"goal": "Online", "indicators": [{"name": "Anträge", "baseline": 2, "target": 12, "actual": 9}]}]
    when = datetime(2025, 6, 30, 12, 0, tzinfo=entry.updated_at.tzinfo)
    await Entry.filter(id=entry.id).update(goals=old, updated_at=when)
    await migration.forward(None, SimpleNamespace(client=db.connection()))
    [indicator] = (await Entry.get(id=entry.id)).goals[0]["indicators"]
    assert indicator["measurements"] == [{"date": "2025-06-30", "value": 9.0}] and indicator["actual"] == 9
    await migration.forward(None, SimpleNamespace(client=db.connection()))  # a second run changes nothing
    assert json.dumps((await Entry.get(id=entry.id)).goals[0]["indicators"]) == json.dumps([indicator])
