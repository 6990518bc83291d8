"""Public entries as plain values, read in keyset chunks, for the open-data faces.

The DCAT-AP.de catalogue, the Atom feeds and the CSV/JSON Lines exports all
show the same thing: the public, not withdrawn entries of this node (its own
and those received from peers), with their publisher and topics. This module
is their one reader. It turns rows into frozen `EntryRecord` values, so the
builders in `dcat`, `feeds` and `exports` beside it stay pure,
and it reads in chunks ordered by the internal id (a keyset, never OFFSET over
the whole table when streaming), so a catalogue of 100,000 entries never sits
in memory. Publishers and topics are looked up once per chunk, not per entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from exchange.attachments import Attachment
from exchange.models import Entry, EntryTopic, Municipality, Organisation, Topic

CHUNK = 500
_BASE_FIELDS = (
    "id",
    "uid",
    "kind",
    "origin_node",
    "version",
    "title",
    "summary",
    "language",
    "license",
    "keywords",
    "municipality_id",
    "organisation_id",
    "contact_role",
    "contact_email",
    "status",
    "period_start",
    "period_end",
    "created_at",
    "updated_at",
)
_BODY_FIELDS = ("body_markdown", "body_html")


@dataclass(frozen=True)
class TopicRecord:
    slug: str
    label_de: str
    label_en: str
    eu_theme: str
    uri: str


@dataclass(frozen=True)
class FileRecord:
    """An attachment of a public entry, as a DCAT distribution describes it."""

    digest: str
    size: int
    media_type: str
    title: str
    description: str
    license: str
    language: str


@dataclass(frozen=True)
class PublisherRecord:
    """A municipality (register data: name and official key) or an organisation."""

    kind: str  # "municipality" | "organisation"
    key: str  # 12-digit ARS, 5-digit Kreis key, or organisation slug
    name: str
    level: str = ""  # "gemeinde" | "kreis" for municipalities
    register_date: str = ""  # YYYYMMDD of the register snapshot the row comes from
    website: str = ""

    @property
    def from_register(self) -> bool:
        return self.kind == "municipality"


@dataclass(frozen=True)
class EntryRecord:
    """One public entry, as the open-data faces need it (no personal contact data)."""

    id: int
    uid: str
    kind: str
    origin: str
    version: int
    title: str
    summary: str
    language: str
    license: str
    keywords: tuple[str, ...]
    topics: tuple[TopicRecord, ...]
    publisher: PublisherRecord | None
    contact_role: str
    contact_email: str
    status: str | None
    period_start: str | None
    period_end: str | None
    created_at: datetime
    updated_at: datetime
    body_markdown: str = ""
    body_html: str = ""
    files: tuple[FileRecord, ...] = ()

    def url(self, suffix: str = "") -> str:
        """The entry's address on its origin node (`suffix`: "", ".md", ".html")."""
        return f"{self.origin.rstrip('/')}/entries/{self.uid}{suffix}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class RecordReader:
    """Turns entry rows into records; caches topics and publishers across chunks."""

    def __init__(self) -> None:
        self._topics: dict[int, TopicRecord] | None = None
        self._municipalities: dict[int, PublisherRecord] = {}
        self._organisations: dict[int, PublisherRecord] = {}

    async def _topic_table(self) -> dict[int, TopicRecord]:
        if self._topics is None:
            rows = await Topic.all().values("id", "slug", "label_de", "label_en", "eu_theme", "uri")
            self._topics = {
                r["id"]: TopicRecord(
                    r["slug"], r["label_de"], r["label_en"], r["eu_theme"], r["uri"]
                )
                for r in rows
            }
        return self._topics

    async def _publishers(self, rows: list[dict[str, Any]]) -> None:
        muni_ids = {r["municipality_id"] for r in rows if r["municipality_id"]} - set(
            self._municipalities
        )
        if muni_ids:
            for m in await Municipality.filter(id__in=muni_ids).values(
                "id", "official_key", "name", "level", "register_date"
            ):
                self._municipalities[m["id"]] = PublisherRecord(
                    "municipality",
                    m["official_key"],
                    m["name"],
                    m["level"],
                    m["register_date"] or "",
                )
        org_ids = {r["organisation_id"] for r in rows if r["organisation_id"]} - set(
            self._organisations
        )
        if org_ids:
            for o in await Organisation.filter(id__in=org_ids).values(
                "id", "slug", "name", "website"
            ):
                self._organisations[o["id"]] = PublisherRecord(
                    "organisation", o["slug"], o["name"], website=o["website"] or ""
                )

    async def records(self, rows: list[dict[str, Any]]) -> list[EntryRecord]:
        """Records for entry rows (as `.values()` returns them), in the same order."""
        if not rows:
            return []
        topics = await self._topic_table()
        await self._publishers(rows)
        links: dict[int, list[TopicRecord]] = {}
        for link in (
            await EntryTopic.filter(entry_id__in=[r["id"] for r in rows])
            .order_by("topic_id")
            .values("entry_id", "topic_id")
        ):
            if link["topic_id"] in topics:
                links.setdefault(link["entry_id"], []).append(topics[link["topic_id"]])
        files: dict[int, list[FileRecord]] = {}
        for a in await Attachment.filter(entry_id__in=[r["id"] for r in rows], present=True).order_by(
            "position", "id"
        ):
            files.setdefault(a.entry_id, []).append(FileRecord(
                a.digest, a.size, a.media_type, a.title, a.description, a.license, a.language))
        out: list[EntryRecord] = []
        for r in rows:
            publisher = (
                self._municipalities.get(r["municipality_id"])
                if r["municipality_id"]
                else self._organisations.get(r["organisation_id"])
            )
            out.append(
                EntryRecord(
                    id=r["id"],
                    uid=str(r["uid"]),
                    kind=r["kind"],
                    origin=r["origin_node"],
                    version=r["version"],
                    title=r["title"],
                    summary=r["summary"] or "",
                    language=r["language"] or "de",
                    license=r["license"] or "",
                    keywords=tuple(str(k) for k in (r["keywords"] or ())),
                    topics=tuple(links.get(r["id"], ())),
                    publisher=publisher,
                    contact_role=r["contact_role"] or "",
                    contact_email=r["contact_email"] or "",
                    status=r["status"],
                    period_start=r["period_start"],
                    period_end=r["period_end"],
                    created_at=_aware(r["created_at"]),
                    updated_at=_aware(r["updated_at"]),
                    body_markdown=r.get("body_markdown") or "",
                    body_html=r.get("body_html") or "",
                    files=tuple(files.get(r["id"], ())),
                )
            )
        return out


