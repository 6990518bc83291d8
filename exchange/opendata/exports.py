"""The public catalogue as CSV and JSON Lines, for people who want a file to open.

Both exports have the same stable, documented columns (`COLUMNS`, in this
order; new columns are only ever appended); JSON Lines adds the Markdown body
(`body_markdown`), which a spreadsheet cell cannot hold well, and keeps lists
as arrays where CSV joins them with "; ". Both are streamed: `stream_csv` and
`stream_jsonl` read the catalogue in keyset chunks (`exchange.opendata.records`) and
yield one encoded block per chunk, so memory stays flat however large the
catalogue is. Rows published by a municipality carry the register's
attribution in `attribution`, because its name and key come from the register.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from exchange.opendata.dcat import licence_of, register_attribution
from exchange.opendata.records import CHUNK, EntryRecord, iter_public

# (column, meaning) — the documented contract of both exports.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "global id of the entry (UUID), the same on every node"),
    ("kind", "project | guide | lesson"),
    ("title", "title"),
    ("summary", "short summary"),
    ("language", "de | en"),
    ("topics", "topic slugs (Musterdatenkatalog themes), '; '-separated in CSV"),
    ("eu_themes", "EU data theme codes of those topics (e.g. GOVE), '; '-separated in CSV"),
    ("keywords", "free keywords, '; '-separated in CSV"),
    ("publisher_type", "municipality | organisation"),
    ("publisher_key", "12-digit ARS (5 digits for a Kreis) or the organisation's slug"),
    ("publisher_name", "official name (register) or organisation name"),
    ("status", "projects: planned | running | completed | stopped"),
    ("period_start", "projects: YYYY-MM or YYYY-MM-DD"),
    ("period_end", "projects: YYYY-MM or YYYY-MM-DD"),
    ("contact_role", "role address (never a person)"),
    ("contact_email", "role e-mail address"),
    ("license", "licence id (SPDX)"),
    ("license_url", "the licence's DCAT-AP.de URI"),
    ("origin_node", "base URL of the node where the entry was written"),
    ("url", "web page of the entry on its origin node"),
    ("markdown_url", "the entry as Markdown"),
    ("version", "version number at its origin"),
    ("created_at", "first published (ISO 8601, UTC)"),
    ("updated_at", "last changed (ISO 8601, UTC)"),
    ("attribution", "source note for register data in this row (municipal publishers)"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
JSONL_EXTRA = (("body_markdown", "the full text as Markdown (JSON Lines only)"),)
LIST_COLUMNS = ("topics", "eu_themes", "keywords")


def row_of(e: EntryRecord) -> dict[str, Any]:
    """One entry as a row of the exports (lists still lists)."""
    p = e.publisher
    return {
        "id": e.uid,
        "kind": e.kind,
        "title": e.title,
        "summary": e.summary,
        "language": e.language,
        "topics": [t.slug for t in e.topics],
        "eu_themes": sorted({t.eu_theme for t in e.topics if t.eu_theme}),
        "keywords": list(e.keywords),
        "publisher_type": p.kind if p else "",
        "publisher_key": p.key if p else "",
        "publisher_name": p.name if p else "",
        "status": e.status or "",
        "period_start": e.period_start or "",
        "period_end": e.period_end or "",
        "contact_role": e.contact_role,
        "contact_email": e.contact_email,
        "license": e.license,
        "license_url": licence_of(e.license)[0],
        "origin_node": e.origin,
        "url": e.url(),
        "markdown_url": e.url(".md"),
        "version": e.version,
        "created_at": e.created_at.isoformat(),
        "updated_at": e.updated_at.isoformat(),
        "attribution": register_attribution(p.register_date) if p and p.from_register else "",
    }


def csv_header() -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(COLUMN_NAMES)
    return out.getvalue()


def csv_rows(records: Iterable[EntryRecord]) -> str:
    """CSV lines (RFC 4180, CRLF) for some entries, without the header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for e in records:
        row = row_of(e)
        writer.writerow(["; ".join(row[c]) if c in LIST_COLUMNS else row[c] for c in COLUMN_NAMES])
    return out.getvalue()


def jsonl_rows(records: Iterable[EntryRecord]) -> str:
    """One JSON object per line: the columns in order, then `body_markdown`."""
    lines = []
    for e in records:
        row = row_of(e)
        row["body_markdown"] = e.body_markdown
        lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(lines)


async def stream_csv(chunk: int = CHUNK) -> AsyncIterator[bytes]:
    yield csv_header().encode("utf-8")
    async for records in iter_public(chunk):
        yield csv_rows(records).encode("utf-8")


async def stream_jsonl(chunk: int = CHUNK) -> AsyncIterator[bytes]:
    async for records in iter_public(chunk, with_body=True):
        yield jsonl_rows(records).encode("utf-8")
