"""The sync's helper: signatures and texts made beside the database change nothing.

The pure half (`work_for`, `compute`, `prepared`) is compared with the inline
functions (`verify`, `render` and `search_document_of_text` as storing called
them before) on real-ish Markdown; `text_input_of` with what storing uses. A
sync over several pages with a helper stores exactly what a sync without one
stores (HTML, search terms, revisions), with topics too, still refuses a bad
signature, and goes on in one process when the helper cannot start. One test
runs a real worker process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import json
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import snowballstemmer

from content import render, search_document_of_text, stem
from exchange.db import Database
from exchange.models import Entry, Peer, Revision
from exchange.topics import load_topic_rows
from federation.client import PeerClient
from federation.envelopes import entry_values
from federation.identity import NodeKey, verify
from federation.prepare import (
    NOTHING,
    RENDERED_FIELDS,
    Done,
    Helper,
    Jobs,
    Prepared,
    TextInput,
    Work,
    chunks,
    compute,
    prepared,
    text_input,
    text_input_of,
    work_for,
)
from federation.protocol import ChangeBatch, ChangeItem, SignedEnvelope
from federation.signing import sign_envelope
from federation.sync import SYNC_GC_THRESHOLD, Syncer, _fewer_collections
from tests.conftest import make_database
from tests.federation.signedpeer import signed
from tests.helpers import seed

PEER = "http://peer.test"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TOPICS = [row.slug for row in load_topic_rows()[:4]]
LABELS = {row.slug: (row.label_de, row.label_en) for row in load_topic_rows()}

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
        "body_markdown": BODIES[i % len(BODIES)], "topics": TOPICS[: i % 4] + ["no-such-topic"],
        "keywords": ["E-Akte", f"k{i}"], "language": "en" if i % 5 == 0 else "de",
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


def inline_texts(given: TextInput) -> tuple[str, str]:
    """HTML and search terms as `store._render` made them before there was a helper."""
    markdown, more, title, summary, keywords, language = given
    rendered = render(markdown, more)
    return rendered.html, search_document_of_text(title, summary, rendered.text, list(keywords), language)


def test_answers_equal_the_inline_functions() -> None:
    key = NodeKey.generate(PEER)
    stranger = NodeKey.generate(PEER)
    signed = [make_envelope(key, i) for i in range(len(BODIES) * 2)]
    forged = make_envelope(stranger, 99)  # claims PEER, signed by another key
    work = work_for([*signed, forged], {PEER: key.public_key_b64}.get, LABELS)
    answers = compute(work)
    ready = prepared(work, answers)
    assert answers[0] == [verify(k, data, sig) for k, data, sig in work.checks]
    assert all(ready.verified(key.public_key_b64, s) for s in signed)
    assert not ready.verified(key.public_key_b64, forged)
    assert not ready.verified(stranger.public_key_b64, signed[0])  # another key: not checked
    for s in signed:
        wanted = text_input_of(s.envelope, LABELS)
        assert wanted is not None
        assert ready.entry_texts(wanted) == inline_texts(wanted)
    assert len(work.texts) == len(signed) + 1
    assert ready.entry_texts(("never sent", ("", "", ""), "T", "", (), "de")) is None


def test_a_valid_answer_covers_only_its_exact_signature() -> None:
    key = NodeKey.generate(PEER)
    signed = make_envelope(key, 1)
    work = work_for([signed], lambda origin: key.public_key_b64, LABELS)
    ready = prepared(work, compute(work))
    twin = SignedEnvelope(signed.envelope, NodeKey.generate(PEER).sign(signed.canonical))
    assert ready.verified(key.public_key_b64, signed)
    assert not ready.verified(key.public_key_b64, twin)
    tampered = SignedEnvelope({**signed.envelope, "version": 2}, signed.signature)
    assert not ready.verified(key.public_key_b64, tampered)


def test_answers_of_the_wrong_length_are_ignored() -> None:
    key = NodeKey.generate(PEER)
    work = work_for([make_envelope(key, 1)], lambda origin: key.public_key_b64, LABELS)
    assert prepared(work, ([True, True], [])) is NOTHING
    assert prepared(Work(), ([], [])) == Prepared()


@pytest.mark.parametrize("entry", [
    {},
    {"what_worked": None, "what_did_not": None, "transfer_preconditions": None},
    {"body_markdown": None, "summary": None, "keywords": None, "topics": None, "language": None},
    {"transfer_preconditions": "Ein Team.\n\n- mit Liste", "language": "deu", "keywords": [3, "x"]},
    {"body_markdown": "x" * 70_000, "title": "T" * 400, "language": ""},
    {"topics": [*TOPICS, *TOPICS, "a", "b", "c", "d", "e", "f", TOPICS[0]]},  # repeated, cut at 10
])
def test_text_input_of_is_what_storing_uses(entry: dict[str, Any]) -> None:
    signed = make_envelope(NodeKey.generate(PEER), 3, **entry)
    values = entry_values(signed.envelope)  # the columns, as store._render reads them
    topics = [LABELS[t] for t in dict.fromkeys(values["topics"]) if t in LABELS]
    stored = text_input(
        values["body_markdown"] or "", tuple(values[f] for f in RENDERED_FIELDS), values["title"],
        values["summary"], values["keywords"], [de for de, _ in topics] + [en for _, en in topics],
        values["language"],
    )
    assert text_input_of(signed.envelope, LABELS) == stored


@pytest.mark.parametrize("entry", [{"body_markdown": 5}, {"what_worked": ["x"]}, {"keywords": "x"}])
def test_text_input_of_leaves_odd_entries_to_the_sync(entry: dict[str, Any]) -> None:
    signed = make_envelope(NodeKey.generate(PEER), 3, **entry)
    assert text_input_of(signed.envelope, LABELS) is None
    assert text_input_of({**signed.envelope, "type": "tombstone"}, LABELS) is None


async def test_a_real_worker_process_answers_like_compute() -> None:
    key = NodeKey.generate(PEER)
    work = work_for([make_envelope(key, i) for i in range(80)], lambda origin: key.public_key_b64, LABELS)
    helper = await warmed_helper()
    try:
        assert await helper.submit(work).collect(wait=True) == prepared(work, compute(work))
    finally:
        await helper.close()


async def test_a_helper_that_cannot_start_answers_nothing() -> None:
    helper = Helper(start_method="no-such-method")
    helper.start()
    assert helper.failed and not helper.ready
    key = NodeKey.generate(PEER)
    work = work_for([make_envelope(key, 1)], lambda o: key.public_key_b64, LABELS)
    assert await helper.submit(work).collect(wait=True) is NOTHING
    await helper.close()


# -- syncs with and without a helper ---------------------------------------------


class InlineHelper(Helper):
    """Answers like the worker, in this process, from the first page on; counts what it answered."""

    def __init__(self) -> None:
        super().__init__()
        self.checked = self.texts = 0

    def start(self) -> None:
        return

    def submit(self, work: Work) -> Jobs:
        ready = self.answer(work)
        self.checked += len(ready.valid)
        self.texts += len(ready.texts)
        return Done(ready)

    def answer(self, work: Work) -> Prepared:
        return prepared(work, compute(work))


def feed(pages: list[list[SignedEnvelope]], key: NodeKey) -> httpx.MockTransport:
    """A peer serving `pages`, cursor "p<n>" after page n, with a large `remaining`."""
    def handler(request: httpx.Request) -> httpx.Response:
        after = json.loads(request.url.params["variables"])["after"]
        n = int(after[1:]) if after else 0
        items = tuple(ChangeItem(i + 1, s) for i, s in enumerate(pages[n]))
        batch = ChangeBatch(items, f"p{n + 1}", n + 1 < len(pages))
        body = {"data": {"changes": {**batch.to_json(), "remaining": 50_000 if batch.has_more else 0}}}
        return signed(request, body, key, NOW)
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


async def pull(
    db: Database, key: NodeKey, pages: list[list[SignedEnvelope]], helper: Helper | None, page_size: int = 3
) -> Any:
    own = NodeKey.generate("http://us.test")
    with db.bound():
        if not await Peer.exists(url=PEER):
            await Peer.create(url=PEER, name="Peer", public_key=key.public_key_b64, key_id=key.key_id,
                              created_at=NOW)
        syncer = Syncer(own, PeerClient(httpx.AsyncClient(transport=feed(pages, key)), own, lambda: NOW,
                                              allow_plain_http=True),
                        clock=lambda: NOW, page_size=page_size,
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
    assert helper.checked == 9 and helper.texts == 9  # pages 2 to 4 came prepared


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


class MarkingHelper(InlineHelper):
    """Marks the HTML it answers, to show which entries were stored from its answers."""

    def answer(self, work: Work) -> Prepared:
        ready = super().answer(work)
        return Prepared(ready.valid, {k: ("<!--helper-->" + html, terms) for k, (html, terms) in ready.texts.items()})


async def test_the_store_takes_the_helpers_texts_where_inputs_match(two_dbs: tuple[Database, Database]) -> None:
    key = NodeKey.generate(PEER)
    signed = [make_envelope(key, i) for i in range(9)]
    report, rows, _ = await pull(two_dbs[1], key, [signed[i:i + 3] for i in range(0, 9, 3)], MarkingHelper())
    assert report.ok
    marked = {str(uid) for uid, _, _, html, *_ in rows if html.startswith("<!--helper-->")}
    assert marked == {s.entry_id for s in signed[3:]}  # every entry of pages 2 and 3, topics and all


@pytest.mark.parametrize(("checks", "texts", "size", "jobs"), [
    (0, 0, 50, 1), (500, 500, 50, 10), (500, 3, 50, 10), (7, 120, 50, 3), (1, 1, 50, 1), (101, 0, 50, 3),
])
def test_chunks_cover_the_work_once_in_order(checks: int, texts: int, size: int, jobs: int) -> None:
    work = Work(tuple(("k", bytes([i % 256]), str(i)) for i in range(checks)),
                tuple((str(i), (), "", "", (), "de") for i in range(texts)))
    parts = chunks(work, size)
    assert len(parts) == jobs
    assert tuple(c for p in parts for c in p.checks) == work.checks
    assert tuple(t for p in parts for t in p.texts) == work.texts
    assert all(len(p.checks) <= size and len(p.texts) <= size for p in parts)


async def warmed_helper() -> Helper:
    helper = Helper()
    helper.start()
    for _ in range(600):
        if helper.ready or helper.failed:
            break
        await asyncio.sleep(0.1)
    assert helper.ready
    return helper


async def test_a_sync_with_a_real_worker_process_stores_the_same(two_dbs: tuple[Database, Database]) -> None:
    key = NodeKey.generate(PEER)
    signed = [make_envelope(key, i) for i in range(400)]
    pages = [signed[i:i + 100] for i in range(0, 400, 100)]  # two jobs a page
    helper = await warmed_helper()
    plain = await pull(two_dbs[0], key, pages, None, page_size=100)
    helped = await pull(two_dbs[1], key, pages, helper, page_size=100)
    assert helped[0].ok and helped[0].applied == 400 and not helper.failed
    assert helped[1:] == plain[1:]


# -- rows written without model objects ------------------------------------------

RICH: dict[str, Any] = {
    "license": "CC0-1.0", "contact_role": "Digitalisierung", "contact_email": "digital@example.org",
    "status": "done", "period_start": "2024-01", "period_end": "2025-06", "budget_eur": 120_000,
    "funding_programme": "Modellkommunen", "partners": ["Landkreis", "Hochschule"],
    "goals": [{"text": "Anträge online", "achieved": True}], "audience": "Ämter",
    "checklist": ["Team", "Budget"], "review_state": "reviewed", "transfer_preconditions": "Ein Team",
    "costs_staffing": "2 VZÄ", "links": [{"relation": "related", "target": str(uuid.UUID(int=7))}],
    "projectId": str(uuid.UUID(int=9)), "summary": "Zusammenfassung mit Ümlauten",
}


async def test_rows_equal_what_model_objects_stored(two_dbs: tuple[Database, Database]) -> None:
    """The raw inserts of `store` against the plain way: `Entry(...)`, `bulk_create`, as before."""
    from exchange.models import Change, Municipality, Organisation, Topic
    from tests.helpers import MUNICIPALITIES
    key = NodeKey.generate(PEER)
    muni = MUNICIPALITIES[0]
    signed = [make_envelope(key, i, **(RICH if i % 2 else {}),
                            publisher={"type": "municipality", "key": muni["official_key"], "name": muni["name"]}
                            if i % 3 == 0 else {"type": "organisation", "key": "verbund", "name": "Verbund"})
              for i in range(8)]
    await pull(two_dbs[0], key, [signed], None, page_size=10)
    with two_dbs[1].bound():
        org = await Organisation.create(slug="verbund", name="Verbund", origin_node=PEER)
        entries, revisions, changes = [], [], []
        for s in signed:
            values = entry_values(s.envelope)
            slugs = values.pop("topics")
            topics = [t for slug in dict.fromkeys(slugs) if (t := await Topic.get_or_none(slug=slug))]
            labels = [t.label_de for t in topics] + [t.label_en for t in topics]
            rendered = render(values["body_markdown"], tuple(values[f] for f in RENDERED_FIELDS))
            terms = search_document_of_text(values["title"], values["summary"], rendered.text,
                                            [str(k) for k in values["keywords"]] + labels, values["language"])
            ref = s.envelope["entry"]["publisher"]
            publisher = ({"municipality_id": (await Municipality.get(official_key=ref["key"])).id,
                          "organisation_id": None} if ref["type"] == "municipality"
                         else {"municipality_id": None, "organisation_id": org.id})
            entries.append(Entry(uid=uuid.UUID(s.entry_id), **values, **publisher, body_html=rendered.html,
                                 search_terms=terms))
        await Entry.bulk_create(entries)
        ids = dict(await Entry.all().values_list("uid", "id"))
        for e, s in zip(entries, signed, strict=True):
            revisions.append(Revision(entry_id=ids[e.uid], version=e.version, envelope=s.envelope,
                                      signature=s.signature, author=s.origin, note="received",
                                      created_at=e.updated_at))
            changes.append(Change(entry_uid=e.uid, version=e.version, origin_node=e.origin_node,
                                  visibility=e.visibility, created_at=e.updated_at))
        await Revision.bulk_create(revisions)
        await Change.bulk_create(changes)

    async def rows(db: Database) -> tuple[object, ...]:
        with db.bound():
            columns = [c for c in Entry._meta.fields_db_projection if c not in ("id", "organisation_id")]
            columns.append("organisation__slug")
            entry_rows = await Entry.all().order_by("uid").values(*columns)
            revision_rows = await Revision.all().order_by("entry__uid").values(
                "entry__uid", "version", "envelope", "signature", "author", "note", "created_at")
            change_rows = await Change.all().order_by("seq").values(
                "entry_uid", "version", "origin_node", "visibility", "created_at")
            return entry_rows, revision_rows, change_rows

    fast, plain = await rows(two_dbs[0]), await rows(two_dbs[1])
    assert any(row["budget_eur"] == 120_000 for row in fast[0])  # the rich fields were there
    assert {row["organisation__slug"] for row in fast[0]} == {"verbund", None}
    assert fast == plain


def test_collector_thresholds_are_raised_during_syncs_and_restored() -> None:
    before = gc.get_threshold()
    with _fewer_collections():
        assert gc.get_threshold() == SYNC_GC_THRESHOLD
        with _fewer_collections():
            assert gc.get_threshold() == SYNC_GC_THRESHOLD
        assert gc.get_threshold() == SYNC_GC_THRESHOLD  # the outer sync still runs
    assert gc.get_threshold() == before


@pytest.mark.parametrize("language", ["de", "en"])
def test_numbers_stem_to_themselves(language: str) -> None:
    """`content.stem` skips the stemmer for ASCII numbers (many in received titles): it agrees."""
    stemmer = snowballstemmer.stemmer({"de": "german", "en": "english"}[language])
    numbers = [str(n) for n in range(0, 100_000, 7)] + ["0000", "007", "3000000000", "1" * 40]
    assert all(stemmer.stemWord(n) == n == stem(n, language) for n in numbers)


async def test_collect_does_the_jobs_the_worker_has_not_started_and_awaits_the_one_it_runs() -> None:
    key = NodeKey.generate(PEER)
    work = work_for([make_envelope(key, i) for i in range(12)], lambda origin: key.public_key_b64, LABELS)
    parts = chunks(work, size=3)
    futures: list[concurrent.futures.Future[Any]] = [concurrent.futures.Future() for _ in parts]
    assert futures[0].set_running_or_notify_cancel()  # the worker has the first job
    finished = threading.Timer(0.2, lambda: futures[0].set_result(compute(parts[0])))
    finished.start()
    errors: list[BaseException] = []
    got = await Jobs(list(zip(parts, futures, strict=True)), errors.append).collect()
    finished.join()
    assert got == prepared(work, compute(work)) and not errors
    assert not futures[0].cancelled() and all(f.cancelled() for f in futures[1:])
