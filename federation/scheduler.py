"""The background scheduler of `exchange serve`: pull every peer when it is due.

Each peer is pulled every `interval` seconds; after a failure its next attempt
comes after an exponential backoff with jitter (`sync.retry_delay`, stored on
the peer). When several server processes share one database, only one of
them pulls: the leader, who holds a lease row in `node_state` that it renews
while it runs and that lapses when it dies (`LeaderLease`; a conditional
UPDATE is atomic on SQLite and PostgreSQL alike). A peer's signed "I have
news" hint (`wake`) makes the leader pull that peer at once; a process that
is not the leader passes the hint on through the database (`next_attempt` =
now), so the leader picks it up within a second. Peers are isolated: a pull
records its own failures (`Syncer.sync_peer` never raises for a peer's
fault), and should one raise all the same (its failure could not even be
recorded), it is logged once, held back with the same backoff in memory,
and the other peers of the round are pulled all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from exchange.db import Database
from exchange.models import NodeState, Peer
from federation.sync import Syncer, retry_delay

log = logging.getLogger("exchange.federation")

LEASE_KEY = "federation.sync-leader"
LEASE_SECONDS = 60


def _utcnow() -> datetime:
    return datetime.now(UTC)


def lease_value(expires: datetime, owner: str) -> str:
    """`<expiry as zero-padded epoch seconds>|<owner>`: compares as text like the times do."""
    return f"{int(expires.timestamp()):015d}|{owner}"


class LeaderLease:
    """One leader among the processes that share a database, by a lease row with expiry."""

    def __init__(self, owner: str | None = None, seconds: int = LEASE_SECONDS) -> None:
        self.owner = owner or secrets.token_hex(8)
        self.seconds = seconds

    async def acquire(self, now: datetime) -> bool:
        """Take or renew the lease; False while another live process holds it."""
        value = lease_value(now + timedelta(seconds=self.seconds), self.owner)
        expired_below = lease_value(now, "")
        updated = await NodeState.filter(key=LEASE_KEY, value__lt=expired_below).update(value=value)
        if not updated:
            updated = await NodeState.filter(key=LEASE_KEY, value__endswith=f"|{self.owner}").update(value=value)
        if updated:
            return True
        if await NodeState.exists(key=LEASE_KEY):
            return False
        try:
            await NodeState.create(key=LEASE_KEY, value=value)
        except IntegrityError:
            return False
        return True

    async def release(self) -> None:
        await NodeState.filter(key=LEASE_KEY, value__endswith=f"|{self.owner}").delete()


class Scheduler:
    """Runs in the server process; pulls due peers while this process leads."""

    def __init__(
        self,
        database: Database,
        syncer: Callable[[], Syncer],
        interval: float,
        *,
        lease: LeaderLease | None = None,
        clock: Callable[[], datetime] = _utcnow,
        tick: float = 1.0,
    ) -> None:
        self.database = database
        self.syncer = syncer
        self.interval = interval
        self.lease = lease or LeaderLease()
        self.clock = clock
        self.tick = tick
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # peer URL -> (no attempt before, failures in a row) for pulls that raised
        self._held: dict[str, tuple[datetime, int]] = {}
        self.rounds = 0

    def start(self) -> None:
        if self._task is None and self.interval > 0:
            self._task = asyncio.create_task(self._run(), name="federation-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            with self.database.bound(), contextlib.suppress(Exception):
                await self.lease.release()

    async def wake(self, peer_url: str) -> None:
        """A peer has news: make it due now (seen by whichever process leads)."""
        await Peer.filter(url=peer_url).update(next_attempt=self.clock())
        self._wake.set()

    async def run_once(self) -> int:
        """Pull every due peer if this process leads; returns how many were pulled."""
        now = self.clock()
        if not await self.lease.acquire(now):
            return 0
        due = [p for p in await Peer.all().order_by("url")
               if (p.next_attempt is None or p.next_attempt <= now)
               and self._held.get(p.url, (now, 0))[0] <= now]
        syncer = self.syncer()
        for peer in due:
            try:
                report = await syncer.sync_peer(peer)
            except Exception:  # not even its failure could be recorded: hold it back here
                failures = self._held.get(peer.url, (now, 0))[1] + 1
                delay = retry_delay(failures, self.interval, random.random())
                self._held[peer.url] = (self.clock() + delay, failures)
                log.exception("pulling %s failed; next attempt in %.0f s", peer.url, delay.total_seconds())
            else:
                self._held.pop(peer.url, None)
                if report.ok and report.applied:
                    log.info("pulled %d entries from %s", report.applied, peer.url)
            await self.lease.acquire(self.clock())
        self.rounds += 1
        return len(due)

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before the round: a hint during it triggers the next one
            try:
                with self.database.bound():
                    await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the scheduler must outlive any one failure
                log.exception("federation scheduler round failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.tick)
