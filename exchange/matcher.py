"""The matcher service of a node: profiles, ranking and reasons behind one call.

`Matcher.peers` resolves the asking municipality, ranks peers with the pure
functions of `exchange.matching` over the in-memory profiles of
`exchange.profiles`, then reads, in two batched queries, the entries of the
matched peers that the reasons and `relevantEntries` name. The GraphQL API
and the `exchange match` command both call it; the catalogue calls
`on_entry` after every write so that profiles stay current.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from exchange.auth import find_municipality
from exchange.errors import InvalidInputError
from exchange.matching import (
    MAX_ABOUT,
    MAX_FIRST,
    NEIGHBOUR_KM,
    EntryFacts,
    Match,
    MatchQuery,
    Need,
    Reason,
    Weights,
    rank,
    reasons,
    relevant_entries,
    topic_terms,
)
from exchange.models import Entry, Municipality
from exchange.profiles import ProfileStore, has_actual_values, place_of

LANGUAGES = ("de", "en")
RELEVANT_PER_PEER = 3


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

    def __init__(self, weights: Weights | None = None, store: ProfileStore | None = None) -> None:
        self.weights = weights or Weights()
        self.store = store or ProfileStore()
        self._labels: dict[int, frozenset[str]] = {}
        self._loading = asyncio.Lock()

    @classmethod
    def from_settings(cls, weights: Mapping[str, float]) -> Matcher:
        return cls(Weights.from_mapping(weights))

    async def startup(self) -> None:
        """Build every profile once (a startup hook of the node)."""
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
        await self.store.on_entry(entry)

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
        official_key: str,
        *,
        about: str | None = None,
        first: int = 10,
        same_state: bool = False,
        size_classes: Iterable[str] = (),
        radius_km: float | None = None,
        language: str = "de",
    ) -> tuple[Need, list[PeerResult]]:
        """The best peers of a municipality (for a planned project, with `about`)."""
        if language not in LANGUAGES:
            raise InvalidInputError(f"language must be de or en, not {language!r}")
        row = await find_municipality(official_key)
        await self.ensure_loaded()
        index = self.store.index
        place = index.places.get(row.id) or place_of(row)
        query = MatchQuery(place, about, first, same_state, frozenset(size_classes), radius_km).validated()
        need, matches = rank(index, query, self.weights, self._labels)
        ids = [m.place.id for m in matches]
        rows = {m.id: m for m in await Municipality.filter(id__in=ids)}
        facts = await self._facts([m.place.id for m in matches if m.has_entries])
        chosen: dict[int, list[EntryFacts]] = {
            m.place.id: relevant_entries(index, need, facts.get(m.place.id, []), m.experience_ids, RELEVANT_PER_PEER)
            for m in matches
        }
        wanted = [e.id for shown in chosen.values() for e in shown]
        full = {e.id: e for e in await Entry.filter(id__in=wanted)} if wanted else {}
        results = []
        for m in matches:
            shown = chosen[m.place.id]
            results.append(PeerResult(
                municipality=rows[m.place.id],
                match=m,
                reasons=reasons(index, need, place, m, facts.get(m.place.id, []), shown, language),
                shared_topics=[index.topic_labels[t] for t in m.shared_topics if t in index.topic_labels],
                relevant=[full[e.id] for e in shown if e.id in full],
            ))
        return need, results

    async def _facts(self, place_ids: list[int]) -> dict[int, list[EntryFacts]]:
        """The public entries of the matched peers, without their bodies, in one query."""
        grouped: dict[int, list[EntryFacts]] = {pid: [] for pid in place_ids}
        if not place_ids:
            return grouped
        rows = await Entry.filter(
            visibility="public", deleted=False, municipality_id__in=place_ids
        ).values("id", "uid", "municipality_id", "kind", "status", "title", "period_start",
                 "period_end", "project_uid", "goals", "search_terms")
        for r in rows:
            grouped[r["municipality_id"]].append(EntryFacts(
                id=r["id"], uid=str(r["uid"]), kind=r["kind"], status=r["status"], title=r["title"],
                year=_year(r), project_uid=str(r["project_uid"]) if r["project_uid"] else None,
                evaluated=has_actual_values(r["goals"]), search_terms=r["search_terms"] or "",
            ))
        return grouped
