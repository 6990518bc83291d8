"""The sync's helper: signatures and renderings made beside the database change nothing.

The pure half (`work_for`, `compute`, `prepared`) is compared with the inline
functions on real-ish Markdown; `render_input` with what storing renders. A
sync over several pages with a helper stores exactly what a sync without one
stores (HTML, search terms, revisions), still refuses a bad signature, and
goes on in one process when the helper cannot start. One test runs a real
worker process.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from content import render
from exchange.db import Database
from exchange.models import Entry, Peer, Revision
from federation.client import PeerClient
from federation.envelopes import entry_values
from federation.identity import NodeKey, verify
from federation.prepare import (
    NOTHING,
    RENDERED_FIELDS,
    Helper,
    Prepared,
    Work,
    compute,
    prepared,
    render_input,
    work_for,
)
from federation.protocol import ChangeBatch, ChangeItem, SignedEnvelope
from federation.signing import sign_envelope
from federation.sync import Syncer
from tests.conftest import make_database
from tests.helpers import seed

PEER = "http://peer.test"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

BODIES = [
    "## Ausgangslage\n\nDie Verwaltung wollte Anträge **online** annehmen.\n\n- Bürgerservice\n- Bauamt\n",
    ("Siehe [Leitfaden](https://example.org/leitfaden) und [das](javascript:alert(1)).\n\n"
     "| Amt | Wochen |\n|---|---:|\n| Bauamt | 12 |\n"),
    "```python\nprint('<script>')\n```\n\n> Zitat mit <b>HTML</b>\n\n1. eins\n2. zwei\n",
    "- [ ] offen\n- [x] erledigt\n\n![Plan](data:image/png;base64,AAAA) ![Karte](https://example.org/k.png)",
    "",
    "# E-Government in 3.000 Kommunen\n\nSoftbreak\nhier. Und ein <script>alert(1)</script>.",
]


def make_envelope(key: NodeKey, i: int, **entry: Any) -> SignedEnvelope:
    body: dict[str, Any] = {
        "kind": "project", "title": f"Digitale Antragsstrecke {i}", "summary": f"Erfahrungen {i}",
        "body_markdown": BODIES[i % len(BODIES)], "topics": [], "keywords": ["E-Akte", f"k{i}"],
        "what_worked": "Gut: *schnell*" if i % 2 else None, "what_did_not": "```\nunclosed",
        "createdAt": NOW.isoformat(),
        "publisher": {"type": "organisation", "key": "verbund", "name": "Verbund"},
    }
    body.update(entry)
    return sign_envelope({
        "type": "entry", "id": str(uuid.uuid4()), "origin": key.node_url, "version": 1,
        "visibility": "public", "updatedAt": NOW.isoformat(), "entry": body,
    }, key)


# -- the pure half --------------------------------------------------------------


def test_answers_equal_the_inline_functions() -> None:
    key = NodeKey.generate(PEER)
    stranger = NodeKey.generate(PEER)
    signed = [make_envelope(key, i) for i in range(len(BODIES) * 2)]
    forged = make_envelope(stranger, 99)  # claims PEER, signed by another key
    work = work_for([*signed, forged], {PEER: key.public_key_b64}.get)
    answers = compute(work)
    ready = prepared(work, answers)
    assert answers[0] == [verify(k, data, sig) for k, data, sig in work.checks]
    assert all(ready.verified(key.public_key_b64, s) for s in signed)
    assert not ready.verified(key.public_key_b64, forged)
    assert not ready.verified(stranger.public_key_b64, signed[0])  # another key: not checked
    for s in signed:
        wanted = render_input(s.envelope)
        assert wanted is not None
        assert ready.rendering(*wanted) == render(*wanted)
    assert len(work.bodies) == len(BODIES)  # each distinct (body, parts) once
    assert ready.rendering("never sent", ("", "", "")) is None


def test_a_valid_answer_covers_only_its_exact_signature() -> None:
    key = NodeKey.generate(PEER)
    signed = make_envelope(key, 1)
    work = work_for([signed], lambda origin: key.public_key_b64)
    ready = prepared(work, compute(work))
    twin = SignedEnvelope(signed.envelope, NodeKey.generate(PEER).sign(signed.canonical))
    assert ready.verified(key.public_key_b64, signed)
    assert not ready.verified(key.public_key_b64, twin)
    tampered = SignedEnvelope({**signed.envelope, "version": 2}, signed.signature)
    assert not ready.verified(key.public_key_b64, tampered)


def test_answers_of_the_wrong_length_are_ignored() -> None:
    key = NodeKey.generate(PEER)
    work = work_for([make_envelope(key, 1)], lambda origin: key.public_key_b64)
    assert prepared(work, ([True, True], [])) is NOTHING
    assert prepared(Work(), ([], [])) == Prepared()


@pytest.mark.parametrize("entry", [
    {},
    {"what_worked": None, "what_did_not": None, "transfer_preconditions": None},
    {"body_markdown": None},
    {"transfer_preconditions": "Ein Team.\n\n- mit Liste"},
    {"body_markdown": "x" * 70_000},
])
def test_render_input_is_what_storing_renders(entry: dict[str, Any]) -> None:
    signed = make_envelope(NodeKey.generate(PEER), 3, **entry)
    values = entry_values(signed.envelope)
    assert render_input(signed.envelope) == (values["body_markdown"], tuple(values[f] for f in RENDERED_FIELDS))


@pytest.mark.parametrize("entry", [{"body_markdown": 5}, {"what_worked": ["x"]}])
def test_render_input_leaves_odd_bodies_to_the_sync(entry: dict[str, Any]) -> None:
    signed = make_envelope(NodeKey.generate(PEER), 3, **entry)
    assert render_input(signed.envelope) is None
    assert render_input({**signed.envelope, "type": "tombstone"}) is None


async def test_a_real_worker_process_answers_like_compute() -> None:
    key = NodeKey.generate(PEER)
    work = work_for([make_envelope(key, i) for i in range(8)], lambda origin: key.public_key_b64)
    helper = Helper()
    helper.start()
    try:
        for _ in range(600):
            if helper.ready or helper.failed:
                break
            await asyncio.sleep(0.1)
        assert helper.ready
        assert await helper.prepare(work) == prepared(work, compute(work))
    finally:
        await helper.close()


async def test_a_helper_that_cannot_start_answers_nothing() -> None:
    helper = Helper(start_method="no-such-method")
    helper.start()
    assert helper.failed and not helper.ready
    key = NodeKey.generate(PEER)
    assert await helper.prepare(work_for([make_envelope(key, 1)], lambda o: key.public_key_b64)) is NOTHING
    await helper.close()


# -- syncs with and without a helper ---------------------------------------------


class InlineHelper(Helper):
    """Answers like the worker, in this process, from the first page on; counts what it answered."""

    def __init__(self) -> None:
        super().__init__()
        self.checked = self.rendered = 0

    def start(self) -> None:
        return

    async def prepare(self, work: Work) -> Prepared:
        ready = prepared(work, compute(work))
        self.checked += len(ready.valid)
        self.rendered += len(ready.rendered)
        return ready


def feed(pages: list[list[SignedEnvelope]]) -> httpx.MockTransport:
    """A peer serving `pages`, cursor "p<n>" after page n, with a large `remaining`."""
    def handler(request: httpx.Request) -> httpx.Response:
        after = json.loads(request.url.params["variables"])["after"]
        n = int(after[1:]) if after else 0
        items = tuple(ChangeItem(n * 100 + i + 1, s) for i, s in enumerate(pages[n]))
        batch = ChangeBatch(items, f"p{n + 1}", n + 1 < len(pages))
        body = {"data": {"changes": {**batch.to_json(), "remaining": 50_000 if batch.has_more else 0}}}
        return httpx.Response(200, json=body)
    return httpx.MockTransport(handler)


@pytest.fixture
async def two_dbs(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    dbs = (await make_database(tmp_path, "plain"), await make_database(tmp_path, "helped"))
    for db in dbs:
        with db.bound():
            await seed(db)
    yield dbs
    for db in dbs:
        await db.close()


async def pull(db: Database, key: NodeKey, pages: list[list[SignedEnvelope]], helper: Helper | None) -> Any:
    own = NodeKey.generate("http://us.test")
    with db.bound():
        if not await Peer.exists(url=PEER):
            await Peer.create(url=PEER, name="Peer", public_key=key.public_key_b64, key_id=key.key_id,
                              created_at=NOW)
        syncer = Syncer(own, PeerClient(httpx.AsyncClient(transport=feed(pages)), own, lambda: NOW),
                        clock=lambda: NOW, page_size=3,
                        offload_from=None if helper is None else 1, helper=lambda: helper or Helper())
        report = await syncer.sync_peer(await Peer.get(url=PEER))
        rows = await Entry.all().order_by("uid").values_list(
            "uid", "version", "title", "body_html", "search_terms", "what_worked", "deleted")
        revisions = sorted(await Revision.all().values_list("version", "signature"))
    return report, rows, revisions


async def test_a_sync_with_a_helper_stores_what_one_without_stores(two_dbs: tuple[Database, Database]) -> None:
    key = NodeKey.generate(PEER)
    signed = [make_envelope(key, i) for i in range(12)]
    pages = [signed[i:i + 3] for i in range(0, 12, 3)]
    helper = InlineHelper()
    plain = await pull(two_dbs[0], key, pages, None)
    helped = await pull(two_dbs[1], key, pages, helper)
    assert plain[0].ok and helped[0].ok and helped[0].applied == plain[0].applied == 12
    assert helped[1:] == plain[1:]
    assert helper.checked == 9 and helper.rendered == 9  # pages 2 to 4 came prepared


async def test_a_bad_signature_is_refused_with_a_helper(two_dbs: tuple[Database, Database]) -> None:
    key = NodeKey.generate(PEER)
    forged = make_envelope(NodeKey.generate(PEER), 7)
    pages = [[make_envelope(key, i) for i in range(3)], [make_envelope(key, 5), forged]]
    plain = await pull(two_dbs[0], key, pages, None)
    helped = await pull(two_dbs[1], key, pages, InlineHelper())
    assert plain[0].error_code == helped[0].error_code == "BAD_SIGNATURE"
    assert plain[0].applied == helped[0].applied == 3
    assert helped[1:] == plain[1:]


async def test_a_sync_goes_on_when_its_helper_cannot_start(two_dbs: tuple[Database, Database]) -> None:
    key = NodeKey.generate(PEER)
    pages = [[make_envelope(key, i + 3 * p) for i in range(3)] for p in range(3)]
    broken = Helper(start_method="no-such-method")
    plain = await pull(two_dbs[0], key, pages, None)
    helped = await pull(two_dbs[1], key, pages, broken)
    assert broken.failed and helped[0].ok and helped[0].applied == 9
    assert helped[1:] == plain[1:]
