"""Atom 1.0 feeds of public entries: the whole node, one topic, one publisher.

Pure: `build_feed` turns a `FeedInfo` and the newest `EntryRecord`s into the
bytes of an Atom document (RFC 4287), written with the standard library's
ElementTree, so no feed library is needed for a format this small. Every entry
has a stable id (`urn:uuid:` of the entry, the same on every node), its
summary, its topics as categories, its publisher as author, its licence as
rights, and links to the web page and the Markdown. A feed that shows a
municipality's name from the register carries the register's attribution.
`feed_path` and `feed_links` give the addresses the web pages link to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from exchange.opendata.dcat import licence_of, register_attribution
from exchange.opendata.records import EntryRecord

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
FEED_SIZE = 50
KIND_LABELS = {"project": "Projekt", "guide": "Leitfaden", "lesson": "Erfahrungsbericht", "call": "Partnersuche"}

ET.register_namespace("", ATOM)


@dataclass(frozen=True)
class FeedInfo:
    """What a feed is about: its address, title and the node that serves it."""

    node_url: str
    node_name: str
    path: str  # e.g. "/feeds/all.atom"
    title: str
    subtitle: str = ""
    page: str = "/"  # the web page the feed belongs to
    updated: datetime | None = None  # used when the feed has no entries


def feed_path(kind: str, key: str = "") -> str:
    """The path of a feed: kind "all", "topic" (key: slug) or "publisher" (key: ARS or slug)."""
    if kind == "all":
        return "/feeds/all.atom"
    if kind == "topic":
        return f"/feeds/topics/{key}.atom"
    if kind == "publisher":
        return f"/feeds/publishers/{key}.atom"
    raise ValueError(f"unknown feed kind {kind!r}")


def feed_links(
    topics: Sequence[tuple[str, str]] = (), publisher: tuple[str, str] | None = None
) -> list[dict[str, str]]:
    """`<link rel="alternate" type="application/atom+xml">` attributes for a page:
    the node feed, plus one per (slug, label) topic and the (key, name) publisher."""
    links = [
        {"rel": "alternate", "type": MEDIA_TYPE, "href": feed_path("all"), "title": "Alle Einträge"}
    ]
    for slug, label in topics:
        links.append(
            {
                "rel": "alternate",
                "type": MEDIA_TYPE,
                "href": feed_path("topic", slug),
                "title": f"Thema {label}",
            }
        )
    if publisher is not None:
        links.append(
            {
                "rel": "alternate",
                "type": MEDIA_TYPE,
                "href": feed_path("publisher", publisher[0]),
                "title": publisher[1],
            }
        )
    return links


def _time(value: datetime) -> str:
    return value.replace(microsecond=0).isoformat()


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    element.text = text
    return element


def _link(parent: ET.Element, href: str, rel: str = "alternate", media: str = "text/html") -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"rel": rel, "type": media, "href": href})


def _entry(feed: ET.Element, e: EntryRecord, node_url: str) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", f"urn:uuid:{e.uid}")
    _text(entry, "title", e.title)
    _text(entry, "updated", _time(e.updated_at))
    _text(entry, "published", _time(e.created_at))
    _link(entry, e.url())
    _link(entry, e.url(".md"), rel="related", media="text/markdown")
    author = ET.SubElement(entry, f"{{{ATOM}}}author")
    _text(author, "name", e.publisher.name if e.publisher else "unbekannt")
    for topic in e.topics:
        ET.SubElement(
            entry,
            f"{{{ATOM}}}category",
            {
                "term": topic.slug,
                "label": topic.label_de,
                "scheme": f"{node_url}/topics/",
            },
        )
    ET.SubElement(
        entry,
        f"{{{ATOM}}}category",
        {
            "term": e.kind,
            "label": KIND_LABELS.get(e.kind, e.kind),
            "scheme": f"{node_url}/kinds/",
        },
    )
    uri, _, label = licence_of(e.license)
    _text(entry, "rights", f"{e.license or 'Lizenz'}: {label} ({uri})")
    _text(entry, "summary", e.summary or e.title, type="text")


def build_feed(info: FeedInfo, entries: Sequence[EntryRecord]) -> bytes:
    """The Atom document of a feed; `entries` newest first."""
    node = info.node_url.rstrip("/")
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "de"})
    _text(feed, "id", node + info.path)
    _text(feed, "title", info.title)
    if info.subtitle:
        _text(feed, "subtitle", info.subtitle)
    newest = max((e.updated_at for e in entries), default=info.updated)
    if newest is None:
        raise ValueError("a feed without entries needs FeedInfo.updated")
    _text(feed, "updated", _time(newest))
    _link(feed, node + info.path, rel="self", media=MEDIA_TYPE)
    _link(feed, node + info.page)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", info.node_name)
    _text(author, "uri", node + "/")
    _text(feed, "generator", "exchange")
    dates = sorted(
        {e.publisher.register_date for e in entries if e.publisher and e.publisher.from_register}
    )
    rights = "Lizenz je Eintrag, siehe dort."
    if dates:
        rights += " " + register_attribution(dates[-1])
    _text(feed, "rights", rights)
    for e in entries:
        _entry(feed, e, node)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
