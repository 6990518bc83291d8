"""The authorisation table: every mutation and every state-changing page, for every role.

One parametrised table per surface. Rows are actions on Kisselbach (or on
the Kompetenzzentrum for curation); columns are who tries: nobody, an
editor of another publisher (Wiggensbach), an editor, a publisher-admin, a
curator of an organisation, the node's operator, and an ended credential (a
revoked token for the API, a session past its lifetime for the pages).
Each cell is exactly the outcome expected: ok, or the error code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.catalogue import utcnow
from exchange.db import Database
from exchange.models import Entry
from exchange.tokens import find_token, revoke
from tests.helpers import token_for
from tests.web.accountkit import ORG, Staff, staff, web_client
from tests.web.test_publish import csrf_of
from tests.web.webkit import KISSELBACH, Content, page_client, populate

ROLES = ("anonymous", "other editor", "editor", "publisher-admin", "curator", "operator", "ended")
OK, UN, NO, BAD = "ok", "UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT"


@dataclass
class World:
    content: Content
    db: Database
    staff: Staff
    service_token_id: int


@pytest.fixture
async def world(db: Database, tmp_path: Path) -> World:
    content = await populate(db, tmp_path)
    people = await staff()
    service = await find_token(content.token[:12])  # Kisselbach's token from before people had accounts
    return World(content, db, people, service.id)


# ---------------------------------------------------------------- the API

PUBLISH = """mutation($p: String!) { publishEntry(input: {kind: PROJECT, title: "Neu", summary: "S",
  bodyMarkdown: "B", topics: ["digitalisierung"], language: "de", visibility: PUBLIC, publisher: $p}) { entry { id } } }"""
REVISE = """mutation($id: ID!) { reviseEntry(input: {id: $id, expectedVersion: 1, title: "Neu"}) { entry { id } } }"""
UNPUBLISH = """mutation($id: ID!) { unpublishEntry(id: $id) { entry { id } } }"""
ENDORSE = """mutation($id: ID!) { endorseEntry(id: $id, note: "gut") { note } }"""
MOVE = """mutation($id: ID!) { moveGuide(id: $id, to: WITHDRAWN) { entry { id } } }"""
CREATE_TOKEN = """mutation($p: String!) { createApiToken(publisher: $p, label: "Skript") { token } }"""
REVOKE = """mutation($id: ID!) { revokeToken(id: $id) { token { id } } }"""
INVITE = """mutation($p: String!) { invitePerson(email: "neu@kisselbach.example", publisher: $p, role: "editor")
  { email } }"""
ROLE = """mutation($id: ID!) { changeRole(membershipId: $id, role: "publisher-admin") { role } }"""
REMOVE = """mutation($id: ID!) { removeMembership(membershipId: $id) { role } }"""


def api_variables(w: World, name: str) -> dict[str, Any]:
    return {
        "publishEntry": {"p": KISSELBACH}, "reviseEntry": {"id": w.content.project},
        "unpublishEntry": {"id": w.content.lesson}, "endorseEntry": {"id": w.content.project},
        "moveGuide": {"id": w.content.guide}, "createApiToken": {"p": KISSELBACH},
        "revokeToken": {"id": str(w.service_token_id)}, "invitePerson": {"p": KISSELBACH},
        "changeRole": {"id": str(w.staff.memberships["editor"])},
        "removeMembership": {"id": str(w.staff.memberships["editor"])},
    }[name]


#            anonymous other  editor admin  curator operator revoked token
API_TABLE = [
    ("publishEntry", PUBLISH, (UN, NO, OK, OK, NO, NO, UN)),
    ("reviseEntry", REVISE, (UN, NO, OK, OK, NO, NO, UN)),
    ("unpublishEntry", UNPUBLISH, (UN, NO, OK, OK, NO, NO, UN)),
    ("endorseEntry", ENDORSE, (UN, NO, NO, NO, OK, NO, UN)),
    ("moveGuide", MOVE, (UN, NO, NO, NO, OK, NO, UN)),
    ("createApiToken", CREATE_TOKEN, (UN, NO, OK, OK, NO, NO, UN)),
    ("revokeToken", REVOKE, (UN, NO, NO, OK, NO, OK, UN)),
    ("invitePerson", INVITE, (UN, NO, NO, OK, NO, OK, UN)),
    ("changeRole", ROLE, (UN, NO, NO, OK, NO, OK, UN)),
    ("removeMembership", REMOVE, (UN, NO, NO, OK, NO, OK, UN)),
]


async def api_token_of(w: World, role: str) -> str | None:
    if role == "anonymous":
        return None
    if role == "ended":
        token = w.staff.tokens["editor"]
        await revoke(await find_token(token[:12]), now=utcnow())
        return token
    return w.staff.tokens[role]


@pytest.mark.parametrize(("role", "expected_index"), [(r, i) for i, r in enumerate(ROLES)])
@pytest.mark.parametrize(("name", "query", "expected"), API_TABLE, ids=[row[0] for row in API_TABLE])
async def test_every_mutation_for_every_role(
    world: World, name: str, query: str, expected: tuple[str, ...], role: str, expected_index: int
) -> None:
    token = await api_token_of(world, role)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with page_client(world.content, world.db) as client:
        r = await client.post("/graphql", json={"query": query, "variables": api_variables(world, name)},
                              headers=headers)
    body = r.json()
    errors = body.get("errors") or []
    outcome = errors[0]["extensions"]["code"] if errors else OK
    assert outcome == expected[expected_index], f"{name} as {role}: {errors or body}"


# ---------------------------------------------------------------- the pages

Post = Callable[[World, httpx.AsyncClient, str], Awaitable[httpx.Response]]


async def edit_project(w: World, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await c.post(f"/publish/{w.content.project}/edit", data={
        "csrf": csrf, "title": "Neu", "summary": "S", "body_markdown": "B", "language": "de",
        "visibility": "public", "version": "1", "topics": "digitalisierung", "action": "save"})


async def new_entry(w: World, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await c.post("/publish/new", data={
        "csrf": csrf, "kind": "project", "title": "Neu", "summary": "S", "body_markdown": "B",
        "language": "de", "visibility": "public", "status": "planned", "action": "save"})


async def create_token(w: World, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await c.post("/account/tokens", data={"csrf": csrf, "publisher": KISSELBACH, "label": "Skript",
                                                 "scopes": "publish", "days": "30"})


async def revoke_token(w: World, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await c.post(f"/account/tokens/{w.service_token_id}/revoke", data={"csrf": csrf})


async def invite(w: World, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await c.post(f"/publishers/{KISSELBACH}/people/invite",
                        data={"csrf": csrf, "email": "neu@kisselbach.example", "role": "editor"})


async def change_role(w: World, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await c.post(f"/publishers/{KISSELBACH}/people/{w.staff.memberships['editor']}/role",
                        data={"csrf": csrf, "role": "publisher-admin"})


async def remove(w: World, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await c.post(f"/publishers/{KISSELBACH}/people/{w.staff.memberships['editor']}/remove",
                        data={"csrf": csrf})


async def add_peer(w: World, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await c.post("/operator/peers", data={"csrf": csrf, "url": "ftp://nowhere.example"})


async def signout_everywhere(w: World, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await c.post("/account/signout-everywhere", data={"csrf": csrf})


#            anonymous other  editor admin  curator operator expired session
WEB_TABLE: list[tuple[str, Post, tuple[str, ...]]] = [
    ("revise an entry", edit_project, (UN, NO, OK, OK, NO, NO, UN)),
    ("publish a new entry", new_entry, (UN, OK, OK, OK, OK, NO, UN)),
    ("create a personal token", create_token, (UN, NO, OK, OK, NO, NO, UN)),
    ("revoke a token of the publisher", revoke_token, (UN, NO, NO, OK, NO, OK, UN)),
    ("invite", invite, (UN, NO, NO, OK, NO, OK, UN)),
    ("change a role", change_role, (UN, NO, NO, OK, NO, OK, UN)),
    ("remove a member", remove, (UN, NO, NO, OK, NO, OK, UN)),
    ("add a peer", add_peer, (UN, NO, NO, NO, NO, BAD, UN)),
    ("sign out everywhere", signout_everywhere, (UN, OK, OK, OK, OK, OK, UN)),
]
STATUS = {200: OK, 303: OK, 400: BAD, 401: UN, 403: NO}


@pytest.mark.parametrize(("role", "expected_index"), [(r, i) for i, r in enumerate(ROLES)])
@pytest.mark.parametrize(("name", "post", "expected"), WEB_TABLE, ids=[row[0] for row in WEB_TABLE])
async def test_every_state_changing_page_for_every_role(
    world: World, name: str, post: Post, expected: tuple[str, ...], role: str, expected_index: int
) -> None:
    person = None if role == "anonymous" else world.staff.people["editor" if role == "ended" else role]
    async with await web_client(world.content, world.db, person, expired=role == "ended") as client:
        csrf = csrf_of((await client.get("/signin")).text)
        r = await post(world, client, csrf)
    outcome = STATUS.get(r.status_code, str(r.status_code))
    assert outcome == expected[expected_index], f"{name} as {role}: {r.status_code} {r.text[:300]}"
    if outcome != OK and name.startswith(("revise", "publish")):
        assert await Entry.filter(title="Neu").count() == 0, "a refused write changed nothing"


async def test_a_refused_invitation_creates_nothing(world: World) -> None:
    from exchange.accounts.models import AuditEvent, Invitation

    async with await web_client(world.content, world.db, world.staff.people["editor"]) as client:
        csrf = csrf_of((await client.get("/signin")).text)
        assert (await invite(world, client, csrf)).status_code == 403
    assert await Invitation.all().count() == 0
    assert await AuditEvent.filter(action="invited").count() == 0


async def test_a_service_token_from_before_accounts_keeps_working(world: World) -> None:
    token = await token_for(KISSELBACH)
    async with page_client(world.content, world.db) as client:
        r = await client.post("/graphql", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                              json={"query": PUBLISH, "variables": {"p": KISSELBACH}})
    assert "errors" not in r.json(), r.json()
    assert ORG  # the curator's organisation is part of the table's world
