"""The controlled topic vocabulary: Musterdatenkatalog Themen and EU data themes.

Entries are tagged with the 26 first-level Themen of the Musterdatenkatalog
(scheme "mdk"), the municipal topic tree German municipalities already use for
their open data; each carries the EU data theme (scheme "eu-theme", the 13
DCAT-AP categories) that covers it, for the DCAT-AP.de export and for peers
outside Germany. Both vocabularies ship as one table, `exchange/data/topics.csv`
(derivation and the reasons for the mapping: `exchange/data/README.md`).
`load_topic_rows` reads it without a database; `import_topics` upserts it into
`Topic` by slug, so running it again changes nothing and never deletes a topic
that entries may still point at.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from tortoise.transactions import in_transaction

from exchange.errors import InvalidInputError
from exchange.models import Topic

TOPICS_PATH = Path(__file__).parent / "data" / "topics.csv"
SCHEMES = ("mdk", "eu-theme")
EU_THEMES = (
    "AGRI",
    "ECON",
    "EDUC",
    "ENER",
    "ENVI",
    "GOVE",
    "HEAL",
    "INTR",
    "JUST",
    "REGI",
    "SOCI",
    "TECH",
    "TRAN",
)
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
COLUMNS = (
    "slug",
    "scheme",
    "position",
    "label_de",
    "label_en",
    "eu_theme",
    "uri",
    "parent",
    "description",
)


@dataclass(frozen=True, slots=True)
class TopicRow:
    """One concept of the shipped vocabulary; `parent` is a slug or ""."""

    slug: str
    scheme: str
    position: int
    label_de: str
    label_en: str
    eu_theme: str
    uri: str
    parent: str
    description: str


def parse_topic_rows(text: str) -> list[TopicRow]:
    """Rows of a topics table, checked: unique ASCII slugs, known schemes and themes, parents."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise InvalidInputError(f"topics table must have the columns {', '.join(COLUMNS)}")
    rows: list[TopicRow] = []
    for line, record in enumerate(reader, start=2):
        try:
            row = TopicRow(**{**record, "position": int(record["position"])})  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"topics table line {line}: {exc}") from None
        problem = (
            "slug must be lower-case ASCII words joined by hyphens"
            if not _SLUG.fullmatch(row.slug)
            else f"unknown scheme {row.scheme!r}"
            if row.scheme not in SCHEMES
            else f"unknown EU data theme {row.eu_theme!r}"
            if row.eu_theme not in (*EU_THEMES, "")
            else "German and English labels are required"
            if not (row.label_de and row.label_en)
            else ""
        )
        if problem:
            raise InvalidInputError(f"topics table line {line}: {problem}")
        rows.append(row)
    slugs = [row.slug for row in rows]
    if len(set(slugs)) != len(slugs):
        raise InvalidInputError("topics table has duplicate slugs")
    missing = {row.parent for row in rows if row.parent} - set(slugs)
    if missing:
        raise InvalidInputError(f"topics table names unknown parents: {', '.join(sorted(missing))}")
    return rows


def load_topic_rows(path: Path = TOPICS_PATH) -> list[TopicRow]:
    """The shipped vocabulary (or another table with the same columns)."""
    return parse_topic_rows(path.read_text(encoding="utf-8"))


async def import_topics(rows: list[TopicRow] | None = None) -> int:
    """Upsert the vocabulary into `Topic` by slug in one transaction.

    Returns how many topics were created or changed: 0 when the table is already in.
    """
    rows = load_topic_rows() if rows is None else rows
    written: set[str] = set()
    async with in_transaction() as conn:
        existing = {
            t.slug: t for t in await Topic.filter(slug__in=[r.slug for r in rows]).using_db(conn)
        }
        for row in rows:
            values = asdict(row)
            del values["slug"], values["parent"]
            topic = existing.get(row.slug)
            if topic is None:
                existing[row.slug] = await Topic.create(slug=row.slug, using_db=conn, **values)
                written.add(row.slug)
            elif any(getattr(topic, name) != value for name, value in values.items()):
                topic.update_from_dict(values)
                await topic.save(using_db=conn)
                written.add(row.slug)
        # Parents once every row exists, so that the table's order does not matter.
        for row in rows:
            topic = existing[row.slug]
            parent_id = existing[row.parent].id if row.parent else None
            if topic.parent_id != parent_id:  # type: ignore[attr-defined]
                topic.parent_id = parent_id
                await topic.save(update_fields=["parent_id"], using_db=conn)
                written.add(row.slug)
    return len(written)
