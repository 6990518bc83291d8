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


@dataclass(frozen=True)
class SeriesPoint:
    """One dated measurement of an indicator."""

    when: str  # YYYY-MM-DD
    value: float
    text: str  # the formatted value with unit


def _day(when: str) -> int:
    year, month, day = (int(x) for x in when.split("-"))
    return year * 372 + month * 31 + day  # order and rough spacing are all a chart needs


def series_chart(points: Sequence[SeriesPoint], *, lines: Sequence[tuple[str, float]], title: str) -> str:
    """Measurements over time as a line with dots, against horizontal reference `lines`
    (label, value), e.g. the baseline and the target. Every dot carries its date and value
    as a tooltip; the page shows the same numbers as a table."""
    width, height, left, right, top, bottom = 480, 200, 12, 150, 14, 26
    values = [p.value for p in points] + [v for _, v in lines]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad
    days = [_day(p.when) for p in points]
    first, last = min(days), max(days)

    def x(day: int) -> float:
        if last == first:
            return round(left + (width - left - right) / 2, 1)
        return round(left + (day - first) / (last - first) * (width - left - right), 1)

    def y(value: float) -> float:
        return round(top + (high - value) / (high - low) * (height - top - bottom), 1)

    out = [(f'<svg class="chart series" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'),
           f'<line class="series-axis" x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}"/>']
    for i, (label, value) in enumerate(lines):
        out.append(f'<line class="series-ref series-ref-{i}" x1="{left}" y1="{y(value)}" x2="{width - right}" '
                   f'y2="{y(value)}"/>')
        out.append(f'<text class="chart-label" x="{width - right + 6}" y="{y(value) + 4}">{escape(label)}</text>')
    ordered = sorted(zip(days, points, strict=True), key=lambda dp: dp[0])
    if len(ordered) > 1:
        out.append('<polyline class="series-line" points="'
                   + " ".join(f"{x(d)},{y(p.value)}" for d, p in ordered) + '"/>')
    for d, p in ordered:
        out.append(f'<circle class="series-dot" cx="{x(d)}" cy="{y(p.value)}" r="4">'
                   f"<title>{escape(p.when)}: {escape(p.text)}</title></circle>")
    out.append(f'<text class="chart-label" x="{left}" y="{height - 8}">{escape(ordered[0][1].when)}</text>')
    if len(ordered) > 1:
        out.append(f'<text class="chart-label" x="{width - right}" y="{height - 8}" text-anchor="end">'
                   f"{escape(ordered[-1][1].when)}</text>")
    out.append("</svg>")
    return "".join(out)
