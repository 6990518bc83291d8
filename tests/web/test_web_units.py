"""The pure parts of the web pages: languages, parameters, facet tallies, SVG, sessions."""

from __future__ import annotations

import base64
import json
import re

import pytest
from babel.messages.pofile import read_po

from exchange.errors import InvalidInputError
from exchange.web.facets import tally, tally_topics
from exchange.web.forms import Session, SessionCodec, split_list
from exchange.web.i18n import LOCALE_DIR, choose_locale, parse_accept_language, translations
from exchange.web.params import parse_search, search_items
from exchange.web.render import body_html
from exchange.web.svg import MAP_WIDTH, Bar, MapPoint, bar_chart, germany_map, project


@pytest.mark.parametrize(("query", "cookie", "header", "expected"), [
    (None, None, None, "de"),
    (None, None, "en-US,en;q=0.9", "en"),
    (None, None, "fr-FR, en;q=0.5, de;q=0.7", "de"),
    (None, None, "de;q=0, en;q=0.1", "en"),
    (None, None, "fr, *", "de"),
    (None, "en", "de", "en"),
    ("de", "en", "en", "de"),
    ("xx", None, "en", "en"),
    (None, None, "en;q=garbage, de", "de"),
])
def test_choose_locale(query: str | None, cookie: str | None, header: str | None, expected: str) -> None:
    assert choose_locale(query, cookie, header) == expected


def test_accept_language_order() -> None:
    assert parse_accept_language("en;q=0.5, de-AT, fr;q=0.9") == ["de-at", "fr", "en"]


