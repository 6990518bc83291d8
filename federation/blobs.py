"""The bytes of received entries' files: fetched from the peer, verified by size and digest.

After a pull from a peer has committed its entries, `BlobFetcher.fetch_missing`
asks that peer for the files this node lists but does not hold, one signed
request each (`GET /federation/attachments/{sha256}`, signed like a feed
request, so the peer serves only what our membership may see), several at
once over kept-alive connections; a group of received files is kept in one
transaction with the search terms of the entries they complete. The answer
streams into the store's workdir; more bytes than the signed envelope
announced stop it at once, and bytes whose SHA-256 is not the digest are
refused and reported on the peer (`last_error`, code `BLOB_MISMATCH`), as
tampering is. A file the peer does not have (404) or an unreachable peer
is tried again after the next pull; the entries themselves never wait for
their files. `serve_blob` is the other side: the route's handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from tortoise.transactions import in_transaction

from exchange.attachments import (
    Attachment,
    Attachments,
    FileTooLargeError,
    Incoming,
    RefusedFileError,
    is_digest,
    missing,
    reindex,
)
from exchange.attachments.received import check_blob, keep_blob
from exchange.errors import ExchangeError
from exchange.models import Entry, Peer
from federation.client import check_transport
from federation.feed import authenticate_peer
from federation.httpsig import sign_request
from federation.identity import NodeKey

log = logging.getLogger("exchange.federation")

BLOB_PATH = "/federation/attachments/"
MISMATCH = "BLOB_MISMATCH"
PER_PULL = 50  # files looked up at a time
GROUP = 10  # files kept in one transaction
PARALLEL = 6  # requests to the peer under way at once


@dataclass
class Received:
    """A file streamed in and checked, waiting to be kept."""

    digest: str
    size: int
    media_type: str
    text: str
    incoming: Incoming


@dataclass
class BlobReport:
    fetched: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)
    bytes: int = 0  # of the files fetched


class BlobFetcher:
    """Fetches the files this node lists but lacks, from one peer at a time."""

    def __init__(self, attachments: Attachments, http: httpx.AsyncClient, key: NodeKey,
                 clock: Callable[[], datetime], *, allow_plain_http: bool, deadline: float) -> None:
        self.attachments = attachments
        self.http = http
        self.key = key
        self.clock = clock
        self.allow_plain_http = allow_plain_http
        self.deadline = deadline

    async def fetch_missing(self, peer: Peer) -> BlobReport:
        """Ask the peer for every file this node lacks, `PER_PULL` at a time, each at most once.

        `PARALLEL` requests are under way at once (over the client's kept-alive connections), so
        the peer's answer, the transfer and the check of one file overlap with the others'. The
        files of a group of `GROUP` are then kept in one transaction, with the search terms of
        each entry they complete computed once, not once per file."""
        report = BlobReport()
        tried: set[str] = set()
        while True:
            batch = await missing(PER_PULL, exclude=tried)
            if not batch:
                return report
            tried.update(digest for digest, _, _ in batch)
            for start in range(0, len(batch), GROUP):
                if not await self._fetch_group(peer, batch[start:start + GROUP], report):
                    return report  # the peer is unreachable: the rest wait for the next pull too

    async def _fetch_group(self, peer: Peer, group: list[tuple[str, int, str]], report: BlobReport) -> bool:
        """Fetch and check the group's files side by side, then keep those that passed; False when
        the peer could not be reached."""
        gate = asyncio.Semaphore(PARALLEL)
        reachable = True

        async def one(digest: str, size: int, media_type: str) -> Received | None:
            nonlocal reachable
            async with gate:
                if not reachable:
                    report.later.append(digest)
                    return None
                try:
                    return await self._receive(peer, digest, size, media_type, report)
                except (httpx.HTTPError, TimeoutError, OSError) as exc:
                    log.info("file %s from %s not fetched now: %s", digest[:12], peer.url, exc or type(exc).__name__)
                    reachable = False
                    report.later.append(digest)
                    return None

        results = await asyncio.gather(*(one(*item) for item in group))
        received = [r for r in results if r is not None]
        try:
            if received:
                await self._keep(received, report)
        finally:
            for r in received:
                r.incoming.discard()
        return reachable

    async def _receive(self, peer: Peer, digest: str, size: int, media_type: str,
                       report: BlobReport) -> Received | None:
        """The file streamed into the workdir and checked (size, digest, kind), or None: refused
        (and reported) or not there (yet)."""
        url = peer.url + BLOB_PATH + digest
        check_transport(url, self.allow_plain_http)
        request = httpx.Request("GET", url)
        sign_request(request, self.key, self.clock())
        store = self.attachments.store
        incoming = Incoming(store.workdir, size, f"{peer.url} sent more than the {size:,} bytes announced")
        try:
            async with asyncio.timeout(self.deadline):
                response = await self.http.send(request, stream=True)
                try:
                    if response.status_code != 200:
                        report.later.append(digest)  # not there (yet), or not for us: after the next pull
                        incoming.discard()
                        return None
                    async for chunk in response.aiter_bytes():
                        incoming.write(chunk)
                finally:
                    await response.aclose()
            got = incoming.finish()
            if incoming.size != size or got != digest:
                raise RefusedFileError(
                    f"{peer.url} sent {incoming.size:,} bytes with SHA-256 {got[:16]}… for the file "
                    f"{digest[:16]}… of {size:,} bytes")
            text = await check_blob(incoming.path, media_type, store, self.attachments.limits)
        except (FileTooLargeError, RefusedFileError) as exc:
            incoming.discard()
            await self._report(peer, exc.message)
            report.refused.append(digest)
            return None
        except BaseException:
            incoming.discard()
            raise
        return Received(digest, size, media_type, text, incoming)

    async def _keep(self, received: list[Received], report: BlobReport) -> None:
        """One commit for the group: the blobs' rows, and the search terms of the entries they completed."""
        store = self.attachments.store
        async with in_transaction():
            entry_ids: set[int] = set()
            for r in received:
                entry_ids.update(await keep_blob(r.incoming.path, r.digest, r.size, r.media_type, r.text, store))
            for entry in await Entry.filter(id__in=sorted(entry_ids)):
                await reindex(entry)
        for r in received:
            report.fetched.append(r.digest)
            report.bytes += r.size

    async def _report(self, peer: Peer, message: str) -> None:
        log.warning("file refused from %s: %s [%s]", peer.url, message, MISMATCH)
        await Peer.filter(id=peer.id).update(last_error=message[:500], last_error_code=MISMATCH)


async def serve_blob(attachments: Attachments, key: NodeKey, request: Request, now: datetime) -> Response:
    """`GET /federation/attachments/{sha256}` for a known peer (signed request): the bytes of a
    file of an entry the peer may receive (public; network for members)."""
    digest = request.path_params["digest"]
    url = key.node_url + request.url.path
    try:
        peer = await authenticate_peer("GET", url, request.headers, b"", now)
    except ExchangeError as exc:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=401)
    allowed = ("public", "network") if peer.member else ("public",)
    found = is_digest(digest) and await Attachment.filter(
        digest=digest, present=True, entry__deleted=False, entry__visibility__in=allowed).exists()
    size = await attachments.store.size(digest) if found else None
    if size is None:
        return JSONResponse({"error": {"code": "NOT_FOUND", "message": "no such file for you"}}, status_code=404)
    return StreamingResponse(attachments.store.read(digest), media_type="application/octet-stream",
                             headers={"Content-Length": str(size), "X-Content-Type-Options": "nosniff"})
