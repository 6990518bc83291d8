"""DataLoaders: every relation of a page is fetched in one query per kind.

A page of 50 entries asks for its topics, publishers and linked projects
through these loaders; each loader batches the keys of the whole page into one
`IN (...)` query, so the query count stays constant whatever the page size.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from exchange.db import current_connection, dialect_of
from exchange.models import Entry, Municipality, Organisation, Revision, Topic


async def _topics_by_entry(ids: Sequence[int]) -> list[list[Topic]]:
    """Topics of many entries in one query (a join: the page costs one round trip, not two)."""
    conn = current_connection()
    marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1)) if dialect_of(conn) == "postgres" else ", ".join("?" * len(ids))
    rows = await conn.execute_query_dict(
        "SELECT et.entry_id AS link_entry_id, t.* FROM entry_topic et JOIN topic t ON t.id = et.topic_id "
        f"WHERE et.entry_id IN ({marks})", list(ids),
    )
    topics: dict[int, Topic] = {}
    grouped: dict[int, list[Topic]] = defaultdict(list)
    for row in rows:
        entry_id = row.pop("link_entry_id")
        topic = topics.get(row["id"])
        if topic is None:
            topic = topics[row["id"]] = Topic._init_from_db(**row)
        grouped[entry_id].append(topic)
    return [sorted(grouped.get(i, []), key=lambda t: (t.position, t.slug)) for i in ids]


async def _municipalities(ids: Sequence[int]) -> list[Municipality | None]:
    found = {m.id: m for m in await Municipality.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]


async def _organisations(ids: Sequence[int]) -> list[Organisation | None]:
    found = {o.id: o for o in await Organisation.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]


async def _entries_by_uid(uids: Sequence[uuid.UUID]) -> list[Entry | None]:
    found = {e.uid: e for e in await Entry.filter(uid__in=list(uids))}
    return [found.get(u) for u in uids]


async def _lessons_by_project(uids: Sequence[uuid.UUID]) -> list[list[Entry]]:
    grouped: dict[uuid.UUID, list[Entry]] = defaultdict(list)
    for e in await Entry.filter(project_uid__in=list(uids), kind="lesson", deleted=False).order_by("-updated_at"):
        assert e.project_uid is not None
        grouped[e.project_uid].append(e)
    return [grouped.get(u, []) for u in uids]


async def _revisions(ids: Sequence[int]) -> list[list[Revision]]:
    grouped: dict[int, list[Revision]] = defaultdict(list)
    for r in await Revision.filter(entry_id__in=list(ids)).order_by("-version"):
        grouped[r.entry_id].append(r)  # type: ignore[attr-defined]
    return [grouped.get(i, []) for i in ids]


async def _topics_by_id(ids: Sequence[int]) -> list[Topic | None]:
    found = {t.id: t for t in await Topic.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]


class Loaders:
    """One set of loaders per request (their caches must not outlive it)."""

    def __init__(self) -> None:
        self.topics_by_entry = DataLoader(load_fn=_topics_by_entry)
        self.municipality = DataLoader(load_fn=_municipalities)
        self.organisation = DataLoader(load_fn=_organisations)
        self.entry_by_uid = DataLoader(load_fn=_entries_by_uid)
        self.lessons_by_project = DataLoader(load_fn=_lessons_by_project)
        self.revisions = DataLoader(load_fn=_revisions)
        self.topic = DataLoader(load_fn=_topics_by_id)
