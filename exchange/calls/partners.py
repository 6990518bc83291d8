"""Suggested partners for a call: the peer matcher's ranking for the call's text, filtered by its terms.

The call's title, summary and body are the `about` text of a planned project;
its publisher is the asker (a municipality gives place and size, so the
call's radius counts from it; an organisation has neither, so a radius is
left out); the size classes sought filter the peers. The matcher is passed
in (anything with the `peers` method of `exchange.matching.Matcher`), so
this package does not depend on matching.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from exchange.calls.terms import BLANK
from exchange.models import Entry, Municipality, Organisation

ABOUT_CHARS = 4000  # of the body: enough for its terms, short of a long text's cost


class PeerFinder(Protocol):
    async def peers(self, official_key: str | None, *, about: str | None = ..., first: int = ...,
                    size_classes: Iterable[str] = ..., radius_km: float | None = ..., language: str = ...,
                    publishers: str = ..., organisation: bool = ...) -> tuple[Any, list[Any]]: ...


async def suggested_partners(matcher: PeerFinder, call: Entry, *, first: int = 5, language: str = "de") -> list[Any]:
    """The matcher's results (`PeerResult`: publisher, match, reasons, relevant entries), best first;
    empty for an entry that is no open or closed call."""
    if call.kind != "call" or call.deleted or call.call is None:
        return []
    terms = {**BLANK, **call.call}
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
