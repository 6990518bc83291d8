"""The matcher service of a node: profiles, ranking and reasons behind one call.

`Matcher.peers` resolves the asking municipality, ranks peers with the pure
functions of `rank` and `reasons` over the in-memory profiles of
`profiles`, then reads, in two batched queries, the entries of the
matched peers that the reasons and `relevantEntries` name. The GraphQL API
and the `exchange match` command both call it; the catalogue calls
`on_entry` after every write so that profiles stay current: at once for the
node's own entries, and for entries received from peers once the sync has
been quiet for a moment, each publisher once (a first sync brings thousands of
publishers: their profiles are then rebuilt in one pass instead of one
publisher per received entry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from exchange.auth import find_municipality
from exchange.db import current_connection
from exchange.errors import InvalidInputError, NotFoundError
from exchange.matching.profiles import Place
from exchange.matching.rank import (
    MAX_ABOUT,
    MAX_FIRST,
    NEIGHBOUR_KM,
    Match,
    MatchQuery,
    Need,
    Weights,
    rank,
    topic_terms,
)
from exchange.matching.reasons import EntryFacts, Reason, reasons, relevant_entries
from exchange.matching.store import (
    PUBLISHED,
    ProfileStore,
    has_actual_values,
    org_place,
    place_of,
    publisher_id,
)
from exchange.matching.writes import ProfileWrites
from exchange.models import Entry, Municipality, Organisation

log = logging.getLogger("exchange.matcher")

LANGUAGES = ("de", "en")
RECEIVED_QUIET = 2.0  # seconds without received entries before they are folded into the profiles
RELOAD_ABOVE = 200  # more publishers waiting than this: rebuild every profile in one pass
RELEVANT_PER_PEER = 3
ENTRIES_SCANNED = 100  # newest entries of a peer searched for relevant ones
EXPERIENCE_SHOWN = 8  # experience entries read for the reasons of one peer
NOWHERE = Place(-1, "", "", "", "", None, "", "", "", "", None, None)  # the asker of `about` alone: no structure


@dataclass
class PeerResult:
    """One peer (a municipality or an organisation) with its row, scores, reasons and the entries that explain it."""

    publisher: Municipality | Organisation
    match: Match
    reasons: list[Reason]
    shared_topics: list[tuple[str, str, str]]  # slug, German label, English label
    relevant: list[Entry]


def _year(row: Mapping[str, Any]) -> str | None:
    for key in ("period_end", "period_start"):
        if row.get(key):
            return str(row[key])[:4]
    return None


class Matcher:
    """Peer matching of one node (lives in `node.services.matcher`)."""

    def __init__(self, weights: Weights | None = None, store: ProfileStore | None = None,
                 own_origin: str | None = None, quiet: float = RECEIVED_QUIET,
                 reload_above: int = RELOAD_ABOVE) -> None:
        self.weights = weights or Weights()
        self.store = store or ProfileStore()
        self.writes = ProfileWrites(self.store)  # large publishers: one entry's work per write
        self.own_origin = own_origin  # entries from elsewhere are folded in later, in bulk
        self.quiet = quiet
        self.reload_above = reload_above
        self._labels: dict[int, frozenset[str]] = {}
        self._loading = asyncio.Lock()
        self._waiting: set[int] = set()  # publishers with received entries not yet folded in
        self._last_received = 0.0
        self._hurry = asyncio.Event()  # set by `settle`: stop waiting for quiet
        self._folding: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, weights: Mapping[str, float], own_origin: str | None = None) -> Matcher:
        return cls(Weights.from_mapping(weights), own_origin=own_origin)

    async def startup(self) -> None:
        """Build every profile once (a startup hook of the node)."""
        async with self._loading:
            await self.store.load()
            self._labels = topic_terms(self.store.index)

    async def reload(self) -> None:
        """Build every profile again (many writes by another process at once)."""
        async with self._loading:
            await self.store.load()
            self._labels = topic_terms(self.store.index)

    @property
    def changes(self) -> int:
        """Grows whenever a profile changes (a load, a publisher's update): rankings may differ."""
        return self.store.changes

    async def ensure_loaded(self) -> None:
        if not self.store.loaded:
            async with self._loading:
                if not self.store.loaded:
                    await self.store.load()
                    self._labels = topic_terms(self.store.index)

    async def on_entry(self, entry: Entry) -> None:
        """Catalogue listener: keep the publisher's profile current."""
        if not self.store.loaded or (entry.municipality_id is None and entry.organisation_id is None):
            return
        place_id = publisher_id(self.store.index, entry.municipality_id, entry.organisation_id)
        if place_id is None:  # a municipality new to the register, whose id the organisations' reach
            await self.reload()
            return
        received = self.own_origin is not None and entry.origin_node != self.own_origin
        if received or self._folding is not None:
            # (an own write while received ones are being folded in is refreshed after them:
            # a reload that read its publisher earlier would otherwise drop it)
            self._waiting.add(place_id)
            self._last_received = asyncio.get_running_loop().time()
            if self._folding is None:
                self._folding = asyncio.ensure_future(self._fold_received())
            if received:
                return
        await self.writes.on_entry(entry)

    async def _fold_received(self) -> None:
        """Once no entry has arrived for `quiet` seconds: refresh the waiting publishers."""
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                while (left := self._last_received + self.quiet - loop.time()) > 0 and not self._hurry.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), left)
                self._hurry.clear()
                waiting, self._waiting = self._waiting, set()
                if len(waiting) > self.reload_above:
                    async with self._loading:
                        await self.store.load()
                        self._labels = topic_terms(self.store.index)
                else:
                    for place_id in sorted(waiting):
                        await self.writes.refresh(place_id)
        except Exception:  # the next received entry tries again; matching keeps answering
            log.exception("folding received entries into the matching profiles failed")
        finally:
            self._folding = None

    async def settle(self) -> None:
        """Fold in what was received now, without waiting for quiet (tests, shutdown)."""
        self._last_received = 0.0
        self._hurry.set()
        while self._folding is not None:
            await asyncio.shield(self._folding)
        self._hurry.clear()
        await self.writes.settle()

    async def shutdown(self) -> None:
        """Stop folding in received entries (a shutdown hook of the node)."""
        task, self._folding = self._folding, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.writes.shutdown()

    def method(self) -> dict[str, Any]:
        """What the matcher uses, for `matchingMethod` and the /matching page."""
        w = self.weights
        wt, we, ws = w.signals()
        index = self.store.index
        return {
            "signals": {"topics": wt, "experience": we, "structure": ws},
            "topics": {"terms": w.terms, "controlled": w.controlled},
            "structure": {"size": w.size, "urbanisation": w.urbanisation, "land": w.land,
                          "distance": w.distance, "distance_km": w.distance_km},
            "publishers": index.publishers,
            "organisations": sum(1 for pid in index.profiles if index.is_organisation(pid)),
            "municipalities": sum(1 for pid in index.places if not index.is_organisation(pid)),
            "terms": len(index.vocab),
            "limits": {"first": MAX_FIRST, "about": MAX_ABOUT, "neighbour_km": NEIGHBOUR_KM},
        }

    async def peers(
        self,
        official_key: str | None,
        *,
        about: str | None = None,
        first: int = 10,
        same_state: bool = False,
        size_classes: Iterable[str] = (),
        radius_km: float | None = None,
        language: str = "de",
        weights: Mapping[str, float] | None = None,
        publishers: str = "municipalities",
        organisation: bool = False,
    ) -> tuple[Need, list[PeerResult]]:
        """The best peers of a publisher (for a planned project, with `about`), or, without a key,
        the best peers for `about` alone (no structural signal then). The key is a municipality's
        official key, or with `organisation` an organisation's slug; `publishers` says who may be a peer
        (municipalities, organisations or all). `weights` replace some of the node's for this
        request (`Weights.updated`: same names and bounds)."""
        if language not in LANGUAGES:
            raise InvalidInputError(f"language must be de or en, not {language!r}")
        w = self.weights.updated(weights) if weights else self.weights
        await self.ensure_loaded()
        index = self.store.index
        if official_key is None:
            if about is None:
                raise InvalidInputError("give an officialKey, an about text, or both")
            if same_state or radius_km is not None:
                raise InvalidInputError("sameState and radiusKm need an officialKey: without one there is no place")
            place = NOWHERE
        elif organisation:
            org = await Organisation.get_or_none(slug=official_key.strip())
            if org is None:
                raise NotFoundError(f"no organisation with slug {official_key.strip()!r}")
            place = index.places.get(index.org_base + org.id) or org_place(org, index.org_base)
        else:
            row = await find_municipality(official_key)
            place = index.places.get(row.id) or place_of(row)
        query = MatchQuery(place, about, first, same_state, frozenset(size_classes), radius_km,
                           publishers).validated()
        need, matches = rank(index, query, w, self._labels)
        rows = await self._rows([m.place.id for m in matches])
        terms_of = await self._terms([m.place.id for m in matches if m.has_entries])
        chosen: dict[int, list[int]] = {}
        for m in matches:
            candidates = [EntryFacts(i, "", "", None, "", None, None, False, text)
                          for i, text in terms_of.get(m.place.id, [])]
            chosen[m.place.id] = [e.id for e in relevant_entries(index, need, candidates, m.experience_ids,
                                                                  RELEVANT_PER_PEER)]
        wanted = {i for shown in chosen.values() for i in shown}
        wanted |= {i for m in matches for i in m.experience_ids[:EXPERIENCE_SHOWN]}
        full = {e.id: e for e in await Entry.filter(id__in=list(wanted))} if wanted else {}
        facts = {i: _facts_of(e) for i, e in full.items()}
        results = []
        for m in matches:
            shown = [facts[i] for i in chosen[m.place.id] if i in facts]
            known = [facts[i] for i in m.experience_ids[:EXPERIENCE_SHOWN] if i in facts]
            results.append(PeerResult(
                publisher=rows[m.place.id],
                match=m,
                reasons=reasons(index, need, place, m, known, shown, language),
                shared_topics=[index.topic_labels[t] for t in m.shared_topics if t in index.topic_labels],
                relevant=[full[i] for i in chosen[m.place.id] if i in full],
            ))
        return need, results

    async def _rows(self, place_ids: list[int]) -> dict[int, Municipality | Organisation]:
        """The register or organisation row of each matched peer, by place id (two queries at most)."""
        index = self.store.index
        munis = [i for i in place_ids if not index.is_organisation(i)]
        orgs = [i - index.org_base for i in place_ids if index.is_organisation(i)]
        rows: dict[int, Municipality | Organisation] = {}
        if munis:
            rows.update((m.id, m) for m in await Municipality.filter(id__in=munis))
        if orgs:
            rows.update((index.org_base + o.id, o) for o in await Organisation.filter(id__in=orgs))
        return rows

    async def _terms(self, place_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
        """The stemmed terms of each matched peer's newest public entries, in one query per kind."""
        grouped: dict[int, list[tuple[int, str]]] = {}
        index = self.store.index
        munis = [i for i in place_ids if not index.is_organisation(i)]
        orgs = [i - index.org_base for i in place_ids if index.is_organisation(i)]
        for column, ids, base in (("municipality_id", munis, 0), ("organisation_id", orgs, index.org_base)):
            if not ids:
                continue
            listed = ", ".join(str(int(i)) for i in ids)  # integers from our own index
            rows = await current_connection().execute_query_dict(
                f"SELECT id, {column} AS owner, search_terms FROM ("
                f" SELECT id, {column}, search_terms, ROW_NUMBER() OVER ("
                f"  PARTITION BY {column} ORDER BY updated_at DESC, id DESC) AS newest_rank"
                f" FROM entry WHERE {PUBLISHED}"
                f" AND {column} IN ({listed})) AS newest"
                f" WHERE newest_rank <= {ENTRIES_SCANNED}"
            )
            for r in rows:
                grouped.setdefault(base + r["owner"], []).append((r["id"], r["search_terms"] or ""))
        return grouped


def _facts_of(e: Entry) -> EntryFacts:
    return EntryFacts(
        id=e.id, uid=str(e.uid), kind=e.kind, status=e.status, title=e.title,
        year=_year({"period_end": e.period_end, "period_start": e.period_start}),
        project_uid=str(e.project_uid) if e.project_uid else None,
        evaluated=has_actual_values(e.goals), search_terms="",
    )