def test_every_message_has_a_german_translation() -> None:
    with (LOCALE_DIR / "de" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="de")
    with (LOCALE_DIR / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    missing = [m.id for m in template if m.id and not (catalog.get(m.id) and catalog.get(m.id).string)]
    assert not missing, f"untranslated: {missing}"
    for message in catalog:  # placeholders survive translation
        if message.id and isinstance(message.id, str) and message.string:
            assert set(re.findall(r"%\(\w+\)s", message.id)) == set(re.findall(r"%\(\w+\)s", message.string))


@pytest.mark.parametrize("name", ["messages.pot", "de/LC_MESSAGES/messages.po", "en/LC_MESSAGES/messages.po"])
def test_every_catalogue_entry_is_whole(name: str) -> None:
    """A msgid without its msgstr (two sets of additions joined badly) is refused, not skipped."""
    with (LOCALE_DIR / name).open("rb") as fh:
        read_po(fh, abort_invalid=True)


def test_catalogues_load_without_a_build_step() -> None:
    assert translations("de").gettext("Search the catalogue") == "Katalog durchsuchen"
    assert translations("en").gettext("Search the catalogue") == "Search the catalogue"
    assert translations("de").ngettext("%(num)s entry", "%(num)s entries", 2) == "%(num)s Einträge"


def test_parse_search_reads_every_parameter() -> None:
    p = parse_search([("q", "sensor"), ("kind", "project,lesson"), ("topic", "digitalisierung"),
                      ("land", "Bayern"), ("size", "Kleinstadt"), ("status", "running"),
                      ("language", "de"), ("first", "5"), ("lang", "en")])
    q = p.query
    assert q.kinds == ("project", "lesson") and q.land == "09" and q.order == "relevance" and p.first == 5
    assert ("kind", "lesson") in search_items(p) and ("first", "5") in search_items(p)
    assert parse_search([]).query.order == "newest"


@pytest.mark.parametrize("items", [
    [("first", "-1")], [("first", "1e3")], [("order", "random")], [("kind", "poem")], [("land", "Narnia")],
    [("q", "a"), ("q", "b")], [("topic", ",".join(f"t{i}" for i in range(21)))],
])
def test_parse_search_refuses(items: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidInputError):
        parse_search(items)


def test_tally_counts_each_facet_under_the_other_filters() -> None:
    rows = [
        ("project", "running", "de", "09", "Kleinstadt", 3),
        ("project", "completed", "de", "07", "Landgemeinde", 2),
        ("lesson", None, "en", "09", "Kleinstadt", 4),
        ("guide", None, "de", None, None, 1),
    ]
    chosen = {"kind": ("project",), "status": (), "language": (), "land": ("09",), "size": ()}
    counts, total = tally(rows, chosen)
    assert total == 3
    assert counts["kind"] == {"project": 3, "lesson": 4}  # kinds under land=09
    assert counts["land"] == {"09": 3, "07": 2}  # Länder under kind=project
    assert counts["status"] == {"running": 3}
    assert tally(rows, {d: () for d in chosen})[1] == 10
    by_topic = [row[:5] + ("verkehr", row[5]) for row in rows] + [("lesson", None, "en", "09", "Kleinstadt", "energie", 4)]
    assert tally_topics(by_topic, chosen) == {"verkehr": 3}
    assert tally_topics(by_topic, {**chosen, "kind": ()}) == {"verkehr": 7, "energie": 4}


def test_map_points_fall_inside_the_canvas_and_text_is_escaped() -> None:
    for lat, lon in ((54.9, 8.3), (47.3, 10.2), (51.0, 15.0), (51.0, 5.9)):  # Sylt, Oberstdorf, Görlitz, Selfkant
        x, y = project(lat, lon)
        assert 0 <= x <= MAP_WIDTH and y >= 0
    svg = germany_map([MapPoint(50.05, 7.61, "Kissel<bach>"), MapPoint(47.74, 10.23, "A & B", 1)],
                      title="t<", description="d&")
    assert "Kissel&lt;bach&gt;" in svg and "A &amp; B" in svg and "t&lt;" in svg
    assert svg.count("<rect") == 1 and svg.count("<circle") == 1 and ">1</text>" in svg
    assert 'role="img"' in svg and 'aria-labelledby="map-title map-desc"' in svg


def test_bar_chart_carries_numbers_as_text() -> None:
    svg = bar_chart([Bar("Ausgangswert", 46.0, "46 Anzahl"), Bar("Ziel", 20.0, "20 Anzahl"),
                     Bar("Ist", None, "nicht angegeben")], title="Fahrten")
    assert "46 Anzahl" in svg and "nicht angegeben" in svg and 'aria-label="Fahrten"' in svg
    widths = [float(w) for w in re.findall(r'<rect[^>]*width="([\d.]+)"', svg)]
    assert widths[0] > widths[1] > widths[2] == 0.0


def test_session_cookies_are_signed_and_csrf_is_bound_to_the_session() -> None:
    codec = SessionCodec(b"k" * 32)
    s = Session.new()
    value = codec.dumps(s)
    assert codec.loads(value) == s
    assert set(json.loads(base64.urlsafe_b64decode(value.split(".")[0] + "=="))) == {"sid"}  # the cookie carries the session id only
    # a changed signature character: one well inside it (the last one of unpadded base64 has bits
    # the decoder ignores), changed for certain (a fixed replacement may equal the original)
    at = value.rindex(".") + 5
    tampered = value[:at] + ("B" if value[at] == "A" else "A") + value[at + 1:]
    assert codec.loads(tampered) is None and codec.loads("") is None
    assert SessionCodec(b"other" * 8).loads(value) is None
    token = codec.csrf_token(s)
    assert codec.csrf_ok(s, token) and not codec.csrf_ok(Session.new(), token) and not codec.csrf_ok(s, None)
    assert split_list("a, b\nc,,") == ["a", "b", "c"]


def test_body_html_demotes_headings_and_prefixes_ids() -> None:
    html = str(body_html('<h1 id="main">T</h1><p><a href="#main">x</a> href="#y" as text</p>'))
    assert html == '<h2 id="body-main">T</h2><p><a href="#body-main">x</a> href="#y" as text</p>'


def test_series_chart_orders_points_and_escapes_text() -> None:
    from exchange.web.svg import SeriesPoint, series_chart

    svg = series_chart([SeriesPoint("2025-01-01", 9, "9 <%>"), SeriesPoint("2024-01-01", 12, "12 <%>")],
                       lines=[("Baseline 18", 18.0), ("Target 8", 8.0)], title="Loss <over> time")
    assert 'aria-label="Loss &lt;over&gt; time"' in svg and "<%>" not in svg
    assert svg.index("2024-01-01: 12") < svg.index("2025-01-01: 9") and svg.count("series-ref ") == 2
    single = series_chart([SeriesPoint("2024-01-01", 5, "5")], lines=[], title="one")
    assert single.count("series-dot") == 1 and "polyline" not in single