def _public() -> Any:
    return Entry.filter(visibility="public", deleted=False)


def _fields(with_body: bool) -> tuple[str, ...]:
    return _BASE_FIELDS + (_BODY_FIELDS if with_body else ())


async def iter_public(
    chunk: int = CHUNK, *, with_body: bool = False
) -> AsyncIterator[list[EntryRecord]]:
    """All public entries in id order, `chunk` at a time (keyset on the id)."""
    reader = RecordReader()
    last = 0
    while True:
        rows = (
            await _public()
            .filter(id__gt=last)
            .order_by("id")
            .limit(chunk)
            .values(*_fields(with_body))
        )
        if not rows:
            return
        last = rows[-1]["id"]
        yield await reader.records(rows)
        if len(rows) < chunk:
            return


async def count_public() -> int:
    return int(await _public().count())


async def public_page(page: int, size: int) -> list[EntryRecord]:
    """Page `page` (1-based) of the public entries in id order, for the paged catalogue."""
    rows = (
        await _public().order_by("id").offset((page - 1) * size).limit(size).values(*_fields(False))
    )
    return await RecordReader().records(rows)


async def newest_public(
    limit: int, *, topic_id: int | None = None, publisher: tuple[str, int] | None = None
) -> list[EntryRecord]:
    """The most recently changed public entries, optionally of one topic or publisher."""
    query = _public()
    if topic_id is not None:
        query = query.filter(topic_links__topic_id=topic_id)
    if publisher is not None:
        kind, pid = publisher
        query = query.filter(
            **{"municipality_id" if kind == "municipality" else "organisation_id": pid}
        )
    rows = await query.order_by("-updated_at", "-id").limit(limit).values(*_fields(False))
    return await RecordReader().records(rows)


async def public_entry(entry: Entry) -> EntryRecord:
    """The record of one entry row (the caller checked that it is public)."""
    rows = await Entry.filter(id=entry.id).values(*_fields(True))
    return (await RecordReader().records(rows))[0]


async def latest_public_change() -> datetime | None:
    """When the public catalogue last changed (the newest `updated_at`), if it has entries."""
    rows = await _public().order_by("-updated_at").limit(1).values("updated_at")
    return _aware(rows[0]["updated_at"]) if rows else None
