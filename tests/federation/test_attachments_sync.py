"""Files travel with their entry: listed in the signed envelope, bytes fetched and verified by digest."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange.attachments import Attachment, AttachmentBlob, AttachmentInput
from exchange.auth import Actor, find_publisher
from exchange.models import Entry, Peer, Revision
from exchange.search import EntryQuery, find_entries
from federation.blobs import BlobReport
from tests.exchange import attachment_files as files
from tests.federation.fednodes import KISSELBACH, FedNode, Net, close_all, connect, make_node


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[FedNode, FedNode]]:
    net = Net()
    a, b = await make_node(tmp_path, "a", net), await make_node(tmp_path, "b", net)
    await connect(a, b)
    yield a, b
    await close_all(a, b)


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def attach(node: FedNode, uid: str, data: bytes, **meta: str) -> str:
    async def go() -> str:
        actor = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
        added = await node.node.extra["attachments"].add(actor, uid, AttachmentInput(**meta), one(data))
        return str(added.digest)
    return await node.run(go)


async def files_of(node: FedNode, uid: str) -> dict[str, bool]:
    async def go() -> dict[str, bool]:
        entry = await Entry.get(uid=uuid.UUID(uid))
        return {a.digest: a.present for a in await Attachment.filter(entry_id=entry.id)}
    return await node.run(go)


def blob_requests(net: Net) -> list[str]:
    return [r.url.path for r in net.requests if r.url.path.startswith("/federation/attachments/")]


async def test_a_peer_receives_the_files_of_an_entry_with_matching_digests(nodes: tuple[FedNode, FedNode]) -> None:
    a, b = nodes
    uid = await a.publish("Bürgerbus: Evaluation")
    report = files.pdf("Fahrgastbefragung im Landkreis")
    pdf_digest = await attach(a, uid, report, title="Evaluationsbericht")
    photo_digest = await attach(a, uid, files.photo(), title="Der Bus", description="Der Bürgerbus am Rathaus")

    async def envelope() -> dict:  # type: ignore[type-arg]
        entry = await Entry.get(uid=uuid.UUID(uid))
        return (await Revision.get(entry_id=entry.id, version=entry.version)).envelope
    listed = (await a.run(envelope))["entry"]["attachments"]
    assert [f["digest"] for f in listed] == [pdf_digest, photo_digest]
    assert listed[0] == {"digest": pdf_digest, "size": len(report), "mediaType": "application/pdf",
                         "title": "Evaluationsbericht", "description": "", "license": "CC-BY-4.0",
                         "language": "de", "filename": "attachment.pdf"}

    report_b = await b.pull(a)
    assert report_b.ok, report_b.error
    assert await files_of(b, uid) == {pdf_digest: True, photo_digest: True}
    store_b = b.node.extra["attachments"].store
    assert b"".join([c async for c in store_b.read(pdf_digest)]) == report
    photo = b"".join([c async for c in store_b.read(photo_digest)])
    assert hashlib.sha256(photo).hexdigest() == photo_digest and b"SN-12345678" not in photo

    async def found() -> set[str]:
        return {str(e.uid) for e in (await find_entries(EntryQuery(text="Fahrgastbefragung"), None, first=10)).entries}
    assert await b.run(found) == {uid}  # found on the peer by a word of the report

    before = len(blob_requests(a.net))
    assert (await b.pull(a)).ok
    assert len(blob_requests(a.net)) == before  # a second pull asks for no file again


async def test_a_peer_sending_other_bytes_is_refused_and_reported_and_the_entry_syncs_anyway(
        nodes: tuple[FedNode, FedNode]) -> None:
    a, b = nodes
    uid = await a.publish("Dorfladen")
    digest = await attach(a, uid, files.pdf("Original"), title="Bericht")
    path = a.node.extra["attachments"].store._path(digest)
    original = path.read_bytes()
    path.write_bytes(files.pdf("Gefälscht")[: len(original)].ljust(len(original), b"\n"))
    assert (await b.pull(a)).ok
    assert uid in await b.entries() and await files_of(b, uid) == {digest: False}

    async def peer_a() -> Peer:
        return await Peer.get(url=a.url)
    refused = await b.run(peer_a)
    assert refused.last_error_code == "BLOB_MISMATCH" and "SHA-256" in refused.last_error
    assert not await b.run(lambda: AttachmentBlob.exists())
    assert not list((b.node.extra["attachments"].store.root / "incoming").iterdir())

    path.write_bytes(original)  # the peer mends its file: fetched at the next pull
    assert (await b.pull(a)).ok
    assert await files_of(b, uid) == {digest: True}


async def test_a_peer_that_streams_more_than_it_announced_is_stopped(nodes: tuple[FedNode, FedNode]) -> None:
    a, b = nodes
    uid = await a.publish("Klein angekündigt")
    digest = await attach(a, uid, files.pdf("klein"), title="Bericht")
    path = a.node.extra["attachments"].store._path(digest)
    path.write_bytes(path.read_bytes() + bytes(8 * 1024 * 1024))  # a 1 KB file that streams 8 MB
    assert (await b.pull(a)).ok

    async def peer_a() -> Peer:
        return await Peer.get(url=a.url)
    assert "sent more than the" in (await b.run(peer_a)).last_error
    assert await files_of(b, uid) == {digest: False}


async def test_a_withdrawn_entrys_files_are_deleted_on_the_peer(nodes: tuple[FedNode, FedNode]) -> None:
    a, b = nodes
    uid = await a.publish("Wird zurückgezogen")
    digest = await attach(a, uid, files.docx(), title="Vorlage")
    assert (await b.pull(a)).ok and await files_of(b, uid) == {digest: True}
    await a.unpublish(uid)
    assert (await b.pull(a)).ok
    assert await files_of(b, uid) == {}
    assert not await b.node.extra["attachments"].store.has(digest)
    assert not await a.node.extra["attachments"].store.has(digest)


async def test_files_of_entries_a_peer_may_not_see_are_not_served_to_it(nodes: tuple[FedNode, FedNode]) -> None:
    a, b = nodes
    uid = await a.publish("Nur im Netz", visibility="network")
    digest = await attach(a, uid, files.pdf("intern"), title="Intern")
    fetcher = b.federation.blobs()

    report = BlobReport()

    async def ask() -> object:
        peer = await Peer.get(url=a.url)
        return await fetcher._receive(peer, digest, 100, "application/pdf", report)
    assert await b.run(ask) is None and report.later == [digest]  # b is no member of a's alliance: a answers 404
    unsigned = await a.net.apps["a.test"].handle_async_request(
        __import__("httpx").Request("GET", f"http://a.test/federation/attachments/{digest}"))
    assert unsigned.status_code == 401
