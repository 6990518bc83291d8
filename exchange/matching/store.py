"""Loading the peer-matching profiles from the database and keeping them current.

`ProfileStore.load` reads every public entry once at startup, whole
publishers at a time, into a `ProfileIndex` (`profiles`); `refresh` (through
`on_entry`, a catalogue listener) re-reads one changed publisher, so the index
stays equal to one built from scratch.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count, Min

from exchange.db import current_connection
from exchange.matching.homes import NOWHERE, Home, PartnerNames, home_of
from exchange.matching.profiles import (
    NO_ORGANISATIONS,
    EntryDigest,
    Place,
    Profile,
    ProfileIndex,
    Tally,
)
from exchange.matching.vocabulary import Vocabulary, default_vocabulary
from exchange.models import Entry, EntryTopic, Municipality, Organisation, Topic

ORG_GAP = 1024  # place ids kept free between the register's last id and the first organisation's
CHUNK = 2000  # entries read at once while loading (whole publishers, so a batch may hold more)
STEP = 25  # entries counted between two yields to the event loop (~1 ms)


def place_of(m: Any) -> Place:
    """A Place from a Municipality row or a `.values()` dict of one."""
    get: Callable[[str], Any] = m.get if isinstance(m, dict) else lambda k: getattr(m, k)
    return Place(
        id=get("id"), key=get("official_key"), name=get("name"), level=get("level"),
        size_class=get("size_class") or "", population=get("population"),
        urbanisation=get("urbanisation") or "", land_code=get("land_code") or "",
        land_name=get("land_name") or "", kreis_key=get("kreis_key") or "",
        latitude=get("latitude"), longitude=get("longitude"),
    )


def org_place(o: Any, base: int, home: Home = NOWHERE) -> Place:
    """The Place of an organisation (a row or a `.values()` dict): no size or density; the Land and
    position its partner municipalities give it (`homes`), if any."""
    get: Callable[[str], Any] = o.get if isinstance(o, dict) else lambda k: getattr(o, k)
    return Place(id=base + get("id"), key=get("slug"), name=get("name"), level="organisation", size_class="",
                 population=None, urbanisation="", land_code=home.land_code, land_name=home.land_name,
                 kreis_key="", latitude=home.latitude, longitude=home.longitude)


async def partners_of(organisation_ids: list[int] | None = None) -> dict[int, list[str]]:
    """The partner names of each organisation's public entries (all organisations, or these)."""
    rows = _public_entries().filter(municipality_id__isnull=True, organisation_id__isnull=False)
    if organisation_ids is not None:
        rows = rows.filter(organisation_id__in=organisation_ids)
    found: dict[int, list[str]] = {}
    for org_id, partners in await rows.values_list("organisation_id", "partners"):
        found.setdefault(org_id, []).extend(str(p) for p in partners or [] if isinstance(p, str))
    return found


def publisher_id(index: ProfileIndex, municipality_id: int | None, organisation_id: int | None) -> int | None:
    """The place id of an entry's publisher in `index` (None: neither, or a municipality the index
    cannot hold without a reload because its id reaches the organisations')."""
    if municipality_id is not None:
        return municipality_id if municipality_id < index.org_base else None
    if organisation_id is not None and index.org_base < NO_ORGANISATIONS:
        return index.org_base + organisation_id
    return None


def owner_sql(index: ProfileIndex, place_id: int) -> str:
    """The SQL condition on `entry` that selects the entries of one publisher of `index`."""
    if index.is_organisation(place_id):
        return f"organisation_id = {int(place_id - index.org_base)} AND municipality_id IS NULL"
    return f"municipality_id = {int(place_id)}"


async def place_for(index: ProfileIndex, place_id: int, names: PartnerNames | None = None) -> Place | None:
    """The Place of a publisher from its row (a municipality or an organisation, placed by the
    partners of its public entries when `names` are given), None if gone."""
    if index.is_organisation(place_id):
        org_id = place_id - index.org_base
        o = await Organisation.get_or_none(id=org_id)
        if o is None:
            return None
        home = NOWHERE
        if names is not None:
            partners = (await partners_of([org_id])).get(org_id, [])
            home = home_of(p for p in map(names.resolve, partners) if p is not None)
        return org_place(o, index.org_base, home)
    m = await Municipality.get_or_none(id=place_id)
    return place_of(m) if m is not None else None


