"""revokeToken and apiTokens over HTTP: who may revoke what, and what a revoked or expired token gets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.auth import create_token
from exchange.db import Database
from exchange.models import ApiToken, WebSession
from tests.contract.conftest import operation
from tests.helpers import MUNICIPALITIES, client_for, seed

HERE = MUNICIPALITIES[0]["official_key"]
THERE = MUNICIPALITIES[1]["official_key"]


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    await seed(db)
    async with client_for(db, tmp_path) as c:
        yield c


async def new_token(key: str, *scopes: str, days: int | None = 365) -> tuple[str, str]:
    token, row = await create_token(key, list(scopes), now=datetime.now(UTC), valid_days=days)
    return token, str(row.id)


async def gql(client: httpx.AsyncClient, name: str, token: str | None, **variables: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": operation(name), "variables": variables}, headers=headers)


def code_of(r: httpx.Response) -> str:
    body = r.json()
    assert body.get("errors"), body
    return str(body["errors"][0]["extensions"]["code"])


async def test_a_token_revokes_itself_and_is_refused_from_then_on(client: httpx.AsyncClient) -> None:
    token, ident = await new_token(HERE, "publish")
    assert (await gql(client, "ApiTokens", token)).status_code == 200  # usable (FORBIDDEN, not UNAUTHENTICATED)
    r = await gql(client, "RevokeToken", token, id=ident)
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    revoked = r.json()["data"]["revokeToken"]["token"]
    assert revoked["id"] == ident and revoked["state"] == "REVOKED" and revoked["revokedAt"]
    assert revoked["prefix"] == token[:12]
    r = await client.post("/graphql", json={"query": "{ node { name } }"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and code_of(r) == "UNAUTHENTICATED"
    assert "revoked" in r.json()["errors"][0]["message"]


async def test_an_expired_token_is_refused_and_says_so(client: httpx.AsyncClient) -> None:
    token, ident = await new_token(HERE, "publish")
    await ApiToken.filter(id=int(ident)).update(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    r = await gql(client, "RevokeToken", token, id=ident)
    assert r.status_code == 401 and code_of(r) == "UNAUTHENTICATED"
    assert "expired" in r.json()["errors"][0]["message"]


async def test_only_an_admin_token_revokes_another(client: httpx.AsyncClient) -> None:
    mine, _ = await new_token(HERE, "publish")
    _, colleague = await new_token(HERE, "publish")
    admin, _ = await new_token(HERE, "admin")
    _, elsewhere = await new_token(THERE, "publish")
    r = await gql(client, "RevokeToken", mine, id=colleague)
    assert code_of(r) == "FORBIDDEN" and r.json()["data"] is None
    assert not (await ApiToken.get(id=int(colleague))).revoked
    revoked_at = {}
    for ident in (colleague, elsewhere):  # its own publisher's and another's
        r = await gql(client, "RevokeToken", admin, id=ident)
        assert r.json()["data"]["revokeToken"]["token"]["state"] == "REVOKED", r.text
        revoked_at[ident] = r.json()["data"]["revokeToken"]["token"]["revokedAt"]
    again = await gql(client, "RevokeToken", admin, id=colleague)  # revoking twice changes nothing
    assert again.json()["data"]["revokeToken"]["token"]["revokedAt"] == revoked_at[colleague]
    assert code_of(await gql(client, "RevokeToken", admin, id="99999")) == "NOT_FOUND"
    assert code_of(await gql(client, "RevokeToken", admin, id="abc")) == "BAD_USER_INPUT"
    assert code_of(await gql(client, "RevokeToken", None, id=colleague)) == "UNAUTHENTICATED"


async def test_admin_tokens_list_their_publishers_tokens_without_secrets(client: httpx.AsyncClient) -> None:
    publisher, _ = await new_token(HERE, "publish")
    admin, admin_id = await new_token(HERE, "admin")
    other, _ = await new_token(THERE, "admin")
    r = await gql(client, "ApiTokens", admin)
    listed = r.json()["data"]["apiTokens"]
    assert [t["prefix"] for t in listed] == [publisher[:12], admin[:12]]  # not THERE's token
    assert all(t["state"] == "ACTIVE" and t["expiresAt"] for t in listed)
    assert next(t for t in listed if t["id"] == admin_id)["lastUsedAt"]
    hashes = [row.token_hash for row in await ApiToken.all()]
    assert not any(secret in r.text for secret in (publisher, admin, other, *hashes))
    r = await client.post("/graphql", headers={"Authorization": f"Bearer {admin}"},
                          json={"query": "{ apiTokens { publisher { name ... on Municipality { officialKey } } } }"})
    assert {t["publisher"]["officialKey"] for t in r.json()["data"]["apiTokens"]} == {HERE}
    assert code_of(await gql(client, "ApiTokens", publisher)) == "FORBIDDEN"
    assert code_of(await gql(client, "ApiTokens", None)) == "UNAUTHENTICATED"


async def test_revoking_over_graphql_ends_the_web_session_of_the_token(client: httpx.AsyncClient) -> None:
    token, ident = await new_token(HERE, "publish")
    r = await client.get("/publish", headers={"Accept": "text/html"})
    csrf = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert csrf is not None
    r = await client.post("/publish/signin", data={"csrf": csrf.group(1), "token": token})
    assert r.status_code == 303 and await WebSession.filter(ended_at=None).count() == 1
    assert (await client.get("/publish/new", headers={"Accept": "text/html"})).status_code == 200
    await gql(client, "RevokeToken", token, id=ident)
    assert (await WebSession.get()).end_reason == "token ended"
    assert (await client.get("/publish/new", headers={"Accept": "text/html"})).status_code == 401
