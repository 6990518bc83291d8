"""Pulling from a peer: fetch a batch, verify every signature, merge, apply.

`Syncer.sync_peer` is the one orchestrator. For each page of the peer's
change feed it checks every envelope against its origin's key (the peer's
pinned key for its own entries, our own key for ours, a key we know for
other origins, or the key the peer vouches for if the operator trusts this
peer's relays; without a trusted key the envelope is kept pending with the
reason), decides with the pure merge rules, and hands the result to
`federation.batch.apply_batch`, which stores it and advances the cursor in one
transaction. Anything wrong with a batch (a bad signature, a conflict, a
changed copy of our own entry, a malformed or oversized answer) refuses the
whole batch: nothing is stored, the error is recorded on the peer (with the
next attempt after an exponential backoff with jitter) and reported, and the
other peers are pulled all the same. Any other exception during a pull is
that peer's failure in the same way (code `SYNC_FAILED`, logged once with
its traceback): `sync_peer` raises for nothing but cancellation. Listeners of the catalogue hear about
applied entries after the commit. When many rows are waiting, a helper
process (`federation.prepare`) checks the signatures and renders the bodies
of the next page while this one is written; the sync uses its answers only
where its own inputs match exactly, and does everything itself when there is
no helper.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from exchange.curation import is_curation_envelope
from exchange.errors import ConflictError, ExchangeError
from exchange.models import Entry, Peer
from federation import rotation, store
from federation.batch import Checkpoint, Pending, apply_batch, no_checkpoint
from federation.client import FeedAnswer, PeerClient
from federation.envelopes import ContentError, parse_entry_uid
from federation.errors import BadSignatureError
from federation.identity import NodeKey
from federation.merge import Action, merge_batch
from federation.prepare import NOTHING, Helper, Jobs, Prepared, work_for
from federation.protocol import MAX_BATCH_ITEMS, ChangeBatch, SignedEnvelope
from federation.signing import verify_envelope
from federation.trust import choose_key

log = logging.getLogger("exchange.federation")

Listener = Callable[[Entry], Awaitable[None]]
BatchListener = Callable[[Sequence[Entry]], Awaitable[None]]
Progress = Callable[[int, int | None], None]
MAX_BACKOFF = timedelta(hours=6)
# From this many rows waiting at the peer, a helper process prepares the next page:
# below it, starting the process (importing the parser there) costs more than it saves.
OFFLOAD_FROM = 5_000
# The error code recorded when a pull fails with anything but an ExchangeError.
UNEXPECTED = "SYNC_FAILED"
# Pages fetched ahead of the one being applied (the one waiting and the one on its way).
PAGES_AHEAD = 2


# While a sync runs, the cyclic collector runs after this many new container objects
# instead of 700: a page makes hundreds of thousands (tokens, rows, dicts), almost
# all freed by reference counting, and each collection walked them again (a sixth
# of a large sync's CPU time). Restored when the last sync ends.
SYNC_GC_THRESHOLD = (20_000, 50, 100)
_relaxed: list[tuple[int, int, int]] = []


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds for the duration; nested and overlapping uses are fine."""
    if not _relaxed:
        _relaxed.append(gc.get_threshold())
        gc.set_threshold(*SYNC_GC_THRESHOLD)
    else:
        _relaxed.append(_relaxed[0])
    try:
        yield
    finally:
        previous = _relaxed.pop()
        if not _relaxed:
            gc.set_threshold(*previous)


def retry_delay(failures: int, interval: float, rand: float) -> timedelta:
    """How long to wait after the n-th failure in a row: doubling, capped, with jitter.

    `rand` in [0, 1) spreads retries of many nodes over the upper half of the
    delay (half jitter), so that a peer coming back is not hit by all at once.
    """
    base = max(interval, 5.0) * (2 ** min(max(failures - 1, 0), 16))
    capped = min(base, MAX_BACKOFF.total_seconds())
    return timedelta(seconds=capped * (0.5 + rand / 2))


