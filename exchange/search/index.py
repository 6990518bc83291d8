"""Keeping the full-text index in step with entries.

On SQLite the index is an FTS5 table whose rowid is the entry's id; on
PostgreSQL the database maintains it by itself: stored vectors of
`entry.search_terms` with a GIN index (migration 0005) and the narrow
`entry_match` table of lexemes and relevance levels (0006), which triggers
keep in step with every insert and update, whoever writes. Called inside the writer's transaction.
"""

from __future__ import annotations

from exchange.db import current_connection, dialect_of
from exchange.models import Entry


async def update(entry: Entry) -> None:
    """Index the entry's current terms (or drop it from the index when deleted)."""
    conn = current_connection()
    if dialect_of(conn) == "postgres":
        return
    await conn.execute_query("DELETE FROM entry_fts WHERE rowid = ?", [entry.id])
    if not entry.deleted:
        await conn.execute_query(
            "INSERT INTO entry_fts (rowid, terms) VALUES (?, ?)", [entry.id, entry.search_terms]
        )


async def rebuild() -> int:
    """Index every entry anew (after a bulk load); returns the number indexed.

    On PostgreSQL the triggers did that already; `entry_match` is repaired all
    the same, in case rows were written with triggers off (a restore).
    """
    conn = current_connection()
    if dialect_of(conn) == "postgres":
        await conn.execute_script(
            "INSERT INTO entry_match (id, terms, levels) SELECT id, strip(search_vector), "
            "entry_levels(search_vector) FROM entry ON CONFLICT (id) DO UPDATE SET terms = EXCLUDED.terms, "
            "levels = EXCLUDED.levels WHERE (entry_match.terms, entry_match.levels) "
            "IS DISTINCT FROM (EXCLUDED.terms, EXCLUDED.levels)"
        )
        return await Entry.filter(deleted=False).count()
    await conn.execute_script("DELETE FROM entry_fts")
    await conn.execute_query(
        "INSERT INTO entry_fts (rowid, terms) SELECT id, search_terms FROM entry WHERE deleted = 0"
    )
    return await Entry.filter(deleted=False).count()
