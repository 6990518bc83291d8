"""The change feed's sequence: every stored version gets the node's next number, in commit order.

`append_change` numbers one version (the catalogue's writes, curation records);
`claim_sequence` is the lock (and on PostgreSQL the NOTIFY) every writer of
change rows takes first, `federation.batch` included for its bulk inserts.
"""

from __future__ import annotations

from exchange.db import current_connection, dialect_of
from exchange.freshness import state_changed
from exchange.models import Change, Entry

__all__ = ["CHANGE_CHANNEL", "append_change", "claim_sequence"]


async def append_change(entry: Entry) -> Change:
    """Give this version the node's next sequence number, in commit order.

    On PostgreSQL an advisory lock held until commit serialises the assignment,
    so a reader that sees sequence n has seen every number below n. SQLite
    allows one writer at a time, which serialises it already.
    """
    await claim_sequence()
    return await Change.create(
        entry_uid=entry.uid,
        version=entry.version,
        origin_node=entry.origin_node,
        visibility=entry.visibility,
        created_at=entry.updated_at,
    )


CHANGE_CHANNEL = "exchange_change"  # PostgreSQL NOTIFY channel: the change feed moved on


async def claim_sequence() -> None:
    """Within the caller's transaction, before change rows are inserted: on PostgreSQL take
    the advisory lock that serialises sequence numbers, and queue a NOTIFY on
    `CHANGE_CHANNEL`, which PostgreSQL delivers at commit (and drops on rollback), so
    the other processes' followers (`exchange.follow`) catch up at once. This process's
    kept state tag is forgotten at once (`exchange.freshness`)."""
    state_changed()
    conn = current_connection()
    if dialect_of(conn) == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock(7305)")
        await conn.execute_query(f"SELECT pg_notify('{CHANGE_CHANNEL}', '')")
