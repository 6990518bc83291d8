"""Pictures as inline SVG: a map of Germany with points, and an indicator bar chart.

Pure functions from plain values to SVG markup (strings that the templates
mark safe); every text is escaped here. Nothing is told by colour alone: the
map draws the municipality itself as a square and its peers as numbered
circles, and every bar of the chart carries its label and number as text. The
outline comes from `germany_outline` (Natural Earth, public domain); points are
the register's coordinates. The projection is equirectangular with the
longitude scaled by cos(51°), which looks right for a country this size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from exchange.web.germany_outline import RINGS

# Bounding box of the outline, with a small margin (degrees).
WEST, EAST, SOUTH, NORTH = 5.7, 15.2, 47.1, 55.2
LON_SCALE = math.cos(math.radians(51.0))
MAP_WIDTH = 320


@dataclass(frozen=True)
class MapPoint:
    """One place on the map: the subject (a square) or a numbered peer (a circle)."""

    latitude: float
    longitude: float
    label: str
    number: int | None = None  # None: the subject municipality


@dataclass(frozen=True)
class Bar:
    """One bar of the indicator chart: a label such as "Ziel" and its value."""

    label: str
    value: float | None
    text: str  # the formatted value with unit, shown beside the bar


def _map_height() -> int:
    return round(MAP_WIDTH * (NORTH - SOUTH) / ((EAST - WEST) * LON_SCALE))


def project(latitude: float, longitude: float) -> tuple[float, float]:
    """SVG coordinates of a WGS84 position on the map canvas."""
    x = (longitude - WEST) / (EAST - WEST) * MAP_WIDTH
    y = (NORTH - latitude) / (NORTH - SOUTH) * _map_height()
    return round(x, 1), round(y, 1)


def _outline_path() -> str:
    parts = []
    for ring in RINGS:
        points = [project(lat, lon) for lon, lat in ring]
        parts.append("M" + " L".join(f"{x},{y}" for x, y in points) + " Z")
    return " ".join(parts)


OUTLINE_PATH = _outline_path()


def germany_map(points: Sequence[MapPoint], *, title: str, description: str) -> str:
    """A map of Germany with the subject as a square and peers as numbered circles."""
    height = _map_height()
    out = [
        (f'<svg class="map" viewBox="0 0 {MAP_WIDTH} {height}" width="{MAP_WIDTH}" height="{height}" '
         'role="img" aria-labelledby="map-title map-desc" xmlns="http://www.w3.org/2000/svg">'),
        f'<title id="map-title">{escape(title)}</title>',
        f'<desc id="map-desc">{escape(description)}</desc>',
        f'<path class="map-land" d="{OUTLINE_PATH}"/>',
    ]
    # peers first, the subject last so that it is drawn on top
    for point in sorted(points, key=lambda p: p.number is None):
        x, y = project(point.latitude, point.longitude)
        if point.number is None:
            out.append(
                f'<rect class="map-self" x="{x - 6}" y="{y - 6}" width="12" height="12">'
                f"<title>{escape(point.label)}</title></rect>"
            )
        else:
            out.append(
                f'<g class="map-peer"><circle cx="{x}" cy="{y}" r="8"/>'
                f'<text x="{x}" y="{y + 3.5}" text-anchor="middle">{point.number}</text>'
                f"<title>{point.number}. {escape(point.label)}</title></g>"
            )
    out.append("</svg>")
    return "".join(out)


def bar_chart(bars: Sequence[Bar], *, title: str) -> str:
    """Horizontal bars on one scale, each with its label left and its value right."""
    values = [b.value for b in bars if b.value is not None]
    top = max([abs(v) for v in values] + [0.0]) or 1.0
    label_w, bar_w, text_w, row_h = 124, 240, 130, 24
    width = label_w + bar_w + text_w
    height = row_h * len(bars) + 4
    out = [
        (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
         f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'),
    ]
    for i, bar in enumerate(bars):
        y = i * row_h + 2
        out.append(
            f'<text class="chart-label" x="{label_w - 6}" y="{y + 16}" text-anchor="end">'
            f"{escape(bar.label)}</text>"
        )
        if bar.value is None:
            length = 0.0
        else:
            length = round(max(abs(bar.value) / top * bar_w, 1.5 if bar.value else 0.0), 1)
        out.append(
            f'<rect class="chart-bar chart-bar-{i}" x="{label_w}" y="{y + 4}" width="{length}" height="15"/>'
        )
        out.append(f'<text class="chart-value" x="{label_w + length + 6}" y="{y + 16}">{escape(bar.text)}</text>')
    out.append("</svg>")
    return "".join(out)
