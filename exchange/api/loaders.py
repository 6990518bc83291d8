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

from exchange.models import Entry, EntryTopic, Municipality, Organisation, Revision, Topic


async def _topics_by_entry(ids: Sequence[int]) -> list[list[Topic]]:
    links = await EntryTopic.filter(entry_id__in=list(ids)).values_list("entry_id", "topic_id")
    topic_ids = {t for _, t in links}
    topics = {t.id: t for t in await Topic.filter(id__in=list(topic_ids))} if topic_ids else {}
    grouped: dict[int, list[Topic]] = defaultdict(list)
    for entry_id, topic_id in links:
        grouped[entry_id].append(topics[topic_id])
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