class _Ahead:
    """The pages after `cursor`, fetched in order while earlier ones are applied: up to
    `PAGES_AHEAD` of them wait, so that the helper always has the next page's work when it is
    done with one (with one page ahead it idled while the peer made each page). A fetch that
    fails ends the run; its error is raised where that page is asked for."""

    def __init__(self, fetch: Callable[[str], Awaitable[tuple[FeedAnswer, Jobs | None]]], cursor: str,
                 pages: int | None) -> None:
        self._queue: asyncio.Queue[tuple[FeedAnswer, Jobs | None] | Exception] = asyncio.Queue(PAGES_AHEAD - 1)
        self._task = asyncio.ensure_future(self._run(fetch, cursor, pages))

    async def _run(self, fetch: Callable[[str], Awaitable[tuple[FeedAnswer, Jobs | None]]], cursor: str,
                   pages: int | None) -> None:
        fetched = 0
        while pages is None or fetched < pages:
            try:
                page = await fetch(cursor)
            except Exception as exc:  # noqa: BLE001 - handed to the loop that applies the pages
                await self._queue.put(exc)
                return
            await self._queue.put(page)
            fetched += 1
            if not page[0].batch.has_more:
                return
            cursor = page[0].batch.next_cursor

    async def next(self) -> tuple[FeedAnswer, Jobs | None]:
        page = await self._queue.get()
        if isinstance(page, Exception):
            raise page
        return page

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task


@dataclass(frozen=True)
class Guesses:
    """What the helper prepares a page with: the likely key of each origin, topic labels."""

    key: Callable[[str], str | None]
    labels: dict[str, tuple[str, str]]


