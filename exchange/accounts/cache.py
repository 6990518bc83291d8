"""Who a token or a session stands for, kept between requests while nothing about it can have changed.

Every request that carries a token or a session cookie needs to know who
sends it: the token's or session's row, the person, their memberships and
publishers. Reading that costs one database round trip per request. This
cache keeps the answer in the process and uses it only while the database
provably holds the same accounts as when the answer was read:

- **SQLite**: the answer carries the database file's and its write-ahead
  log's size and modification time from before it was read. Every commit, of
  this process or of any other (a command-line `exchange tokens revoke`, a
  second server worker), changes them, and the next request reads afresh.
  The check is two `stat` calls. An answer is kept only when the last
  write is `exchange.db.SETTLED_NS` old, so that a file system with coarse timestamps
  cannot give the next write the same time.
- **PostgreSQL**: every write to the account tables ends with
  `accounts_changed`, which forgets what this process kept at once (so a
  signed-out browser's next request never meets the old answer) and sends a
  NOTIFY on `ACCOUNTS_CHANNEL` that the other processes' change followers
  hear when the write commits. While no LISTEN connection is up, nothing is
  kept.

Either way an answer is kept at most `MAX_AGE` seconds, and the holder checks
expiry times itself on every use. A refusal (unknown, revoked, expired) is
never kept. Nothing here leaves the process.
"""

from __future__ import annotations

import os
import time
import weakref
from collections import OrderedDict
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from exchange.db import dialect_of, settled, sqlite_file_state

ACCOUNTS_CHANNEL = "exchange_accounts"
MAX_AGE = 30.0  # seconds an answer is kept at most, whatever else holds
SIZE = 4096  # answers kept per database, least recently used dropped first


class AccountsCache:
    """Answers keyed by a token's or session's hash, valid under a stamp of the database's state."""

    def __init__(self, filename: str | None) -> None:
        self.filename = filename  # SQLite: the database file; PostgreSQL: None
        self.listening = False  # PostgreSQL: a LISTEN connection hears ACCOUNTS_CHANNEL
        self.generation = 0  # bumped by `changed`
        self._answers: OrderedDict[str, tuple[tuple[Any, ...], float, Any]] = OrderedDict()
        self.hits = 0

    def stamp(self) -> tuple[Any, ...] | None:
        """The state an answer read now belongs to; None when nothing may be kept."""
        if self.filename is None:
            return (self.generation,) if self.listening else None
        files = sqlite_file_state(self.filename)
        return None if files is None else (self.generation, *files)

    def _settled(self, stamp: tuple[Any, ...]) -> bool:
        return self.filename is None or settled(stamp[1:])

    def get(self, key: str) -> Any | None:
        item = self._answers.get(key)
        if item is None:
            return None
        stamp, stored, answer = item
        if stamp != self.stamp() or time.monotonic() - stored > MAX_AGE:
            del self._answers[key]
            return None
        self._answers.move_to_end(key)
        self.hits += 1
        return answer

    def put(self, key: str, answer: Any, stamp: tuple[Any, ...] | None) -> None:
        """Keep `answer`, read after `stamp` was taken (so a change during the read is not missed)."""
        if stamp is None or stamp != self.stamp() or not self._settled(stamp):
            return
        self._answers[key] = (stamp, time.monotonic(), answer)
        self._answers.move_to_end(key)
        while len(self._answers) > SIZE:
            self._answers.popitem(last=False)

    def changed(self) -> None:
        """Something about tokens, sessions, people or memberships changed: keep nothing from before."""
        self.generation += 1
        self._answers.clear()

    def listen(self, on: bool) -> None:
        """PostgreSQL: whether ACCOUNTS_CHANNEL is heard (the follower says so)."""
        self.listening = on
        self.changed()


_caches: dict[tuple[Any, ...], AccountsCache] = {}


def _identity(conn: BaseDBAsyncClient) -> tuple[Any, ...]:
    filename = getattr(conn, "filename", None)
    if filename is not None:
        return ("sqlite", os.path.abspath(filename) if filename != ":memory:" else id(conn))
    return ("postgres", getattr(conn, "host", None), getattr(conn, "port", None), getattr(conn, "database", None))


_of_connection: weakref.WeakKeyDictionary[BaseDBAsyncClient, AccountsCache] = weakref.WeakKeyDictionary()


def cache_of(conn: BaseDBAsyncClient) -> AccountsCache:
    """The cache of the database `conn` belongs to (one per database in the process)."""
    cache = _of_connection.get(conn)
    if cache is None:
        cache = _of_connection[conn] = _cache_of(conn)
    return cache


def _cache_of(conn: BaseDBAsyncClient) -> AccountsCache:
    key = _identity(conn)
    cache = _caches.get(key)
    if cache is None:
        filename = getattr(conn, "filename", None)
        # an in-memory SQLite database has no file to watch and nobody LISTENs for it: nothing is kept
        cache = _caches[key] = AccountsCache(filename if filename not in (None, ":memory:") else None)
    return cache


async def accounts_changed(conn: BaseDBAsyncClient) -> None:
    """Say that tokens, sessions, people or memberships were written through `conn`: this
    process keeps nothing from before at once; on PostgreSQL the other processes hear it on
    ACCOUNTS_CHANNEL when the write commits (a NOTIFY inside a transaction waits for its end)."""
    for cache in list(_caches.values()):  # every database of the process: `conn` may be a transaction's
        cache.changed()
    if dialect_of(conn) == "postgres":
        await conn.execute_query(f"SELECT pg_notify('{ACCOUNTS_CHANNEL}', '')")
