"""Open-data routes: the DCAT-AP.de catalogue, Atom feeds, CSV/JSON Lines, entry files.

`opendata_routes(node)` returns the Starlette routes; app.py registers them
before the web pages, so `/entries/{id}.md` is not taken for an entry page.

    /catalog                       DCAT-AP.de; Turtle, RDF/XML or JSON-LD by Accept
                                   or ?format=turtle|rdfxml|jsonld; ?page=N (Hydra)
    /catalog.csv, /catalog.jsonl   the public catalogue, streamed
    /feeds/all.atom                newest public entries of the node
    /feeds/topics/{slug}.atom      ... of one topic
    /feeds/publishers/{key}.atom   ... of one municipality (ARS/AGS/Kreis key) or organisation
    /entries/{id}.md, .html        one public entry as Markdown / standalone HTML

The handlers are thin: read parameters, call `exchange.opendata.records` for values and
the pure builders for bytes. Errors come back as `{"error": {code, message,
status}}` with the status of their class; a withdrawn entry answers 410.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from exchange.auth import find_publisher
from exchange.catalogue import parse_uid
from exchange.errors import ExchangeError, InvalidInputError, NotFoundError
from exchange.models import Entry, Topic
from exchange.opendata import dcat, exports, feeds, records

CATALOG_PAGE = 100
STATUS = {"NOT_FOUND": 404, "BAD_USER_INPUT": 400, "FORBIDDEN": 403, "UNAUTHENTICATED": 401}
Handler = Callable[[Request], Awaitable[Response]]


class GoneError(NotFoundError):
    """The entry was withdrawn (a tombstone): 410, with the NOT_FOUND code."""


def error_response(exc: ExchangeError) -> JSONResponse:
    status = 410 if isinstance(exc, GoneError) else STATUS.get(exc.code, 400)
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message, "status": status}}, status_code=status
    )


def guarded(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ExchangeError as exc:
            return error_response(exc)

    return run


class OpenData:
    """The handlers, bound to one node."""

    def __init__(self, node: Any) -> None:
        self.settings = node.settings
        self.node_url: str = node.settings.node_url.rstrip("/")
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- DCAT-AP.de --------------------------------------------------------

    async def catalog(self, request: Request) -> Response:
        key = dcat.negotiate(request.headers.get("accept"), request.query_params.get("format"))
        raw = request.query_params.get("page", "1")
        if not raw.isdigit() or int(raw) < 1:
            raise InvalidInputError(f"page must be a positive whole number, not {raw!r}")
        page_no = int(raw)
        total = await records.count_public()
        page = dcat.PageInfo(page_no, CATALOG_PAGE, total)
        if page_no > page.last:
            raise NotFoundError(
                f"the catalogue has {page.last} page(s); there is no page {page_no}"
            )
        entries = await records.public_page(page_no, CATALOG_PAGE)
        info = dcat.CatalogInfo(
            self.node_url,
            self.settings.node_name,
            self.settings.default_license,
            await records.latest_public_change(),
            self.settings.dcat_contributor_id,
        )
        graph = dcat.build_catalog(info, entries, page)
        media = dcat.FORMATS[key][0]
        return Response(
            dcat.serialize(graph, key),
            media_type=f"{media}; charset=utf-8",
            headers={"Vary": "Accept"},
        )

    # -- exports -----------------------------------------------------------

    async def csv(self, request: Request) -> Response:
        return StreamingResponse(
            exports.stream_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="catalog.csv"'},
        )

    async def jsonl(self, request: Request) -> Response:
        return StreamingResponse(
            exports.stream_jsonl(),
            media_type="application/jsonl; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="catalog.jsonl"'},
        )

    # -- feeds -------------------------------------------------------------

    def _feed(self, info: feeds.FeedInfo, entries: list[records.EntryRecord]) -> Response:
        return Response(
            feeds.build_feed(info, entries), media_type=f"{feeds.MEDIA_TYPE}; charset=utf-8"
        )

    async def feed_all(self, request: Request) -> Response:
        entries = await records.newest_public(feeds.FEED_SIZE)
        info = feeds.FeedInfo(
            self.node_url,
            self.settings.node_name,
            feeds.feed_path("all"),
            f"{self.settings.node_name}: neue Einträge",
            "Projektbeschreibungen, Leitfäden und Erfahrungsberichte",
            "/",
            self.clock(),
        )
        return self._feed(info, entries)

    async def feed_topic(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        topic = await Topic.get_or_none(slug=slug)
        if topic is None:
            raise NotFoundError(f"no topic {slug!r}")
        entries = await records.newest_public(feeds.FEED_SIZE, topic_id=topic.id)
        info = feeds.FeedInfo(
            self.node_url,
            self.settings.node_name,
            feeds.feed_path("topic", slug),
            f"{self.settings.node_name}: {topic.label_de}",
            topic.description,
            f"/topics/{slug}",
            self.clock(),
        )
        return self._feed(info, entries)

    async def feed_publisher(self, request: Request) -> Response:
        key = request.path_params["key"]
        publisher = await find_publisher(key)
        entries = await records.newest_public(
            feeds.FEED_SIZE, publisher=(publisher.kind, publisher.id)
        )
        page = f"/municipalities/{publisher.key}" if publisher.kind == "municipality" else "/"
        info = feeds.FeedInfo(
            self.node_url,
            self.settings.node_name,
            feeds.feed_path("publisher", key),
            f"{self.settings.node_name}: {publisher.name}",
            "",
            page,
            self.clock(),
        )
        return self._feed(info, entries)

    # -- one entry as a file -----------------------------------------------

    async def _entry(self, request: Request) -> records.EntryRecord:
        uid = parse_uid(request.path_params["uid"])
        entry = await Entry.get_or_none(uid=uid)
        if entry is None or entry.visibility != "public":
            raise NotFoundError(f"no public entry with id {uid}")
        if entry.deleted:
            raise GoneError(f"entry {uid} was withdrawn by its publisher")
        return await records.public_entry(entry)

    async def markdown(self, request: Request) -> Response:
        return Response(
            entry_markdown(await self._entry(request)), media_type="text/markdown; charset=utf-8"
        )

    async def html(self, request: Request) -> Response:
        return Response(
            entry_html(await self._entry(request)), media_type="text/html; charset=utf-8"
        )


def _licence_note(e: records.EntryRecord) -> tuple[str, str]:
    uri, _, label = dcat.licence_of(e.license)
    return f"{label} ({e.license})", uri


def entry_markdown(e: records.EntryRecord) -> str:
    """The entry as a Markdown file: YAML front matter with the facts, then the body."""
    uri = _licence_note(e)[1]
    meta: dict[str, Any] = {
        "id": e.uid,
        "kind": e.kind,
        "title": e.title,
        "summary": e.summary,
        "language": e.language,
        "topics": [t.slug for t in e.topics],
        "keywords": list(e.keywords),
        "publisher": {"type": e.publisher.kind, "key": e.publisher.key, "name": e.publisher.name}
        if e.publisher
        else None,
        "license": e.license,
        "license_url": uri,
        "origin": e.origin,
        "url": e.url(),
        "version": e.version,
        "updated_at": e.updated_at.isoformat(),
    }
    if e.publisher is not None and e.publisher.from_register:
        meta["attribution"] = dcat.register_attribution(e.publisher.register_date)
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n{e.body_markdown.rstrip()}\n"


def entry_html(e: records.EntryRecord) -> str:
    """The entry as a standalone HTML document (its body was sanitised when stored)."""
    label, uri = _licence_note(e)
    esc = html.escape
    by = f"{esc(e.publisher.name)}, " if e.publisher else ""
    attribution = ""
    if e.publisher is not None and e.publisher.from_register:
        attribution = f"<p>{esc(dcat.register_attribution(e.publisher.register_date))}</p>"
    return (
        f'<!doctype html>\n<html lang="{esc(e.language)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(e.title)}</title>\n"
        f'<link rel="canonical" href="{esc(e.url())}">\n</head>\n<body>\n<article>\n'
        f"<h1>{esc(e.title)}</h1>\n<p><strong>{esc(e.summary)}</strong></p>\n{e.body_html}\n</article>\n"
        f'<footer>\n<p>{by}<a rel="license" href="{esc(uri)}">{esc(label)}</a></p>\n{attribution}\n'
        f"</footer>\n</body>\n</html>\n"
    )


def opendata_routes(node: Any) -> list[BaseRoute]:
    """The open-data routes of `node` (register them before the web page routes)."""
    h = OpenData(node)
    return [
        Route("/catalog", guarded(h.catalog)),
        Route("/catalog.csv", guarded(h.csv)),
        Route("/catalog.jsonl", guarded(h.jsonl)),
        Route("/feeds/all.atom", guarded(h.feed_all)),
        Route("/feeds/topics/{slug}.atom", guarded(h.feed_topic)),
        Route("/feeds/publishers/{key}.atom", guarded(h.feed_publisher)),
        Route("/entries/{uid}.md", guarded(h.markdown)),
        Route("/entries/{uid}.html", guarded(h.html)),
    ]
