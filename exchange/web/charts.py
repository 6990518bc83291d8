"""From entries and peers to the pictures of a page: indicator charts and the peer map.

The glue between the page data and the pure drawing in `svg.py`: it picks the
values, translates the labels and formats the numbers in the page's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from exchange.models import Municipality
from exchange.web.svg import Bar, MapPoint, bar_chart, germany_map

Gettext = Callable[[str], str]


def indicator_charts(goals: Sequence[dict[str, Any]], _: Gettext, env: Environment) -> list[dict[str, Any]]:
    """Per goal, its indicators with a bar chart (baseline, target, actual) and the numbers."""
    number = env.filters["number"]
    out = []
    for goal in goals:
        indicators = []
        for ind in goal.get("indicators") or []:
            unit = str(ind.get("unit") or "")
            labels = (("baseline", _("Baseline")), ("target", _("Target")), ("actual", _("Actual")))
            bars = []
            for key, label in labels:
                value = ind.get(key)
                text = _("not given") if value is None else f"{number(value)} {unit}".strip()
                bars.append(Bar(label=label, value=None if value is None else float(value), text=text))
            title = f"{ind.get('name', '')}: " + ", ".join(f"{b.label} {b.text}" for b in bars)
            indicators.append({
                "name": ind.get("name", ""), "unit": unit, "bars": bars,
                "svg": Markup(bar_chart(bars, title=title)),
            })
        out.append({"goal": goal.get("goal", ""), "indicators": indicators})
    return out


def peer_map(muni: Municipality, peers: Sequence[Any], _: Gettext) -> str:
    """The map of a municipality (a square) and its numbered peers (circles)."""
    points = [MapPoint(muni.latitude or 0.0, muni.longitude or 0.0, muni.name)]
    for number, peer in enumerate(peers, 1):
        m = peer.municipality
        if m.latitude is not None and m.longitude is not None:
            points.append(MapPoint(m.latitude, m.longitude, m.name, number))
    title = _("Map of Germany: %(name)s and its peers") % {"name": muni.name}
    if len(points) > 1:
        description = _("%(name)s is drawn as a square; its peers as numbered circles: %(peers)s") % {
            "name": muni.name,
            "peers": "; ".join(f"{p.number}. {p.label}" for p in points[1:]),
        }
    else:
        description = _("%(name)s is drawn as a square.") % {"name": muni.name}
    return germany_map(points, title=title, description=description)
