"""Suggested partners for a call: the peer matcher's ranking for the call's text, filtered by its terms.

The call's title, summary and body are the `about` text of a planned project;
its publisher is the asker (a municipality gives place and size, so the
call's radius counts from it; an organisation has neither, so a radius is
left out); the size classes sought filter the peers. The matcher is passed
in (anything with the `peers` method and the `changes` count of
`exchange.matching.Matcher`), so this package does not depend on matching.

Ranking costs a call's page 5-8 ms of CPU at 20,000 entries
(bench/call_partners.py), on every view. A `PartnerCache` keeps the
suggestions of recent calls by call, version, language and number: they are
given again until the matcher's profiles change (its `changes` count grows
with every load and every publisher's update), the call is revised, or
`ttl` seconds pass, whichever comes first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from exchange.calls.terms import BLANK
from exchange.models import Entry, Municipality, Organisation

ABOUT_CHARS = 4000  # of the body: enough for its terms, short of a long text's cost


class PeerFinder(Protocol):
    async def peers(self, official_key: str | None, *, about: str | None = ..., first: int = ...,
                    size_classes: Iterable[str] = ..., radius_km: float | None = ..., language: str = ...,
                    publishers: str = ..., organisation: bool = ...) -> tuple[Any, list[Any]]: ...

    @property
    def changes(self) -> int: ...


class PartnerCache:
    """The suggested partners of recent calls, at most `size` of them, each for at most `ttl` seconds
    and only while the matcher's `changes` count is the one they were ranked at."""

    def __init__(self, size: int = 256, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.ttl, self.clock = size, ttl, clock
        self._kept: OrderedDict[tuple[Any, ...], tuple[float, int, list[Any]]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: tuple[Any, ...], changes: int) -> list[Any] | None:
        found = self._kept.get(key)
        if found is None or found[1] != changes or self.clock() - found[0] > self.ttl:
            self._kept.pop(key, None)
            self.misses += 1
            return None
        self._kept.move_to_end(key)
        self.hits += 1
        return found[2]

    def put(self, key: tuple[Any, ...], changes: int, results: list[Any]) -> None:
        self._kept[key] = (self.clock(), changes, results)
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)


async def suggested_partners(matcher: PeerFinder, call: Entry, *, first: int = 5, language: str = "de",
                             cache: PartnerCache | None = None) -> list[Any]:
    """The matcher's results (`PeerResult`: publisher, match, reasons, relevant entries), best first;
    empty for an entry that is no open or closed call. With a `cache`, recent results are given again
    while nothing they were ranked on changed."""
    if call.kind != "call" or call.deleted or call.call is None:
        return []
    key = (str(call.uid), call.version, call.updated_at, first, language)
    changes = matcher.changes  # read before ranking: a change during it makes the result stale at once
    if cache is not None and (kept := cache.get(key, changes)) is not None:
        return kept
    results = await _ranked(matcher, call, first, language)
    if cache is not None:
        cache.put(key, changes, results)
    return results


async def _ranked(matcher: PeerFinder, call: Entry, first: int, language: str) -> list[Any]:
    terms = {**BLANK, **(call.call or {})}
    about = "\n".join((call.title, call.summary, (call.body_markdown or "")[:ABOUT_CHARS]))
    radius = terms["radius_km"]
    if call.municipality_id is not None:
        key: str | None = (await Municipality.get(id=call.municipality_id)).official_key
        organisation = False
    else:
        key = (await Organisation.get(id=call.organisation_id)).slug if call.organisation_id is not None else None
        organisation, radius = True, None
    filtered = bool(terms["size_classes"]) or radius is not None
    _, results = await matcher.peers(
        key, about=about, first=first, size_classes=tuple(terms["size_classes"]),
        radius_km=float(radius) if radius is not None else None, language=language,
        publishers="municipalities" if filtered else "all", organisation=organisation)
    return results