_PLACE_FIELDS = ("id", "official_key", "name", "level", "size_class", "population", "urbanisation",
                 "land_code", "land_name", "kreis_key", "latitude", "longitude")
_ENTRY_FIELDS = ("id", "municipality_id", "organisation_id", "kind", "status", "goals", "search_terms")


def has_actual_values(goals: Any) -> bool:
    for goal in goals or []:
        for ind in goal.get("indicators", []) if isinstance(goal, dict) else []:
            if isinstance(ind, dict) and ind.get("actual") is not None:
                return True
    return False


def _digest(row: dict[str, Any], topics: frozenset[int]) -> EntryDigest:
    return EntryDigest(row["id"], row["kind"], row["status"], has_actual_values(row["goals"]), topics,
                       row["search_terms"] or "")


def _public_entries() -> Any:
    return Entry.filter(Q(municipality_id__isnull=False) | Q(organisation_id__isnull=False),
                        visibility="public", deleted=False)


async def _publisher_batches(base: int) -> list[list[int]]:
    """Publishers (place ids; organisations from `base`) in the order of their first public
    entry, in batches of about `CHUNK` entries.

    Profiles are built one batch at a time, so only one batch of entry texts is
    held at once; the order keeps term ids and postings as a single pass would.
    """
    public = Entry.filter(visibility="public", deleted=False)
    stats = list(await public.filter(municipality_id__isnull=False).annotate(first=Min("id"), n=Count("id")).group_by(
        "municipality_id").values_list("municipality_id", "first", "n"))
    stats += [(base + o, first, n) for o, first, n in await public.filter(
        municipality_id__isnull=True, organisation_id__isnull=False).annotate(first=Min("id"), n=Count("id")).group_by(
        "organisation_id").values_list("organisation_id", "first", "n")]
    batches: list[list[int]] = []
    size = CHUNK
    for place_id, _, n in sorted(stats, key=lambda s: s[1]):
        if size + n > CHUNK and size:
            batches.append([])
            size = 0
        batches[-1].append(place_id)
        size += n
    return batches


def _topic_sets(pairs: Iterable[tuple[int, int]]) -> dict[int, frozenset[int]]:
    """Entry id -> its topic ids, from (entry id, topic id) rows in any order.

    Each set is built in ascending topic id, so its iteration order (which
    orders a profile's topic counts) does not depend on the order of the rows.
    """
    found: dict[int, list[int]] = {}
    for entry_id, topic_id in pairs:
        found.setdefault(entry_id, []).append(topic_id)
    return {k: frozenset(sorted(v)) for k, v in found.items()}


async def _topics_of(ids: list[int]) -> dict[int, frozenset[int]]:
    return _topic_sets(await EntryTopic.filter(entry_id__in=ids).values_list("entry_id", "topic_id"))


# Public entries, in SQL that selects one or a few publishers: `visibility || ''` keeps
# SQLite on the municipality_id index (2 ms at 100,000 entries): without statistics it may
# prefer an index over all public entries and walk every one of them (56 ms), and no index
# condition (such as migration 0007's partial index) matches this spelling.
PUBLISHED = "visibility || '' = 'public' AND deleted = FALSE"


async def _entries_of(index: ProfileIndex, place_id: int) -> tuple[list[dict[str, Any]], dict[int, frozenset[int]]]:
    """One publisher's public entries (the columns `load` reads, in id order) and their topics.

    Plain SQL rather than the ORM: this runs on every publish, revision and
    unpublish, and for a publisher with hundreds of entries the ORM's per-row
    conversions cost more than the query. `goals` is decoded only where an
    indicator may have an actual value.
    """
    where = f"{owner_sql(index, place_id)} AND {PUBLISHED}"
    connection = current_connection()
    rows = await connection.execute_query_dict(
        f"SELECT id, kind, status, goals, search_terms FROM entry WHERE {where} ORDER BY id")
    for r in rows:
        r["goals"] = _goals(r["goals"])
    pairs = await connection.execute_query_dict(
        "SELECT entry_topic.entry_id, entry_topic.topic_id FROM entry_topic"
        f" JOIN entry ON entry.id = entry_topic.entry_id WHERE {where}")
    return rows, _topic_sets((p["entry_id"], p["topic_id"]) for p in pairs)