@dataclass
class SyncReport:
    """What one pull from one peer did."""

    peer: str
    batches: int = 0
    applied: int = 0
    skipped: int = 0
    pending: int = 0
    entries_behind: int | None = None
    error: str = ""
    error_code: str = ""
    released: int = 0
    learned: int = 0
    applied_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Syncer:
    """Pulls peers' change feeds into this node's catalogue."""

    def __init__(
        self,
        key: NodeKey,
        client: PeerClient,
        *,
        listeners: Sequence[Listener] = (),
        batch_listeners: Sequence[BatchListener] = (),
        clock: Callable[[], datetime] = _utcnow,
        interval: float = 300.0,
        page_size: int = MAX_BATCH_ITEMS,
        checkpoint: Checkpoint | None = None,
        rand: Callable[[], float] = random.random,
        offload_from: int | None = OFFLOAD_FROM,
        helper: Callable[[], Helper] = Helper,
        after_pull: Callable[[Peer], Awaitable[Any]] | None = None,
    ) -> None:
        self.after_pull = after_pull  # the files of what was pulled (federation.blobs)
        self.key = key
        self.client = client
        self.listeners = listeners
        self.batch_listeners = batch_listeners  # told of each applied page at once
        self.clock = clock
        self.interval = interval
        self.page_size = page_size
        self.checkpoint = checkpoint
        self.rand = rand
        self.offload_from = offload_from
        self.helper = helper

    async def sync_all(self, progress: Progress | None = None) -> list[SyncReport]:
        return [await self.sync_peer(peer, progress) for peer in await store.list_peers()]

    async def sync_peer(self, peer: Peer, progress: Progress | None = None, max_batches: int | None = None) -> SyncReport:
        """Pull until the peer has nothing more (or `max_batches`); never raises for peer faults."""
        with _fewer_collections():
            return await self._sync_peer(peer, progress, max_batches)

    async def _first_page(self, peer: Peer) -> FeedAnswer:
        """The first page; a page signed by another key makes us look for the peer's signed key rotation."""
        try:
            return await self.client.changes(peer.url, peer.cursor, self.page_size, peer_key=peer.public_key)
        except BadSignatureError:
            if not await self._follow_rotation(peer):
                raise
        return await self.client.changes(peer.url, peer.cursor, self.page_size, peer_key=peer.public_key)

    async def _follow_rotation(self, peer: Peer) -> bool:
        """Pin the peer's new key if its descriptor announces it signed by the pinned key."""
        descriptor = await self.client.descriptor(peer.url)
        if descriptor.public_key == peer.public_key or not rotation.accepts(
                descriptor.key_rotation, node=peer.url, pinned_key=peer.public_key,
                presented_key=descriptor.public_key):
            return False
        log.warning("%s rotated its key %s -> %s (announced with the old key's signature); pinned the new key",
                    peer.url, peer.key_id, descriptor.key_id)
        peer.public_key, peer.key_id = descriptor.public_key, descriptor.key_id
        await Peer.filter(id=peer.id).update(public_key=peer.public_key, key_id=peer.key_id)
        return True

    async def _sync_peer(self, peer: Peer, progress: Progress | None, max_batches: int | None) -> SyncReport:
        report = SyncReport(peer.url)
        helper: Helper | None = None
        try:
            report.released = await self._retry_pending(peer, report)
            answer = await self._first_page(peer)
            prepared = NOTHING
            guesses: Guesses | None = None
            if self._worth_a_helper(answer, max_batches):
                helper = self.helper()
                helper.start()
                guesses = await self._guesses(peer)
            # Pages are fetched (and handed to the helper) ahead of the one applied; those
            # ahead are dropped if this one fails.
            pages = None if max_batches is None else max_batches - 1
            ahead = (_Ahead(lambda cursor: self._fetch(peer, cursor, helper, guesses), answer.batch.next_cursor,
                            pages) if answer.batch.has_more and pages != 0 else None)
            try:
                while True:
                    await self._apply(peer, answer.batch, answer.remaining, report, prepared)
                    if progress is not None:
                        progress(report.applied + report.skipped + report.pending, answer.remaining)
                    if ahead is None or not answer.batch.has_more or report.batches == max_batches:
                        break
                    answer, jobs = await ahead.next()
                    prepared = await jobs.collect() if jobs is not None else NOTHING
            finally:
                if ahead is not None:
                    await ahead.close()
            if report.learned:
                report.released += await self._retry_pending(peer)  # held back before the key came
        except ExchangeError as exc:
            delay = await self._failed(peer, report, exc.code, exc.message)
            log.warning("sync from %s refused: %s [%s]; next attempt in %.0f s",
                        peer.url, exc.message, exc.code, delay.total_seconds())
        except Exception as exc:  # any fault of one peer is that peer's failure
            message = f"sync failed unexpectedly: {type(exc).__name__}: {str(exc)[:300]}"
            delay = await self._failed(peer, report, UNEXPECTED, message)
            log.exception("sync from %s failed unexpectedly; next attempt in %.0f s",
                          peer.url, delay.total_seconds())
        else:
            await Peer.filter(id=peer.id).update(next_attempt=self.clock() + timedelta(seconds=self.interval))
            if self.after_pull is not None:
                try:  # the entries are committed; their files never hold them back
                    await self.after_pull(peer)
                except Exception:
                    log.exception("fetching files from %s failed; tried again after the next pull", peer.url)
        finally:
            if helper is not None:
                await helper.close()
        report.entries_behind = peer.entries_behind
        return report

    async def _failed(self, peer: Peer, report: SyncReport, code: str, message: str) -> timedelta:
        """Record a failed pull on the peer, with the next attempt after a backoff."""
        now = self.clock()
        report.error, report.error_code = message, code
        delay = retry_delay(peer.failures + 1, self.interval, self.rand())
        await store.record_failure(peer, code, message, now, now + delay)
        return delay

    def _worth_a_helper(self, answer: FeedAnswer, max_batches: int | None) -> bool:
        if self.offload_from is None or not answer.batch.has_more or answer.remaining is None:
            return False
        return answer.remaining >= self.offload_from and (max_batches is None or max_batches > 1)

    async def _guesses(self, peer: Peer) -> Guesses:
        """Which key `_verify` will most likely check an origin's envelopes with, and topic labels.

        Made once per sync (keys learned on the way are missing, a topic may
        be renamed meanwhile): where a guess is wrong, the helper's answer is
        not used and `_verify` or the store does the work itself.
        """
        keys = {**await store.trusted_origin_keys(), self.key.node_url: self.key.public_key_b64,
                peer.url: peer.public_key}
        return Guesses(keys.get, await store.topic_labels())

    async def _fetch(
        self, peer: Peer, cursor: str, helper: Helper | None, guesses: Guesses | None
    ) -> tuple[FeedAnswer, Jobs | None]:
        answer = await self.client.changes(peer.url, cursor, self.page_size, peer_key=peer.public_key)
        if helper is None or guesses is None:
            return answer, None
        work = work_for((item.envelope for item in answer.batch.items), guesses.key, guesses.labels)
        return answer, helper.submit(work)

    async def _verify(
        self, peer: Peer, envelopes: Sequence[tuple[SignedEnvelope, str]], vouched: dict[str, str],
        prepared: Prepared = NOTHING,
    ) -> tuple[list[SignedEnvelope], list[Pending], dict[str, str]]:
        """Check every signature; returns (verified, pending, newly vouched origin keys).

        A signature the helper found valid for exactly this key and these bytes
        counts as checked; any other is checked here. A bad signature under a
        pinned key refuses the batch; under a vouched key it holds that
        envelope back (`federation.trust`).
        """
        pinned = await store.pinned_keys()
        trusted = await store.trusted_vouchers()
        stored = {(str(v.origin), str(v.vouched_by)): str(v.public_key) for v in await store.vouched_keys()}
        verified: list[SignedEnvelope] = []
        pending: list[Pending] = []
        learned: dict[str, str] = {}
        for signed, vouched_key in envelopes:
            origin = signed.origin
            offered = vouched.get(origin) or vouched_key or None
            choice = choose_key(
                origin, own=(self.key.node_url, self.key.public_key_b64), peer=(peer.url, peer.public_key),
                trust_relayed=peer.trust_relayed, pinned=pinned,
                vouched={**stored, **{(o, peer.url): k for o, k in learned.items()}},
                trusted=trusted | {peer.url}, offered=offered,
            )
            if choice.key is None:
                pending.append(Pending(signed, choice.reason, (offered or "") if choice.keep_offered else ""))
                continue
            if not prepared.verified(choice.key, signed):
                try:
                    verify_envelope(signed, choice.key)
                except BadSignatureError:
                    if choice.direct:
                        raise  # refuses the whole batch
                    pending.append(Pending(signed, (
                        f"the signature of origin {origin} does not verify with the key {peer.url} "
                        f"vouched for; held back (exchange peers vouched; exchange peers forget-key {origin})")))
                    continue
            if choice.learn:
                learned[origin] = choice.key
            try:
                parse_entry_uid(signed.entry_id)
            except ContentError as exc:
                pending.append(Pending(signed, str(exc)))
                continue
            verified.append(signed)
        return verified, pending, learned

    async def _merge(self, verified: list[SignedEnvelope]) -> tuple[list[SignedEnvelope], int]:
        """The envelopes to store; ConflictError when the merge rules refuse one."""
        own = self.key.node_url
        # Collections and endorsements skip the entry merge: apply_received orders their versions.
        curated = [s for s in verified if is_curation_envelope(s.envelope)]
        verified = [s for s in verified if not is_curation_envelope(s.envelope)]
        ours = [s for s in verified if s.origin == own]
        known_own = await store.own_digests([(s.entry_id, s.version) for s in ours], own) if ours else set()
        incoming = [s for s in verified if s.origin != own or s.digest not in known_own]
        echoes = len(verified) - len(incoming)
        held = await store.held_for([s.entry_id for s in incoming], own)
        decisions = merge_batch(held, incoming, own)
        refused = [d for d in decisions if d.action.is_refusal]
        if refused:
            first = refused[0]
            raise ConflictError(
                f"batch refused ({first.action.value}, {len(refused)} item(s)): {first.reason}"
            )
        to_apply = [d.envelope for d in decisions if d.action is Action.APPLY]
        return to_apply + curated, echoes + len(decisions) - len(to_apply)

    async def _apply(
        self, peer: Peer, batch: ChangeBatch, remaining: int | None, report: SyncReport,
        prepared: Prepared = NOTHING,
    ) -> None:
        verified, pending, learned = await self._verify(
            peer, [(item.envelope, "") for item in batch.items], batch.vouched_keys, prepared
        )
        to_apply, skipped = await self._merge(verified)
        result = await apply_batch(
            peer, to_apply, pending, learned, next_cursor=batch.next_cursor,
            entries_behind=remaining, now=self.clock(),
            checkpoint=self.checkpoint or no_checkpoint, prepared=prepared,
        )
        report.batches += 1
        report.learned += len(learned)
        report.applied += len(result.applied)
        report.skipped += skipped
        report.pending += len(result.pending)
        report.applied_ids.extend(str(e.uid) for e in result.applied)
        if result.pending:
            log.info("%d envelope(s) from %s held back: %s", len(result.pending), peer.url,
                     result.pending[0].reason)
        await self._notify(result.applied)

    async def _retry_pending(self, peer: Peer, report: SyncReport | None = None) -> int:
        """Try again what we held back from this peer (a key or a municipality may be known now)."""
        rows = await store.pending_of(peer.url)
        if not rows:
            return 0
        envelopes = [(SignedEnvelope(r.envelope, r.signature), r.vouched_key) for r in rows]
        try:
            verified, pending, learned = await self._verify(peer, envelopes, {})
            to_apply, _ = await self._merge(verified)
        except (BadSignatureError, ConflictError) as exc:
            log.warning("pending envelopes from %s stay pending: %s", peer.url, exc.message)
            return 0
        if report is not None:
            report.learned += len(learned)
        done = {(s.entry_id, s.version) for s in verified}
        result = await apply_batch(
            peer, to_apply, pending, learned, next_cursor=peer.cursor or "", entries_behind=None,
            now=self.clock(), advance=False, release=done,
        )
        await self._notify(result.applied)
        return len(result.applied)

    async def _notify(self, entries: list[Entry]) -> None:
        for entry in entries:
            for listener in self.listeners:
                try:
                    await listener(entry)
                except Exception:  # a listener's fault must not undo a committed sync
                    log.exception("catalogue listener failed for entry %s", entry.uid)
        for many in self.batch_listeners if entries else ():
            try:
                await many(entries)
            except Exception:
                log.exception("catalogue listener failed for %d entries", len(entries))
