"""What the pages read: entries with their relations, municipalities, topics, peers.

Each function gathers the values one page shows, in a fixed small number of
queries (relations of a list are fetched with one `IN` query per kind, as the
API's DataLoaders do). Results are plain values and model rows; the routes
turn them into templates. Peer matches come from the node's matcher service
when one is installed (`node.services.matcher`), through `peers_of`.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from content import terms
from exchange.access import may_see, visible_revisions
from exchange.auth import Actor, find_municipality
from exchange.catalogue import parse_uid
from exchange.db import current_connection, dialect_of
from exchange.errors import ExchangeError, NotFoundError
from exchange.matching import Matcher
from exchange.models import Entry, EntryTopic, Municipality, Organisation, Revision, Topic
from exchange.placenames import display_name
from exchange.search import latest_seq

log = logging.getLogger("exchange.web")


@dataclass
class Card:
    """An entry as a list shows it: the row, its publisher's name and key, its topics."""

    entry: Entry
    publisher_name: str
    publisher_href: str | None
    topics: list[Topic] = field(default_factory=list)


async def cards(entries: Sequence[Entry]) -> list[Card]:
    """List items for entries: publishers and topics in three queries for the whole list."""
    ids = [e.id for e in entries]
    muni_ids = {e.municipality_id for e in entries if e.municipality_id}
    org_ids = {e.organisation_id for e in entries if e.organisation_id}
    munis = {m.id: m for m in await Municipality.filter(id__in=list(muni_ids))} if muni_ids else {}
    orgs = {o.id: o for o in await Organisation.filter(id__in=list(org_ids))} if org_ids else {}
    by_entry: dict[int, list[Topic]] = defaultdict(list)
    if ids:
        links = await EntryTopic.filter(entry_id__in=ids).values_list("entry_id", "topic_id")
        topic_ids = {t for _, t in links}
        topics = {t.id: t for t in await Topic.filter(id__in=list(topic_ids))} if topic_ids else {}
        for entry_id, topic_id in links:
            by_entry[entry_id].append(topics[topic_id])
    result = []
    for e in entries:
        m = munis.get(e.municipality_id or 0)
        o = orgs.get(e.organisation_id or 0)
        name = display_name(m.name) if m else (o.name if o else "")
        href = f"/municipalities/{m.official_key}" if m else (f"/organisations/{o.slug}" if o else None)
        result.append(Card(e, name, href, sorted(by_entry[e.id], key=lambda t: (t.position, t.slug))))
    return result


async def visible_entry(uid: str, actor: Actor | None) -> Entry:
    try:
        parsed = parse_uid(uid)
    except ExchangeError:
        raise NotFoundError(f"no entry with id {uid}") from None
    entry = await Entry.get_or_none(uid=parsed)
    if entry is None or not may_see(entry, actor):
        raise NotFoundError(f"no entry with id {uid}")
    return entry


@dataclass
class EntryPage:
    entry: Entry
    municipality: Municipality | None
    organisation: Organisation | None
    topics: list[Topic]
    lessons: list[Entry]
    project: Entry | None
    revisions: list[Revision]
    similar: list[Card]
    linked: list[tuple[str, Entry]]


async def entry_page(uid: str, actor: Actor | None) -> EntryPage:
    entry = await visible_entry(uid, actor)
    muni = await Municipality.get_or_none(id=entry.municipality_id) if entry.municipality_id else None
    org = await Organisation.get_or_none(id=entry.organisation_id) if entry.organisation_id else None
    topics = list(await Topic.filter(entry_links__entry_id=entry.id).order_by("position", "slug"))
    lessons: list[Entry] = []
    if entry.kind == "project":
        lessons = [e for e in await Entry.filter(project_uid=entry.uid, kind="lesson", deleted=False)
                   .order_by("-updated_at").limit(20) if may_see(e, actor)]
    project = None
    if entry.project_uid:
        found = await Entry.get_or_none(uid=entry.project_uid)
        project = found if found is not None and may_see(found, actor) and not found.deleted else None
    targets = [parse_uid(link["target"]) for link in entry.links or [] if link.get("target")]
    linked_rows = {e.uid: e for e in await Entry.filter(uid__in=targets, deleted=False)} if targets else {}
    linked = [(link["relation"], linked_rows[parse_uid(link["target"])]) for link in entry.links or []
              if parse_uid(link["target"]) in linked_rows and may_see(linked_rows[parse_uid(link["target"])], actor)]
    revisions = visible_revisions(
        entry, await Revision.filter(entry_id=entry.id).order_by("-version").limit(20), actor)
    similar = await similar_entries(entry, [t.id for t in topics], actor)
    return EntryPage(entry, muni, org, topics, lessons, project, revisions, similar, linked)


