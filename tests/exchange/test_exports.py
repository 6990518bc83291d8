"""CSV and JSON Lines exports: stable columns, quoting, streaming in chunks."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from exchange.db import Database
from exchange.models import Entry, Municipality
from exchange.opendata import exports
from tests.exchange.test_dcat import ORG, record
from tests.helpers import seed

# The documented contract: changing this list is a breaking change for people's scripts.
STABLE = (
    "id",
    "kind",
    "title",
    "summary",
    "language",
    "topics",
    "eu_themes",
    "keywords",
    "publisher_type",
    "publisher_key",
    "publisher_name",
    "status",
    "period_start",
    "period_end",
    "contact_role",
    "contact_email",
    "license",
    "license_url",
    "origin_node",
    "url",
    "markdown_url",
    "version",
    "created_at",
    "updated_at",
    "attribution",
)


def test_columns_are_stable() -> None:
    assert exports.COLUMN_NAMES == STABLE


def test_csv_quotes_hostile_values() -> None:
    tricky = record(title='Komma, "Zitat"\nund Zeile', keywords=("a; b", "c"))
    text = exports.csv_header() + exports.csv_rows([tricky, record(2, publisher=ORG)])
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[0]["title"] == 'Komma, "Zitat"\nund Zeile'
    assert rows[0]["keywords"] == "a; b; c"
    assert rows[0]["eu_themes"] == "REGI"
    assert "Destatis" in rows[0]["attribution"] and rows[1]["attribution"] == ""


def test_jsonl_is_one_object_per_line() -> None:
    text = exports.jsonl_rows([record(body_markdown="# A\n\nzwei\nZeilen"), record(2)])
    lines = text.splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert list(first) == [*STABLE, "body_markdown"]
    assert first["topics"] == ["bau", "sonstiges"] and first["body_markdown"].endswith("Zeilen")


async def test_streams_in_chunks(db: Database) -> None:
    await seed(db)
    muni = await Municipality.first()
    assert muni is not None
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(7):
        await Entry.create(
            uid=f"00000000-0000-4000-8000-{n:012d}",
            kind="guide",
            origin_node="http://a.test",
            title=f"E{n}",
            summary="s",
            municipality_id=muni.id,
            created_at=start,
            updated_at=start + timedelta(days=n),
            visibility="local" if n == 3 else "public",
        )
    blocks = [b async for b in exports.stream_csv(chunk=2)]
    assert len(blocks) == 1 + 3  # header, then 6 public entries two at a time
    rows = list(csv.DictReader(io.StringIO(b"".join(blocks).decode())))
    assert [r["title"] for r in rows] == ["E0", "E1", "E2", "E4", "E5", "E6"]
    lines = [b async for b in exports.stream_jsonl(chunk=4)]
    assert len(lines) == 2
