"""How fresh the public state of this node is, in one short string.

Everything an anonymous reader can see changes only through a few kinds of
write: an entry version or a curation record stored (each adds a row to the
change feed), a review decision (a review event), or a new municipality
register (`node_state.register_date`). `state_tag` reads the newest of each in
one statement; equal tags mean equal public data, so a reader's copy made
under a tag is still right while the tag stands. The conditional GET
(`exchange.conditional`) builds its ETags on it.

On PostgreSQL the tag is kept in the process (`StateCache`) while, and only
while, this process provably hears every write to those tables: triggers on
`change`, `review_event` and `node_state` (migration 0015) send a NOTIFY on
`STATE_CHANNEL` with every statement that writes them, whoever writes (this
process, another worker, the command line, psql), and the change follower's
LISTEN connection (`exchange.follow`) tells the cache, which forgets the tag.
A tag read while a notification arrives is not kept (a generation counter),
and when the LISTEN connection is lost, or none was ever opened (no
follower), nothing is kept and every call reads. This process's own
writes forget the tag at once, before they commit (`state_changed`). What
remains: another process's commit, and a request of this process that read
while this process's write was still uncommitted, are seen when the NOTIFY
arrives, as a rule a few milliseconds after the commit. Until then a
revalidating reader may still get a 304 for the state before that commit, as
it would have had it asked a moment earlier.

On SQLite the tag is kept with the modification times and sizes of the
database file and its write-ahead log, taken before it was read
(`exchange.db.sqlite_file_state`), and used while they stand: every commit,
of any process, changes them before it returns, so there is no such window.
A tag is kept only when the last write is 20 ms old (a file system with
coarse timestamps could give a write within that time the time of the one
before), and never for an in-memory database.

Personal state (sessions, tokens, checklists, who signed in) is not covered:
answers for signed-in people are never tagged.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from exchange.db import current_connection, settled, sqlite_file_state

__all__ = ["STATE_CHANNEL", "StateCache", "state_cache_of", "state_changed", "state_tag"]

STATE_CHANNEL = "exchange_state"  # PostgreSQL NOTIFY channel: change, review_event or node_state written

_STATE_SQL = (
    "SELECT (SELECT max(seq) FROM change) AS c, (SELECT max(id) FROM review_event) AS r, "
    "(SELECT max(value) FROM node_state WHERE key = 'register_date') AS g"
)


class StateCache:
    """The state tag of one database, kept while every write to its tables provably shows:
    on PostgreSQL while someone hears their NOTIFY, on SQLite while the file is unchanged."""

    def __init__(self, filename: str | None = None) -> None:
        self.filename = filename  # SQLite: the database file; PostgreSQL (and nothing to watch): None
        self.listeners = 0  # LISTEN connections on STATE_CHANNEL that are up (change followers say so)
        self.generation = 0  # bumped by `changed`
        self.tag: str | None = None
        self._stamp: tuple[int, ...] | None = None  # what `stamp` said when `tag` was read
        self.hits = 0  # tags answered without a query
        self.reads = 0  # tags read from the database

    @property
    def listening(self) -> bool:
        return self.listeners > 0

    def get(self) -> str | None:
        if self.tag is None:
            return None
        if self.stamp() != self._stamp:
            self.tag = None
            return None
        self.hits += 1
        return self.tag

    def stamp(self) -> tuple[int, ...] | None:
        """Taken before a read: the state the tag read then belongs to; None when nothing may be kept."""
        if self.filename is None:
            return (self.generation,) if self.listening else None
        files = sqlite_file_state(self.filename)
        return None if files is None else (self.generation, *files)

    def put(self, stamp: tuple[int, ...] | None, tag: str) -> None:
        """Keep `tag`, read after `stamp` was taken, unless a write was heard or seen meanwhile."""
        if stamp is None or stamp != self.stamp():
            return
        if self.filename is not None and not settled((stamp[1], stamp[2], stamp[3], stamp[4])):
            return
        self.tag, self._stamp = tag, stamp

    def changed(self) -> None:
        """A write to the state's tables was heard (or made here): keep nothing read before."""
        self.generation += 1
        self.tag = None

    def listen(self, on: bool) -> None:
        """Whether one more (True) or one fewer (False) LISTEN connection hears STATE_CHANNEL."""
        self.listeners = max(0, self.listeners + (1 if on else -1))
        self.changed()  # a write between the last notification heard and now may have gone unheard


_caches: dict[tuple[Any, ...], StateCache] = {}
_of_connection: weakref.WeakKeyDictionary[BaseDBAsyncClient, StateCache] = weakref.WeakKeyDictionary()


def _identity(conn: BaseDBAsyncClient) -> tuple[Any, ...] | None:
    if isinstance(conn, TransactionalDBClient):
        return None  # a transaction's client, which sees its own writes before they commit: nothing kept
    filename, host = getattr(conn, "filename", None), getattr(conn, "host", None)
    if filename is not None:
        return ("sqlite", os.path.abspath(filename)) if filename != ":memory:" else None
    if host is None:
        return None
    return ("postgres", host, getattr(conn, "port", None), getattr(conn, "database", None))


def state_cache_of(conn: BaseDBAsyncClient) -> StateCache:
    """The state cache of the database `conn` belongs to (one per database in the process)."""
    cache = _of_connection.get(conn)
    if cache is None:
        key = _identity(conn)
        cache = StateCache() if key is None else _caches.setdefault(
            key, StateCache(key[1] if key[0] == "sqlite" else None))
        _of_connection[conn] = cache
    return cache


def state_changed() -> None:
    """This process is writing change, review event or register rows: forget every kept tag at once
    (the other processes hear of it at commit, through the triggers' NOTIFY)."""
    for cache in list(_caches.values()):
        cache.changed()


async def state_tag() -> str:
    """'<newest change>.<newest review event>.<register date>' of the current database."""
    conn = current_connection()
    cache = state_cache_of(conn)
    kept = cache.get()
    if kept is not None:
        return kept
    stamp = cache.stamp()
    cache.reads += 1
    _, rows = await conn.execute_query(_STATE_SQL)
    row = dict(rows[0]) if rows else {}
    tag = f"{row.get('c') or 0}.{row.get('r') or 0}.{row.get('g') or ''}"
    cache.put(stamp, tag)
    return tag
