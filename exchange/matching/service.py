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
from exchange.errors import InvalidInputError
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
from exchange.matching.store import PUBLISHED, ProfileStore, has_actual_values, place_of
from exchange.matching.writes import ProfileWrites
from exchange.models import Entry, Municipality

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
    """One peer with its row, scores, reasons and the entries that explain it."""

    municipality: Municipality
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

    async def ensure_loaded(self) -> None:
        if not self.store.loaded:
            async with self._loading:
                if not self.store.loaded:
                    await self.store.load()
                    self._labels = topic_terms(self.store.index)

    async def on_entry(self, entry: Entry) -> None:
        """Catalogue listener: keep the publisher's profile current."""
        if entry.municipality_id is None or not self.store.loaded:
            return
        received = self.own_origin is not None and entry.origin_node != self.own_origin
        if received or self._folding is not None:
            # (an own write while received ones are being folded in is refreshed after them:
            # a reload that read its publisher earlier would otherwise drop it)
            self._waiting.add(entry.municipality_id)
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
            "municipalities": len(index.places),
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
    ) -> tuple[Need, list[PeerResult]]:
        """The best peers of a municipality (for a planned project, with `about`), or, without an
        official key, the best peers for `about` alone (no structural signal then). `weights`
        replace some of the node's for this request (`Weights.updated`: same names and bounds)."""
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
        else:
            row = await find_municipality(official_key)
            place = index.places.get(row.id) or place_of(row)
        query = MatchQuery(place, about, first, same_state, frozenset(size_classes), radius_km).validated()
        need, matches = rank(index, query, w, self._labels)
        ids = [m.place.id for m in matches]
        rows = {m.id: m for m in await Municipality.filter(id__in=ids)}
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
                municipality=rows[m.place.id],
                match=m,
                reasons=reasons(index, need, place, m, known, shown, language),
                shared_topics=[index.topic_labels[t] for t in m.shared_topics if t in index.topic_labels],
                relevant=[full[i] for i in chosen[m.place.id] if i in full],
            ))
        return need, results

    async def _terms(self, place_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
        """The stemmed terms of each matched peer's newest public entries, in one query."""
        grouped: dict[int, list[tuple[int, str]]] = {}
        if not place_ids:
            return grouped
        ids = ", ".join(str(int(i)) for i in place_ids)  # integers from our own index
        rows = await current_connection().execute_query_dict(
            "SELECT id, municipality_id, search_terms FROM ("
            " SELECT id, municipality_id, search_terms, ROW_NUMBER() OVER ("
            "  PARTITION BY municipality_id ORDER BY updated_at DESC, id DESC) AS newest_rank"
            f" FROM entry WHERE {PUBLISHED}"
            f" AND municipality_id IN ({ids})) AS newest"
            f" WHERE newest_rank <= {ENTRIES_SCANNED}"
        )
        for r in rows:
            grouped.setdefault(r["municipality_id"], []).append((r["id"], r["search_terms"] or ""))
        return grouped


def _facts_of(e: Entry) -> EntryFacts:
    return EntryFacts(
        id=e.id, uid=str(e.uid), kind=e.kind, status=e.status, title=e.title,
        year=_year({"period_end": e.period_end, "period_start": e.period_start}),
        project_uid=str(e.project_uid) if e.project_uid else None,
        evaluated=has_actual_values(e.goals), search_terms="",
    )