def _goals(value: Any) -> Any:
    """A `goals` column as the database driver returns it (JSON text) or as the ORM does (decoded)."""
    if isinstance(value, str):
        return json.loads(value) if "actual" in value else []  # no "actual" key: no actual value
    return value


class ProfileStore:
    """The profile index of one node and the database reads that keep it current."""

    def __init__(self, vocabulary: Vocabulary | None = None, *, bilingual: bool = True) -> None:
        """`vocabulary`: concept terms other than the shipped ones; `bilingual=False`: none (benchmarks)."""
        self.vocabulary = (vocabulary or default_vocabulary()) if bilingual else None
        self.index = ProfileIndex(vocabulary=self.vocabulary)
        self.names = PartnerNames()  # partner names to register rows, made by `load`
        self.loaded = False
        self.changes = 0  # counts every load and put: what was ranked before may now rank otherwise
        self.lock = asyncio.Lock()  # held while a profile is read and put
        self.put_lock = asyncio.Lock()  # one `put` at a time: the steps of two must not interleave

    async def load(self) -> ProfileIndex:
        """Read the register, the topics and every public entry once (in chunks)."""
        last = await Municipality.all().order_by("-id").first()
        highest = last.id if last is not None else 0
        index = ProfileIndex(vocabulary=self.vocabulary, org_base=highest + ORG_GAP)
        for row in await Municipality.filter(active=True).values(*_PLACE_FIELDS):
            index.put_place(place_of(row))
        names = PartnerNames(index.places.values())
        partners = await partners_of()
        for org in await Organisation.all().values("id", "slug", "name"):
            home = home_of(p for p in map(names.resolve, partners.get(org["id"], [])) if p is not None)
            index.put_place(org_place(org, index.org_base, home))
        for t in await Topic.all().values("id", "slug", "label_de", "label_en"):
            index.topic_labels[t["id"]] = (t["slug"], t["label_de"], t["label_en"])
        for batch in await _publisher_batches(index.org_base):
            munis = [p for p in batch if not index.is_organisation(p)]
            orgs = [p - index.org_base for p in batch if index.is_organisation(p)]
            rows = await _public_entries().filter(
                Q(municipality_id__in=munis) | Q(municipality_id__isnull=True, organisation_id__in=orgs)
            ).order_by("id").values(*_ENTRY_FIELDS)
            topics = await _topics_of([r["id"] for r in rows])
            grouped: dict[int, list[EntryDigest]] = {place_id: [] for place_id in batch}
            for r in rows:
                pid = publisher_id(index, r["municipality_id"], r["organisation_id"])
                if pid is not None:
                    grouped[pid].append(_digest(r, topics.get(r["id"], frozenset())))
            del rows, topics
            for place_id, digests in grouped.items():
                index.put(place_id, digests, defer=True)
        index.reweigh()
        async with self.lock:
            self.index = index
            self.names = names
            self.loaded = True
            self.changes += 1
        return index

    async def refresh(self, place_id: int) -> None:
        """Rebuild one publisher's profile from its current public entries."""
        async with self.lock:
            rows, topics = await _entries_of(self.index, place_id)
            if place_id not in self.index.places or self.index.is_organisation(place_id):
                # an organisation's partners, and so its Land and position, may have changed
                p = await place_for(self.index, place_id, self.names)
                if p is not None:
                    self.index.put_place(p)
            index = self.index
            tally = Tally()
            for i, r in enumerate(rows, 1):
                tally.add(index, _digest(r, topics.get(r["id"], frozenset())))
                if i % STEP == 0:
                    await asyncio.sleep(0)
            await self.put(index, place_id, tally.profile(index, place_id) if rows else None)

    async def put(self, index: ProfileIndex, place_id: int, profile: Profile | None) -> None:
        """`ProfileIndex.put_profile` in steps, giving the event loop its turn between them."""
        async with self.put_lock:
            await asyncio.sleep(0)  # apart from what built the profile
            for _ in index.put_steps(place_id, profile):
                await asyncio.sleep(0)
            self.changes += 1
        await asyncio.sleep(0)  # apart from what the writer does next (its answer)

    async def on_entry(self, entry: Entry) -> None:
        """Catalogue listener: an entry was published, revised, unpublished or received."""
        place_id = publisher_id(self.index, entry.municipality_id, entry.organisation_id)
        if self.loaded and place_id is not None:
            await self.refresh(place_id)
