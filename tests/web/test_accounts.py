"""People on a node: who did what, what stays local, roles that count on the next request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from exchange.accounts.models import AuditEvent, Membership, Person
from exchange.db import Database
from exchange.models import Entry, Revision
from exchange.settings import Settings
from tests.exchange.test_cli import run
from tests.web.accountkit import Staff, staff, web_client
from tests.web.test_publish import csrf_of
from tests.web.webkit import KISSELBACH, Content, page_client, populate

NAME, EMAIL = "Erika Mustermann-Geheim", "erika.geheim@kisselbach.example"


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def people(content: Content) -> AsyncIterator[Staff]:
    s = await staff()
    await Person.filter(id=s.people["editor"].id).update(display_name=NAME, email=EMAIL)
    s.people["editor"] = await Person.get(id=s.people["editor"].id)
    yield s


async def publish_as_editor(content: Content, db: Database, people: Staff) -> str:
    async with await web_client(content, db, people.people["editor"]) as client:
        csrf = csrf_of((await client.get("/publish/new")).text)
        r = await client.post("/publish/new", data={
            "csrf": csrf, "kind": "project", "title": "Bürgerbus per App", "summary": "Rufbus.",
            "body_markdown": "Text.", "language": "de", "visibility": "public", "status": "running",
            "action": "save"})
        assert r.status_code == 303, r.text
        return r.headers["location"].split("/entries/")[1].split("?")[0]


async def test_a_revision_records_the_person_and_editors_of_the_publisher_see_who_changed_it(
    content: Content, db: Database, people: Staff
) -> None:
    uid = await publish_as_editor(content, db, people)
    entry = await Entry.get(uid=uid)
    revision = await Revision.get(entry_id=entry.id)
    assert revision.person_id == people.people["editor"].id
    assert revision.author == f"municipality:{KISSELBACH}"  # the publisher, as before
    async with await web_client(content, db, people.people["publisher-admin"]) as colleague:
        page = (await colleague.get(f"/entries/{uid}")).text
    assert "changed by Erika Mustermann-Geheim on" in page or "geändert von Erika Mustermann-Geheim am" in page
    for someone in (people.people["other editor"], None):
        async with await web_client(content, db, someone) as outsider:
            page = (await outsider.get(f"/entries/{uid}")).text
        assert NAME not in page, "only editors of the publisher see who changed an entry"


async def test_nothing_personal_enters_an_envelope_a_feed_or_an_export(
    content: Content, db: Database, people: Staff
) -> None:
    uid = await publish_as_editor(content, db, people)
    entry = await Entry.get(uid=uid)
    revision = await Revision.get(entry_id=entry.id)
    surfaces = {"envelope": json.dumps(revision.envelope, ensure_ascii=False)}
    async with page_client(content, db) as client:
        for path, accept in (("/feeds/all.atom", "application/atom+xml"), ("/catalog.jsonl", "*/*"),
                             ("/catalog.csv", "*/*"), ("/catalog", "text/turtle"),
                             (f"/feeds/publishers/{KISSELBACH}.atom", "application/atom+xml"),
                             (f"/entries/{uid}.md", "text/markdown")):
            r = await client.get(path, headers={"Accept": accept})
            assert r.status_code == 200, path
            surfaces[path] = r.text
    assert "Bürgerbus per App" in surfaces["/catalog.jsonl"]  # the entry is there ...
    for where, text in surfaces.items():
        for personal in (NAME, EMAIL, "Mustermann", f"person {people.people['editor'].id}"):
            assert personal not in text, f"{personal!r} leaked into {where}"  # ... its writer is not


async def test_a_removed_membership_counts_from_the_next_request(content: Content, db: Database, people: Staff) -> None:
    editor = people.people["editor"]
    token = people.tokens["editor"]
    async with await web_client(content, db, editor) as browser, page_client(content, db) as api:
        assert (await browser.get("/publish/new")).status_code == 200
        query = {"query": "{ viewer { name scopes publisher { name } } }"}
        before = (await api.post("/graphql", json=query, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})).json()
        assert before.get("data", {}).get("viewer", {}).get("scopes") == ["publish"], before
        await Membership.filter(id=people.memberships["editor"]).delete()
        assert (await browser.get("/publish/new")).status_code == 403  # signed in, but no longer writes
        after = (await api.post("/graphql", json=query, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})).json()
        assert after["data"]["viewer"] == {"name": NAME, "scopes": [], "publisher": None}


async def test_a_personal_token_never_carries_more_than_the_role(content: Content, db: Database, people: Staff) -> None:
    admin_token = people.tokens["publisher-admin"]
    async with page_client(content, db) as api:
        query = {"query": "{ viewer { scopes memberships { role } } }"}
        headers = {"Authorization": f"Bearer {admin_token}", "Accept": "application/json"}
        assert (await api.post("/graphql", json=query, headers=headers)).json()["data"]["viewer"] == {
            "scopes": ["admin", "publish"], "memberships": [{"role": "publisher-admin"}]}
        await Membership.filter(id=people.memberships["publisher-admin"]).update(role="editor")
        assert (await api.post("/graphql", json=query, headers=headers)).json()["data"]["viewer"] == {
            "scopes": ["publish"], "memberships": [{"role": "editor"}]}
        wider = {"query": f'mutation {{ createApiToken(publisher: "{KISSELBACH}", label: "x", scopes: ["admin"]) {{ token }} }}'}
        r = (await api.post("/graphql", json=wider, headers=headers)).json()
        assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN" and "admin" in r["errors"][0]["message"]


async def test_operators_read_the_audit_log_and_others_do_not(content: Content, db: Database, people: Staff) -> None:
    async with await web_client(content, db, people.people["publisher-admin"]) as admin:
        csrf = csrf_of((await admin.get(f"/publishers/{KISSELBACH}/people")).text)
        r = await admin.post(f"/publishers/{KISSELBACH}/people/{people.memberships['editor']}/role",
                             data={"csrf": csrf, "role": "publisher-admin"})
        assert r.status_code == 303
        assert (await admin.get("/operator/audit")).status_code == 403
    async with await web_client(content, db, people.people["operator"]) as operator:
        page = (await operator.get("/operator/audit")).text
    assert "role changed" in page and EMAIL in page and "editor -&gt; publisher-admin" in page
    assert "token created" in page and "operator added" in page
    assert await AuditEvent.filter(action="role changed").count() == 1


async def test_sign_out_everywhere_ends_every_session_of_the_person(content: Content, db: Database, people: Staff) -> None:
    editor = people.people["editor"]
    async with await web_client(content, db, editor) as first, await web_client(content, db, editor) as second:
        page = (await first.get("/account")).text
        assert page.count("Angemeldet am") + page.count("Signed in on") == 2
        r = await first.post("/account/signout-everywhere", data={"csrf": csrf_of(page)})
        assert r.status_code == 303
        assert (await second.get("/account")).status_code == 401


def test_operators_add_makes_the_first_operator(tmp_path: Path) -> None:
    added = run(tmp_path, "operators", "add", "Chefin@Landkreis.example", "--name", "Chefin")
    assert added.returncode == 0, added.stderr
    assert "chefin@landkreis.example added as a new person" in added.stdout and "/signin" in added.stdout
    listed = run(tmp_path, "operators", "list")
    assert listed.stdout.strip() == "chefin@landkreis.example  Chefin"
    bad = run(tmp_path, "operators", "add", "not-an-address")
    assert bad.returncode != 0 and "is not an e-mail address" in bad.stderr and "Traceback" not in bad.stderr


async def test_an_operator_finds_a_publisher_by_its_name(content: Content, db: Database, people: Staff) -> None:
    async with await web_client(content, db, people.people["operator"]) as operator:
        r = await operator.get("/operator/people/go", params={"key": "kisselb"})
        assert r.status_code == 303 and r.headers["location"] == f"/publishers/{KISSELBACH}/people"
        r = await operator.get("/operator/people/go", params={"key": "kompetenz"})
        assert r.status_code == 303 and r.headers["location"] == "/publishers/kompetenzzentrum/people"
        r = await operator.get("/operator/people/go", params={"key": "Atlantis", "lang": "en"})
        assert r.status_code == 404 and "No municipality or organisation is called “Atlantis”" in r.text
        r = await operator.get("/operator/people/go", params={"key": " "})
        assert r.status_code == 400 and 'aria-invalid="true"' in r.text
    async with await web_client(content, db, people.people["publisher-admin"]) as admin:
        assert (await admin.get("/operator/people/go", params={"key": "kisselb"})).status_code == 403


async def test_roles_are_named_in_the_readers_language(content: Content, db: Database, people: Staff) -> None:
    async with await web_client(content, db, people.people["publisher-admin"]) as admin:
        german = (await admin.get(f"/publishers/{KISSELBACH}/people", params={"lang": "de"})).text
        english = (await admin.get(f"/publishers/{KISSELBACH}/people", params={"lang": "en"})).text
    assert "Redakteur:in" in german and "Administrator:in" in german and "publisher-admin</" not in german
    assert ">administrator</option>" in english and ">publisher-admin</option>" not in english


async def test_an_operator_is_asked_to_name_a_node_that_has_the_default_name(
        content: Content, db: Database, people: Staff) -> None:
    prompt = "Dieser Knoten heißt noch „Exchange node“"
    content.node.settings = replace(content.node.settings, node_name=Settings().node_name)  # never set
    async with await web_client(content, db, people.people["operator"]) as operator:
        page = (await operator.get("/account")).text
        assert prompt in page and "node_name in exchange.toml" in page
        assert "still called “Exchange node”" in (await operator.get("/account", params={"lang": "en"})).text
    async with await web_client(content, db, people.people["publisher-admin"]) as admin:
        assert prompt not in (await admin.get("/account")).text  # only the operator can set it
    content.node.settings = replace(content.node.settings, node_name="Digitalbörse Nordhessen")
    async with await web_client(content, db, people.people["operator"]) as operator:
        assert "Dieser Knoten heißt noch" not in (await operator.get("/account")).text
