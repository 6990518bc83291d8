"""An entry is found by the text of its files: attachment terms join the entry's search terms.

The text extracted from an entry's PDFs and office documents, and the
titles and descriptions of all its files, are stemmed like a body (counted
once) and appended to `entry.search_terms` after a marker, so the search of
`exchange.search` (FTS5 on SQLite, the stored vector on PostgreSQL) finds
the entry by a word that occurs only in its evaluation report. A revision
recomputes the entry's own terms without them; the listener puts them back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from content import terms
from exchange.attachments.models import Attachment, AttachmentBlob
from exchange.db import current_connection, dialect_of
from exchange.models import Entry
from exchange.search import index as search_index

CHUNK = 500  # entry ids in one query (SQLite allows a limited number of parameters)
MARK = "zzfileszz"  # never a stem of a real word: where the entry's own terms end


def own_terms(search_terms: str) -> str:
    return search_terms.split(f" {MARK} ", 1)[0].removesuffix(f" {MARK}")


def file_terms(texts: list[str], language: str) -> str:
    """The stems of the files' texts (pure: runs in a worker thread)."""
    return " ".join(t for text in texts for t in terms(text, language))


async def reindex(entry: Entry) -> None:
    """Put the terms of the entry's files (those received) after its own terms."""
    rows = await Attachment.filter(entry_id=entry.id, present=True).order_by("position", "id")
    texts = [f"{a.title} {a.description}" for a in rows]
    if rows:
        blobs = await AttachmentBlob.filter(digest__in=[a.digest for a in rows]).values_list("text", flat=True)
        texts.extend(str(t) for t in blobs if t)
    extra = await asyncio.to_thread(file_terms, texts, entry.language) if texts else ""
    wanted = own_terms(entry.search_terms) + (f" {MARK} {extra}" if extra else "")
    if wanted != entry.search_terms:
        entry.search_terms = wanted
        await entry.save(update_fields=["search_terms"])
        await search_index.update(entry)


async def after_write(entry: Entry) -> None:
    """A listener of every write: a revision dropped the files' terms; add them again."""
    await after_writes([entry])


async def after_writes(entries: Sequence[Entry]) -> None:
    """`after_write` for many entries: one query finds those that have files."""
    ids = [e.id for e in entries if not e.deleted and MARK not in e.search_terms]
    with_files = await entries_with_files(ids, present=True) if ids else set()
    for entry in entries:
        if entry.id in with_files and not entry.deleted and MARK not in entry.search_terms:
            await reindex(entry)


async def entries_with_files(ids: Sequence[int], present: bool = False) -> set[int]:
    """Those of `ids` whose entries have attachment rows (with `present`, files held here).
    One plain query per CHUNK ids: building them with the ORM cost more than running them."""
    conn = current_connection()
    postgres = dialect_of(conn) == "postgres"
    held = " AND present" if present else ""
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start:start + CHUNK])
        where = "entry_id = ANY($1::int[])" if postgres else f"entry_id IN ({', '.join('?' * len(chunk))})"
        _, rows = await conn.execute_query(
            f'SELECT DISTINCT entry_id FROM "{Attachment._meta.db_table}" WHERE {where}{held}',
            [chunk] if postgres else chunk)
        found.update(int(row["entry_id"]) for row in rows)
    return found
