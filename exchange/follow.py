"""Following the change feed: what other processes wrote reaches this process's indexes.

A node may run as several processes on one database (`exchange serve
--workers N`, several servers on one PostgreSQL, an `exchange sync` from the
command line into the database of a running node). The catalogue tells its
listeners (the matching profiles) about the writes of its own process only;
the `ChangeFollower` tells them about everyone else's. It reads the change
feed (the `change` table, the source of truth) for sequence numbers above the
last one it saw: every `interval` seconds, and at once when PostgreSQL
delivers a NOTIFY on `CHANGE_CHANNEL` (sent by every writer at commit,
`changes.claim_sequence`). Versions this process has told its listeners
about already (`seen`, the first catalogue listener) are skipped; for the
others the entry's current row is read and handed to the listeners, as the
catalogue would have, and then `settle` (the matcher folds received entries
in at once: what the feed shows is committed, there is no quiet to wait
for). More changes at once than `RELOAD_ABOVE` call `reload` instead (a
whole first sync into the database). The facet index, counts and
topic counts compare the feed's sequence on every request and need no
follower. On PostgreSQL the same LISTEN connection hears `ACCOUNTS_CHANNEL`
and tells the accounts cache (`exchange.accounts.cache`), which keeps who a
token or session stands for only while someone listens, and `STATE_CHANNEL`
(sent by triggers on the tables of the public state) and tells the state
cache (`exchange.freshness`), which keeps the conditional GET's state tag
only while someone listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from exchange.accounts.cache import ACCOUNTS_CHANNEL, AccountsCache, cache_of
from exchange.catalogue import Listener
from exchange.changes import CHANGE_CHANNEL
from exchange.db import Database, current_connection, dialect_of
from exchange.freshness import STATE_CHANNEL, StateCache, state_cache_of
from exchange.models import Entry
from exchange.search import latest_seq

log = logging.getLogger("exchange.follow")

INTERVAL = 1.0  # seconds between two looks at the feed (NOTIFY wakes the follower sooner)
BATCH = 1000  # change rows read at once
RELOAD_ABOVE = 2000  # more changed entries than this in one look: `reload` instead of listeners
SEEN_KEPT = 10_000  # own versions remembered until the feed shows them
LISTEN_RETRY = 30.0  # seconds before a lost LISTEN connection is tried again


class ChangeFollower:
    """Hands the versions other processes wrote to this process's catalogue listeners."""

    def __init__(
        self,
        database: Database,
        listeners: Sequence[Listener],
        *,
        reload: Callable[[], Awaitable[None]] | None = None,
        settle: Callable[[], Awaitable[None]] | None = None,
        interval: float = INTERVAL,
    ) -> None:
        self.database = database
        self.listeners = list(listeners)
        self.reload = reload
        self.settle = settle
        self.interval = interval
        self.seq: int | None = None  # the last sequence number handed on
        self._seen: OrderedDict[tuple[uuid.UUID, int], None] = OrderedDict()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listen: Any = None  # asyncpg connection LISTENing on CHANGE_CHANNEL, ACCOUNTS_CHANNEL, STATE_CHANNEL
        self._accounts: AccountsCache | None = None  # told of account changes while _listen is up
        self._state: StateCache | None = None  # told of writes to the public state while _listen is up
        self._listen_after = 0.0
        self.handed = 0  # entries handed to the listeners (for tests and metrics)
        self.looked_at: float | None = None  # time.time() of the last complete look at the feed

    # -- the catalogue's side ----------------------------------------------------

    async def seen(self, entry: Entry) -> None:
        """Catalogue listener (first in the list): this process handled this version itself."""
        self._seen[(entry.uid, entry.version)] = None
        while len(self._seen) > SEEN_KEPT:
            self._seen.popitem(last=False)

    # -- lifecycle -----------------------------------------------------------------

    async def prime(self) -> None:
        """Remember where the feed stands (a startup hook, before the indexes load: changes
        written while they load are handed on once more, which the listeners take as no news)."""
        self.seq = await latest_seq()

    async def start(self) -> None:
        """Start following (a startup hook, after the indexes have loaded)."""
        if self.seq is None:
            await self.prime()
        if self._task is None and self.interval > 0:
            self._task = asyncio.create_task(self._run(), name="change-follower")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_listen()

    # -- following -------------------------------------------------------------------

    async def catch_up(self) -> int:
        """Hand on what the feed holds beyond `seq`; returns how many entries were handed on."""
        if self.seq is None:
            await self.prime()
            return 0
        handed = 0
        conn = current_connection()
        p = "$1" if dialect_of(conn) == "postgres" else "?"
        while True:
            assert self.seq is not None
            rows = await conn.execute_query_dict(
                f"SELECT seq, entry_uid, version FROM change WHERE seq > {p} ORDER BY seq LIMIT {BATCH}",
                [self.seq])
            if not rows:
                self.looked_at = time.time()
                return handed
            fresh: list[uuid.UUID] = []
            for row in rows:
                uid = row["entry_uid"] if isinstance(row["entry_uid"], uuid.UUID) else uuid.UUID(str(row["entry_uid"]))
                if self._seen.pop((uid, int(row["version"])), False) is None:
                    continue  # (`pop` gives None for a version seen here, False otherwise)
                if uid not in fresh:
                    fresh.append(uid)
            last = int(rows[-1]["seq"])
            if len(fresh) > RELOAD_ABOVE and self.reload is not None:
                await self.reload()
            elif fresh:
                entries = {e.uid: e for e in await Entry.filter(uid__in=fresh)}
                for uid in fresh:  # (collections and endorsements have change rows but no entry)
                    entry = entries.get(uid)
                    if entry is not None:
                        await self._hand_on(entry)
                        handed += 1
            self.seq = last
            self.handed += handed
            if len(rows) < BATCH:
                if handed and self.settle is not None:
                    await self.settle()
                self.looked_at = time.time()
                return handed

    async def _hand_on(self, entry: Entry) -> None:
        for listener in self.listeners:
            try:
                await listener(entry)
            except Exception:  # one listener's fault must not stop the others or the follower
                log.exception("catalogue listener failed for entry %s written elsewhere", entry.uid)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                with self.database.bound():
                    if self.database.dialect == "postgres" and self._listen is None \
                            and loop.time() >= self._listen_after:
                        await self._open_listen()
                    await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database may be away a while: try again
                log.warning("following the change feed failed: %s", exc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)

    # -- PostgreSQL LISTEN ---------------------------------------------------------------

    async def _open_listen(self) -> None:
        import asyncpg

        try:
            self._listen = await asyncio.wait_for(asyncpg.connect(**connect_arguments(self.database.url)), 5)
            await self._listen.add_listener(CHANGE_CHANNEL, self._notified)
            await self._listen.add_listener(ACCOUNTS_CHANNEL, self._accounts_notified)
            await self._listen.add_listener(STATE_CHANNEL, self._state_notified)
            self._listen.add_termination_listener(self._lost)
            self._accounts = cache_of(self.database.connection())
            self._accounts.listen(True)  # from now on it hears of every change: it may keep answers
            self._state = state_cache_of(self.database.connection())
            self._state.listen(True)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cannot LISTEN for changes (polling every %.0f s instead): %s", self.interval, exc)
            await self._close_listen()
            self._listen_after = asyncio.get_running_loop().time() + LISTEN_RETRY

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    def _accounts_notified(self, *_: Any) -> None:
        if self._accounts is not None:
            self._accounts.changed()

    def _state_notified(self, *_: Any) -> None:
        if self._state is not None:
            self._state.changed()

    def _deaf(self) -> None:
        if self._accounts is not None:
            self._accounts.listen(False)  # it would not hear of changes: keep nothing
            self._accounts = None
        if self._state is not None:
            self._state.listen(False)
            self._state = None

    def _lost(self, *_: Any) -> None:
        self._deaf()
        self._listen = None  # opened again at the next look
        self._wake.set()

    async def _close_listen(self) -> None:
        self._deaf()
        conn, self._listen = self._listen, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)


def connect_arguments(url: str) -> dict[str, Any]:
    """asyncpg.connect's arguments for a postgres:// URL as tortoise takes it (pure)."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "database": parts.path.lstrip("/") or None,
    }
