"""Where an organisation works: the region of the municipalities it names as partners (pure).

An organisation has no size, density or seat in the municipality register,
but a Zweckverband, a Landkreis' alliance or a regional institute works
somewhere: the partners of its public entries are municipalities of the
register (the editor picks them by name). Their Land counts as the
organisation's Land when at least two thirds of them lie in it, and their
centre as its position when all of them lie within `REGIONAL_KM` of it; an
organisation whose partners are spread across the country gets neither, so
nobody is lifted by a centre that is nowhere. A partner counts only when its
name belongs to exactly one municipality of the register: "Neustadt" names
many, and a guess would invent a region.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from exchange.matching.tally import Place
from exchange.placenames import display_name, short_name

__all__ = ["LAND_SHARE", "NOWHERE", "REGIONAL_KM", "Home", "PartnerNames", "home_of"]

LAND_SHARE = 2 / 3  # the share of partners that must lie in one Land for it to be the organisation's
REGIONAL_KM = 100.0  # every located partner within this distance of their centre: a position


@dataclass(frozen=True)
class Home:
    """The Land and position an organisation's partners give it (empty: none)."""

    land_code: str = ""
    land_name: str = ""
    latitude: float | None = None
    longitude: float | None = None


NOWHERE = Home()


class PartnerNames:
    """Partner names (as the editor writes them, or typed) to the one register row they name."""

    def __init__(self, places: Iterable[Place] = ()) -> None:
        found: dict[str, Place | None] = {}
        for p in places:
            for name in {display_name(p.name).casefold(), short_name(p.name).casefold(), p.name.casefold()}:
                if name and name not in found:
                    found[name] = p
                elif name and (known := found[name]) is not None and known.id != p.id:
                    found[name] = None  # names several
        self._found = found

    def resolve(self, name: str) -> Place | None:
        """The register row `name` names, None when it names none or several."""
        return self._found.get(name.strip().casefold())


def home_of(partners: Iterable[Place]) -> Home:
    """The Land held by at least `LAND_SHARE` of `partners`, and their centre if they are regional."""
    unique = list({p.id: p for p in partners}.values())
    if not unique:
        return NOWHERE
    land_code = land_name = ""
    lands = Counter((p.land_code, p.land_name) for p in unique if p.land_code)
    if lands:
        (code, name), n = lands.most_common(1)[0]
        if n >= LAND_SHARE * len(unique):
            land_code, land_name = code, name
    located = [p for p in unique if p.latitude is not None and p.longitude is not None]
    latitude = longitude = None
    if located:
        lat = sum(p.latitude for p in located if p.latitude is not None) / len(located)
        lon = sum(p.longitude for p in located if p.longitude is not None) / len(located)
        if all(_km(lat, lon, p) <= REGIONAL_KM for p in located):
            latitude, longitude = lat, lon
    return Home(land_code, land_name, latitude, longitude)


def _km(lat: float, lon: float, p: Place) -> float:
    assert p.latitude is not None and p.longitude is not None
    x = math.radians(p.longitude - lon) * math.cos(math.radians((p.latitude + lat) / 2))
    return 6371.0 * math.hypot(x, math.radians(p.latitude - lat))
