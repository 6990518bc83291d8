"""Input rules: characters XML 1.0 forbids are refused at publish and revise, naming the field.

Entries become Atom feeds and RDF/XML here and on every peer; a NUL byte or an
unpaired surrogate must be a clear BAD_USER_INPUT, never stored and never a
masked internal error.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.errors import InvalidInputError
from exchange.models import Entry
from tests.exchange.test_catalogue import SMALL, actor_for, project
from tests.helpers import client_for, seed, token_for

PUBLISH = ("mutation P($input: PublishEntryInput!) { publishEntry(input: $input) "
           "{ entry { id title } } }")


def _raw_json(payload: dict[str, object]) -> bytes:
    """JSON as a client may send it: a lone surrogate as a \\u escape (httpx cannot encode it)."""
    return json.dumps(payload, ensure_ascii=True).encode("ascii")


async def _publish(client: httpx.AsyncClient, token: str, **fields: object) -> dict[str, object]:
    variables = {"input": {"kind": "PROJECT", "publisher": SMALL, "title": "Rathaus", "summary": "Kurz.",
                           "bodyMarkdown": "Text", **fields}}
    r = await client.post("/graphql", content=_raw_json({"query": PUBLISH, "variables": variables}),
                          headers={"content-type": "application/json", "authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("field, value, named", [
    ("title", "Rat\x00haus", "title contains U+0000 (NUL) at position 4"),
    ("summary", "escape \x1b[31m", "summary contains U+001B (ESC)"),
    ("bodyMarkdown", "lone \ud800 surrogate", "body_markdown contains U+D800 (unpaired surrogate)"),
    ("keywords", ["gut", "b\x08ad"], "keywords[1] contains U+0008"),
    ("title", "\uffff", "title contains U+FFFF"),
])
async def test_graphql_publish_refuses_forbidden_characters(
    db: Database, tmp_path: Path, field: str, value: object, named: str
) -> None:
    await seed(db)
    token = await token_for(SMALL)
    async with client_for(db, tmp_path) as client:
        body = await _publish(client, token, **{field: value})
        (error,) = body["errors"]  # type: ignore[misc]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert named in error["message"], error["message"]
        assert await Entry.all().count() == 0
        feed = await client.get("/feeds/all.atom")
        ET.fromstring(feed.content)  # well-formed


async def test_tab_newline_and_umlauts_are_fine(db: Database, tmp_path: Path) -> None:
    await seed(db)
    async with client_for(db, tmp_path) as client:
        body = await _publish(client, await token_for(SMALL), title="Größe\tund Maß", bodyMarkdown="a\r\nb")
        assert "errors" not in body, body
        assert body["data"]["publishEntry"]["entry"]["title"] == "Größe\tund Maß"  # type: ignore[index]


async def test_revise_refuses_forbidden_characters_in_any_field(db: Database, tmp_path: Path) -> None:
    from exchange.catalogue import Catalogue
    from federation.identity import NodeKey

    await seed(db)
    catalogue = Catalogue(signer=NodeKey.load_or_create(tmp_path / "k", "http://node-a.test"))
    actor = await actor_for(SMALL)
    entry = await catalogue.publish(actor, project())
    bad = [{"goal": "Online", "indicators": [{"name": "Anträge\x00", "target": 1}]}]
    with pytest.raises(InvalidInputError, match=r"goals\[0\]\.indicators\[0\]\.name contains U\+0000"):
        await catalogue.revise(actor, str(entry.uid), 1, EntryInput(goals=bad))
    with pytest.raises(InvalidInputError, match="note contains U"):
        await catalogue.revise(actor, str(entry.uid), 1, EntryInput(title="Neu"), note="x\x07")
    assert (await Entry.get(id=entry.id)).version == 1
