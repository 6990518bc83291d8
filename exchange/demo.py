"""Demo content for `exchange serve --demo`: register, topics, organisations, entries.

Everything is loaded into an empty node only; a node that already holds
entries is left as it is. Demo entries are invented examples (see
exchange/data/demo/README.md); their ids are derived from the node URL and
the file's id, so loading twice never duplicates anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from exchange.auth import Actor, find_publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.errors import InvalidInputError
from exchange.models import Entry, Municipality, Organisation
from exchange.registry import import_register, load_snapshot
from exchange.topics import import_topics

DEMO_DIR = Path(__file__).parent / "data" / "demo"
DEMO_NAMESPACE = uuid.UUID("6f1d3c2e-5a0b-4f7e-9a51-2d0c8e1b7a44")
KIND_ORDER = {"project": 0, "guide": 1, "lesson": 2}


@dataclass
class DemoReport:
    municipalities: int
    topics: int
    organisations: int
    entries: int


def demo_uid(node_url: str, slug: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"{node_url}|{slug}")


async def ensure_reference_data(progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """The bundled register and topics, when the node has none yet."""
    municipalities = 0
    if not await Municipality.exists():
        report = await import_register(load_snapshot(), progress=progress)
        municipalities = report.created
    topics = await import_topics()
    return municipalities, topics


async def load_organisations(path: Path = DEMO_DIR / "organisations.yaml") -> int:
    created = 0
    for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        _, was_created = await Organisation.get_or_create(
            slug=row["slug"],
            defaults={k: row.get(k, "") for k in ("name", "kind", "website", "description")},
        )
        created += int(was_created)
    return created


def _entry_input(meta: dict[str, Any], body: str, uids: dict[str, uuid.UUID]) -> EntryInput:
    names = {f for f in EntryInput.__dataclass_fields__}
    values = {k: v for k, v in meta.items() if k in names and k not in ("kind", "project_id")}
    for key in ("period_start", "period_end"):
        if key in values and values[key] is not None:
            values[key] = str(values[key])
    project = meta.get("project")
    if project:
        if project not in uids:
            raise InvalidInputError(f"demo entry {meta['id']}: project {project!r} is not a demo project")
        values["project_id"] = str(uids[project])
    return EntryInput(kind=meta["kind"], body_markdown=body, **values)


async def load_entries(catalogue: Catalogue, directory: Path = DEMO_DIR / "entries") -> int:
    """Publish the demo entries (projects before the lessons that point at them)."""
    docs = [frontmatter.load(str(p)) for p in sorted(directory.glob("*.md"))]
    docs.sort(key=lambda d: KIND_ORDER.get(str(d.metadata.get("kind")), 9))
    uids = {str(d.metadata["id"]): demo_uid(catalogue.node_url, str(d.metadata["id"])) for d in docs}
    created = 0
    for doc in docs:
        meta = dict(doc.metadata)
        uid = uids[str(meta["id"])]
        if await Entry.exists(uid=uid):
            continue
        publisher = await find_publisher(str(meta["publisher"]))
        actor = Actor(publisher=publisher, scopes=frozenset({"publish"}))
        await catalogue.publish(actor, _entry_input(meta, doc.content, uids), uid=uid)
        created += 1
    return created


async def load_demo(catalogue: Catalogue, progress: Callable[[int, int], None] | None = None) -> DemoReport:
    municipalities, topics = await ensure_reference_data(progress)
    organisations = await load_organisations()
    entries = 0
    if not await Entry.filter(origin_node=catalogue.node_url).exists():
        entries = await load_entries(catalogue)
    from exchange.curation import load_curation_demo  # starter guides, a collection, an endorsement

    await load_curation_demo(catalogue, demo_uid)
    return DemoReport(municipalities, topics, organisations, entries)
