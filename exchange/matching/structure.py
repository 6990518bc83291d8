"""Structural similarity of two places: size, urbanisation, Land, distance (pure).

`rank` inlines `structure_fast` and `fast_km` in its hot loop with the same
arithmetic; these are the readable versions, and what the reasons and the
peers without entries use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from exchange.matching.profiles import URBANISATION, Place
from exchange.matching.weights import Weights


def haversine_km(a: Place, b: Place) -> float | None:
    if a.latitude is None or a.longitude is None or b.latitude is None or b.longitude is None:
        return None
    p1, p2 = math.radians(a.latitude), math.radians(b.latitude)
    dp, dl = p2 - p1, math.radians(b.longitude - a.longitude)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def structure_parts(q: Place, p: Place, w: Weights, km: float | None) -> dict[str, float]:
    """The parts of structural similarity that both rows have data for, each in [0, 1]."""
    parts: dict[str, float] = {}
    if q.population and p.population:
        ratio = abs(math.log10(q.population / p.population))  # 1 = ten times as large
        same = 1.0 if q.size_class and q.size_class == p.size_class else 0.0
        parts["size"] = 0.5 * same + 0.5 * max(0.0, 1.0 - ratio / 2) if q.size_class else max(0.0, 1.0 - ratio / 2)
    if q.urbanisation in URBANISATION and p.urbanisation in URBANISATION:
        parts["urbanisation"] = 1.0 - abs(URBANISATION[q.urbanisation] - URBANISATION[p.urbanisation]) / 2
    if q.land_code and p.land_code:
        parts["land"] = 1.0 if q.land_code == p.land_code else 0.0
    if km is not None:
        parts["distance"] = 1.0 / (1.0 + km / w.distance_km)
    return parts


def structure_fast(q: Place, p: Place, w: Weights, km: float | None) -> float | None:
    """`structure_score(structure_parts(...))` without building a dict: the ranking loop's version
    (None: no part applies, such as for an organisation or without an asker)."""
    num = den = 0.0
    if q.log_pop is not None and p.log_pop is not None:
        popsim = max(0.0, 1.0 - abs(q.log_pop - p.log_pop) / 2)
        if q.size_class:
            popsim = 0.5 * (1.0 if q.size_class == p.size_class else 0.0) + 0.5 * popsim
        num += w.size * popsim
        den += w.size
    qu, pu = URBANISATION.get(q.urbanisation), URBANISATION.get(p.urbanisation)
    if qu is not None and pu is not None:
        num += w.urbanisation * (1.0 - abs(qu - pu) / 2)
        den += w.urbanisation
    if q.land_code and p.land_code:
        num += w.land * (1.0 if q.land_code == p.land_code else 0.0)
        den += w.land
    if km is not None:
        num += w.distance / (1.0 + km / w.distance_km)
        den += w.distance
    return num / den if den else None


def fast_km(a: Place, b: Place) -> float | None:
    """Equirectangular distance: within 0.5 % of the great circle at German distances, far cheaper."""
    if not (a.located and b.located):
        return None
    x = (b.lon_r - a.lon_r) * math.cos((a.lat_r + b.lat_r) / 2)
    return 6371.0 * math.sqrt(x * x + (b.lat_r - a.lat_r) ** 2)


def structure_score(parts: Mapping[str, float], w: Weights) -> float:
    weights = {"size": w.size, "urbanisation": w.urbanisation, "land": w.land, "distance": w.distance}
    total = sum(weights[k] for k in parts)
    return sum(weights[k] * v for k, v in parts.items()) / total if total else 0.0


