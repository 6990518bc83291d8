"""From entries and peers to the pictures of a page: indicator charts and the peer map.

The glue between the page data and the pure drawing in `svg.py`: it picks the
values, translates the labels and formats the numbers in the page's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from exchange.goals import measurements_of, target_met
from exchange.models import Municipality
from exchange.placenames import display_name
from exchange.web.svg import Bar, MapPoint, SeriesPoint, bar_chart, germany_map, series_chart

Gettext = Callable[[str], str]


def indicator_charts(goals: Sequence[dict[str, Any]], _: Gettext, env: Environment) -> list[dict[str, Any]]:
    """Per goal, its indicators: the dated measurements drawn over time against baseline and
    target (or, without dated ones, bars of baseline, target and actual), the numbers as a
    table, and whether the target is met."""
    number = env.filters["number"]
    out = []
    for goal in goals:
        indicators = []
        for ind in goal.get("indicators") or []:
            unit = str(ind.get("unit") or "")

            def text(value: Any, unit: str = unit) -> str:
                return _("not given") if value is None else f"{number(value)} {unit}".strip()

            labels = (("baseline", _("Baseline")), ("target", _("Target")), ("actual", _("Actual")))
            bars = [Bar(label=label, value=None if ind.get(key) is None else float(ind[key]), text=text(ind.get(key)))
                    for key, label in labels]
            series = [SeriesPoint(str(m["date"]), float(m["value"]), text(m["value"]))
                      for m in measurements_of(ind) if m.get("date")]
            name = str(ind.get("name", ""))
            if series:
                references = [(f"{label} {text(ind[key])}", float(ind[key]))
                              for key, label in labels[:2] if ind.get(key) is not None]
                title = _("%(name)s over time: %(points)s") % {
                    "name": name, "points": ", ".join(f"{p.when} {p.text}" for p in series)}
                svg = series_chart(series, lines=references, title=title)
            else:
                title = f"{name}: " + ", ".join(f"{b.label} {b.text}" for b in bars)
                svg = bar_chart(bars, title=title)
            indicators.append({
                "name": name, "unit": unit, "bars": bars[:2] if series else bars, "series": series,
                "svg": Markup(svg), "met": target_met(ind),
            })
        out.append({"goal": goal.get("goal", ""), "indicators": indicators})
    return out


def peer_map(muni: Municipality, peers: Sequence[Any], _: Gettext) -> str:
    """The map of a municipality (a square) and its numbered peers (circles)."""
    name = display_name(muni.name)  # "Haßfurt, Stadt", not the register's "Haßfurt, St"
    points = [MapPoint(muni.latitude or 0.0, muni.longitude or 0.0, name)]
    for number, peer in enumerate(peers, 1):
        m = peer.publisher
        if m.latitude is not None and m.longitude is not None:
            points.append(MapPoint(m.latitude, m.longitude, display_name(m.name), number))
    title = _("Map of Germany: %(name)s and its peers") % {"name": name}
    if len(points) > 1:
        description = _("%(name)s is drawn as a square; its peers as numbered circles: %(peers)s") % {
            "name": name,
            "peers": "; ".join(f"{p.number}. {p.label}" for p in points[1:]),
        }
    else:
        description = _("%(name)s is drawn as a square.") % {"name": name}
    return germany_map(points, title=title, description=description)
