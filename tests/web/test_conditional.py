"""Conditional GET: public answers carry an ETag; sending it back answers 304 until the state moves."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.conditional import etag_matches
from exchange.db import Database
from tests.web.accountkit import staff, web_client
from tests.web.webkit import KISSELBACH, Content, page_client, populate

JSON = {"Accept": "application/json"}
QUERY = {"query": "{ entries(first: 2) { totalCount edges { node { title } } } }"}


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


async def revalidate(client: httpx.AsyncClient, url: str, **kwargs: object) -> tuple[httpx.Response, httpx.Response]:
    first = await client.get(url, **kwargs)  # type: ignore[arg-type]
    assert first.status_code == 200, first.text
    tag = first.headers["etag"]
    headers = {**dict(kwargs.pop("headers", {}) or {}), "If-None-Match": tag}  # type: ignore[call-overload]
    return first, await client.get(url, headers=headers, **kwargs)  # type: ignore[arg-type]


async def publish_one(content: Content, title: str) -> str:
    me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
    entry = await content.node.catalogue.publish(me, EntryInput(kind="project", title=title, summary="Neu."))
    return str(entry.uid)


@pytest.mark.parametrize(("url", "params", "headers"), [
    ("/search", {"q": "Sensor"}, {}),
    ("/graphql", QUERY, JSON),
    ("/catalog.csv", {}, {}),
    ("/feeds/all.atom", {}, {}),
])
async def test_an_unchanged_state_answers_304_without_a_body(content: Content, db: Database, url: str,
                                                             params: dict[str, str], headers: dict[str, str]) -> None:
    async with page_client(content, db) as client:
        first, again = await revalidate(client, url, params=params, headers=headers)
        assert first.headers["cache-control"] == "no-cache" and first.headers["etag"].startswith('W/"')
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
        await publish_one(content, "Ein neuer Eintrag über Sensoren")
        after = await client.get(url, params=params, headers={**headers, "If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]
    if url != "/catalog.csv":
        assert "neuer Eintrag" in after.text or url == "/graphql" and after.json()["data"]["entries"]["totalCount"] \
            == first.json()["data"]["entries"]["totalCount"] + 1


async def test_a_withdrawal_and_a_review_move_the_tag(content: Content, db: Database) -> None:
    from exchange.curation.review import set_review_state

    async with page_client(content, db) as client:
        page = await client.get(f"/entries/{content.guide}")
        tag = page.headers["etag"]
        me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
        await content.node.catalogue.unpublish(me, content.project)
        assert (await client.get(f"/entries/{content.guide}", headers={"If-None-Match": tag})).status_code == 200
        tag = (await client.get(f"/entries/{content.guide}")).headers["etag"]
        curator = Actor(publisher=await find_publisher("kompetenzzentrum"), scopes=frozenset({"curate"}))
        await set_review_state(content.node.catalogue, curator, content.guide, "withdrawn")
        # the withdrawn guide is gone for readers: a cached copy must not be confirmed
        assert (await client.get(f"/entries/{content.guide}", headers={"If-None-Match": tag})).status_code == 404


async def test_personal_answers_are_never_tagged(content: Content, db: Database) -> None:
    people = await staff()
    async with page_client(content, db) as anonymous:
        tag = (await anonymous.get("/search")).headers["etag"]
        # another language is another representation
        assert (await anonymous.get("/search", headers={"Accept-Language": "en"})).headers["etag"] != tag
        # choosing the language sets a cookie: not tagged
        assert "etag" not in (await anonymous.get("/search", params={"lang": "en"})).headers
        assert "etag" not in (await anonymous.get("/signin")).headers
        bearer = await anonymous.get("/graphql", params=QUERY, headers={**JSON, "Authorization": f"Bearer {content.token}"})
        assert bearer.status_code == 200 and "etag" not in bearer.headers
    async with await web_client(content, db, people.people["editor"]) as editor:
        signed_in = await editor.get("/search", headers={"If-None-Match": tag})
        assert signed_in.status_code == 200 and "etag" not in signed_in.headers
        # a signed-in editor sees the draft: nothing of it may come from a shared cache
        assert "Geheimer Entwurf" in (await editor.get(f"/entries/{content.draft}")).text


def test_if_none_match_is_compared_weakly_and_as_a_list() -> None:
    assert etag_matches('"a", W/"b"', 'W/"b"') and etag_matches('W/"a"', 'W/"a"') and etag_matches("*", 'W/"x"')
    assert etag_matches('"b"', 'W/"b"')
    assert not etag_matches(None, 'W/"a"') and not etag_matches('W/"ab"', 'W/"a"') and not etag_matches("", 'W/"a"')