async def similar_entries(entry: Entry, topic_ids: list[int], actor: Actor | None, first: int = 5) -> list[Card]:
    """Entries sharing topics with `entry`, ranked by shared topics and shared title terms.

    Candidates are the 150 most recent entries of its topics (bounded work at any
    catalogue size); each is scored by shared topics plus shared title stems.
    """
    if not topic_ids:
        return []
    rows = await EntryTopic.filter(topic_id__in=topic_ids).exclude(entry_id=entry.id) \
        .order_by("-entry_id").limit(150).values_list("entry_id", flat=True)
    shared: Counter[int] = Counter(int(r) for r in rows)  # type: ignore[call-overload]
    if not shared:
        return []
    # candidates with only the columns scoring needs; the chosen few are then loaded whole
    columns = ("id", "uid", "title", "language", "kind", "visibility", "municipality_id", "organisation_id")
    # one read for every viewer: a signed-in member also sees non-public entries of their own publisher
    member = actor is not None and actor.publisher is not None
    candidates = [e for e in await Entry.filter(id__in=list(shared), deleted=False).exclude(uid=entry.uid)
                  .only(*columns) if e.visibility == "public" or (member and may_see(e, actor))]
    own = _title_terms(entry.title, entry.language)

    def score(e: Entry) -> tuple[float, int]:
        overlap = len(own & _title_terms(e.title, e.language))
        return (shared[e.id] + 1.5 * overlap + (0.5 if e.kind == entry.kind else 0.0), e.id)

    best = [e.id for e in sorted(candidates, key=score, reverse=True)[:first]]
    whole = {e.id: e for e in await Entry.filter(id__in=best)} if best else {}
    return await cards([whole[i] for i in best if i in whole])


@lru_cache(maxsize=8192)
def _title_terms(title: str, language: str) -> frozenset[str]:
    """Stemmed terms of a title (cached: the same candidates come back on many pages)."""
    return frozenset(terms(title, language))


async def find_municipalities(name: str, first: int = 20) -> list[Municipality]:
    """Gemeinden whose name starts with (then contains) `name`, biggest first."""
    name = name.strip()
    if name.isdigit():
        try:
            return [await find_municipality(name)]
        except ExchangeError:
            return []
    starts = list(await Municipality.filter(name__istartswith=name, level="gemeinde", active=True)
                  .order_by("-population").limit(first))
    if len(starts) < first:
        seen = {m.id for m in starts}
        more = await Municipality.filter(name__icontains=name, level="gemeinde", active=True) \
            .order_by("-population").limit(first * 2)
        starts += [m for m in more if m.id not in seen][: first - len(starts)]
    return starts


async def municipality_by_key(key: str) -> Municipality:
    try:
        return await find_municipality(key)
    except ExchangeError:
        raise NotFoundError(f"no municipality with official key {key}") from None


@dataclass
class Peer:
    """One peer match as the pages show it: the row (a municipality or an organisation), score,
    reasons, entries that explain it."""

    publisher: Municipality | Organisation
    score: float
    reasons: list[str]
    relevant: list[Entry]
    distance_km: float | None


async def peers_of(matcher: Matcher | None, muni: Municipality, locale: str, first: int = 8,
                   weights: Mapping[str, float] | None = None, publishers: str = "municipalities") -> list[Peer] | None:
    """Peer matches from the node's matcher, with reasons in the page's language; None without one.
    `weights` replace some of the node's for this request (refused out of bounds: InvalidInputError);
    `publishers`: municipalities or organisations."""
    if matcher is None:
        return None
    _, results = await matcher.peers(muni.official_key, first=first, language=locale, weights=weights,
                                     publishers=publishers)
    return [
        Peer(r.publisher, r.match.score, [x.explanation for x in r.reasons], r.relevant, r.match.distance_km)
        for r in results
    ]


async def topic_counts(cache: dict[str, Any]) -> list[tuple[Topic, int]]:
    """Every topic with its number of public entries (cached until the next change)."""
    seq = await latest_seq()
    if cache.get("seq") == seq:
        return list(cache["value"])
    topics = list(await Topic.all().order_by("scheme", "position", "slug"))
    counts: dict[int, int] = defaultdict(int)
    for topic_id, n in await _public_topic_counts():
        counts[topic_id] = n
    value = [(t, counts[t.id]) for t in topics]
    cache.update(seq=seq, value=value)
    return value


async def _public_topic_counts() -> list[tuple[int, int]]:
    conn = current_connection()
    false = "false" if dialect_of(conn) == "postgres" else "0"
    _, rows = await conn.execute_query(
        "SELECT et.topic_id AS t, count(*) AS n FROM entry_topic et JOIN entry e ON e.id = et.entry_id "
        f"WHERE e.visibility = 'public' AND e.deleted = {false} GROUP BY et.topic_id"
    )
    return [(int(dict(r)["t"]), int(dict(r)["n"])) for r in rows]


@dataclass
class TopicNode:
    """A topic of the tree as the topics page shows it: its public entries and its children."""

    topic: Topic
    count: int
    children: list[TopicNode] = field(default_factory=list)


def topic_tree(counted: Sequence[tuple[Topic, int]], query: str = "", scheme: str = "mdk") -> list[TopicNode]:
    """The topics of `scheme` as a tree of their parents (in the vocabulary's order), with those
    whose German or English label contains `query` and their ancestors; all when it is empty."""
    mine = [(t, n) for t, n in counted if t.scheme == scheme]
    nodes = {t.id: TopicNode(t, n) for t, n in mine}
    parent_of = {t.id: t.parent_id for t, _ in mine}  # type: ignore[attr-defined]
    needle = query.strip().casefold()
    kept = set(nodes)
    if needle:
        kept = set()
        for t, _ in mine:
            if needle in t.label_de.casefold() or needle in t.label_en.casefold():
                at: int | None = t.id
                while at is not None and at in nodes and at not in kept:
                    kept.add(at)
                    at = parent_of.get(at)
    roots = []
    for t, _ in mine:
        if t.id not in kept:
            continue
        parent = parent_of.get(t.id)
        if parent is not None and parent in nodes:
            nodes[parent].children.append(nodes[t.id])
        else:
            roots.append(nodes[t.id])
    return roots
