"""Atom feeds: valid Atom 1.0 (feedparser, no bozo), ids, escaping, links."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import pytest

from exchange.opendata import feeds
from tests.exchange.test_dcat import ORG, record

INFO = feeds.FeedInfo(
    "http://a.test",
    "Knoten A",
    "/feeds/all.atom",
    "Neue Einträge",
    updated=datetime(2026, 1, 1, tzinfo=UTC),
)


def test_feed_is_valid_atom_with_entries() -> None:
    entries = [record(2, title="Zweiter"), record(1, publisher=ORG)]
    parsed = feedparser.parse(feeds.build_feed(INFO, entries))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id == "http://a.test/feeds/all.atom"
    assert [e.id for e in parsed.entries] == [
        f"urn:uuid:{entries[0].uid}",
        f"urn:uuid:{entries[1].uid}",
    ]
    first = parsed.entries[0]
    assert first.summary == "Kurz."
    assert first.link == entries[0].url()
    assert {t.term for t in first.tags} == {"bau", "sonstiges", "project"}
    assert "cc-by/4.0" in first.rights
    assert "Destatis" in parsed.feed.rights  # a municipality's register name is shown


def test_hostile_text_is_escaped() -> None:
    body = feeds.build_feed(INFO, [record(title="<script>alert(1)</script> & Co", summary="a < b")])
    assert b"<script>" not in body
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    assert parsed.entries[0].title == "<script>alert(1)</script> & Co"


def test_empty_feed_uses_the_given_time() -> None:
    parsed = feedparser.parse(feeds.build_feed(INFO, []))
    assert not parsed.bozo and parsed.entries == []
    assert parsed.feed.updated.startswith("2026-01-01")
    assert "Destatis" not in parsed.feed.rights


@pytest.mark.parametrize(
    ("kind", "key", "path"),
    [
        ("all", "", "/feeds/all.atom"),
        ("topic", "bau", "/feeds/topics/bau.atom"),
        ("publisher", "097800146146", "/feeds/publishers/097800146146.atom"),
    ],
)
def test_feed_paths_and_links(kind: str, key: str, path: str) -> None:
    assert feeds.feed_path(kind, key) == path
    links = feeds.feed_links([("bau", "Bau")], ("097800146146", "Wiggensbach"))
    assert path in {link["href"] for link in links}
    assert {link["type"] for link in links} == {"application/atom+xml"}
