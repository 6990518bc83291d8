"""The reading pages: home, search, an entry, municipalities, the topic tree and a topic, matching.

Each handler reads what its page shows (through `views` and the search) and
renders one template; `page_routes` gives their routes to `routes`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from content import render_markdown
from exchange.auth import find_publisher
from exchange.curation.review import checklist_state
from exchange.errors import ExchangeError, InvalidInputError, NotFoundError
from exchange.models import Topic
from exchange.search import LAENDER, LONG_TEXTS, SIZE_CLASSES, EntryQuery, find_entries
from exchange.web import views
from exchange.web.calls import call_context
from exchange.web.charts import indicator_charts, peer_map
from exchange.web.curation import entry_endorsements
from exchange.web.params import href, parse_search, search_items, without
from exchange.web.render import body_html, safe
from exchange.web.site import Web, actor_of_request

DOCS = Path(__file__).resolve().parents[1] / "data"  # ships with the package


async def home(web: Web, request: Request) -> Response:
    page = await find_entries(EntryQuery(), actor_of_request(request), first=8, leave_out=LONG_TEXTS)
    topics = await views.topic_counts(web.topic_cache)
    return web.page(request, "index.html", {
        "newest": await views.cards(page.entries),
        "topics": [(t, n) for t, n in topics if t.scheme == "mdk"],
    })


async def search(web: Web, request: Request) -> Response:
    items = request.query_params.multi_items()
    params = parse_search(items)
    actor = actor_of_request(request)
    query = params.query
    if params.publisher:
        try:
            publisher = await find_publisher(params.publisher)
        except ExchangeError:
            raise InvalidInputError(f"unknown publisher {params.publisher!r}") from None
        query = EntryQuery(**{**query.__dict__, "publisher": (publisher.kind, publisher.id)})
    what = f"web:{query.effective_order}"
    after = web.cursors.decode(params.after, what) if params.after else None
    page = await find_entries(query, actor, first=params.first, after=after, leave_out=LONG_TEXTS)
    facets = await web.facets.facets(query, actor)
    base = search_items(params)
    next_href = None
    if page.has_next and page.keys:
        value, ident = page.keys[-1]
        next_href = href("/search", [*base, ("after", web.cursors.encode(what, value, ident))])
    topics = {t.slug: t for t in await Topic.all()}
    chosen = [(name, value, href("/search", without(base, name, value)))
              for name, value in base if name in ("kind", "topic", "land", "size", "status", "language")]
    return web.page(request, "search.html", {
        "params": params, "query": query, "results": await views.cards(page.entries),
        "facets": facets, "next_href": next_href, "first_href": href("/search", base) if params.after else None,
        "topics": topics, "laender": LAENDER, "size_classes": SIZE_CLASSES, "chosen": chosen,
    })


async def entry(web: Web, request: Request, status: int = 200) -> Response:
    """An entry's page; `status` other than 200 when it is shown again with a form's errors."""
    data = await views.entry_page(request.path_params["uid"], actor_of_request(request))
    gettext = web.renderer.gettext(request)
    e = data.entry
    extra = {name: body_html(render_markdown(getattr(e, name))) for name in
             ("what_worked", "what_did_not", "transfer_preconditions", "costs_staffing") if getattr(e, name)}
    from exchange.accounts.people import last_change_by

    actor = actor_of_request(request)
    own = actor.publisher is not None and e.origin_node == web.node.catalogue.node_url and (
        (actor.publisher.kind == "municipality" and e.municipality_id == actor.publisher.id)
        or (actor.publisher.kind == "organisation" and e.organisation_id == actor.publisher.id))
    progress, csrf = None, None
    if e.kind == "guide" and e.checklist and not e.deleted and actor.publisher is not None \
            and actor.publisher.kind == "municipality":
        progress = await checklist_state(actor.publisher.id, e)
        session = web.session(request)
        csrf = web.sessions.csrf_token(session) if session is not None else None
    return web.page(request, "entry.html", {
        "progress": progress, "csrf": csrf, "ticked": request.query_params.get("ticked") == "1",
        "changed_by": await last_change_by(e.id) if own else None,
        "page": data, "e": e, "body": body_html(e.body_html), "lesson_parts": extra,
        "endorsements": await entry_endorsements(e),
        "goals": indicator_charts(e.goals or [], gettext, web.renderer.envs[web.renderer.locale(request)]),
        "published": request.query_params.get("published") == "1",
        **await call_context(web, request, e, own),
    }, status=status)


async def municipalities(web: Web, request: Request) -> Response:
    name = (request.query_params.get("name") or "").strip()
    if len(name) > 120:
        raise InvalidInputError("the name is longer than 120 characters")
    found = await views.find_municipalities(name) if name else []
    if len(found) == 1 and request.query_params.get("go") == "1":
        return RedirectResponse(f"/municipalities/{found[0].official_key}", status_code=303)
    return web.page(request, "municipalities.html", {"name": name, "found": found})


async def municipality(web: Web, request: Request) -> Response:
    muni = await views.municipality_by_key(request.path_params["key"])
    actor = actor_of_request(request)
    page = await find_entries(EntryQuery(publisher=("municipality", muni.id)), actor, first=20, leave_out=LONG_TEXTS)
    locale = web.renderer.locale(request)
    tried, refused = _tried_weights(request)
    try:
        peers = await views.peers_of(web.node.services.matcher, muni, locale, weights=tried or None)
    except InvalidInputError:
        if not tried:
            raise
        tried, refused = {}, True  # the node's weights instead, and the page says why
        peers = await views.peers_of(web.node.services.matcher, muni, locale)
    organisations = await views.peers_of(web.node.services.matcher, muni, locale, first=ORGANISATIONS_SHOWN,
                                         weights=tried or None, publishers="organisations")
    gettext = web.renderer.gettext(request)
    return web.page(request, "municipality.html", {
        "m": muni, "entries": await views.cards(page.entries), "more_entries": page.has_next,
        "peers": peers, "organisations": organisations, "map": safe(peer_map(muni, peers or [], gettext)) if muni.latitude else None,
        "tried": tried, "weights_refused": refused,
        "weights": {k: tried.get(k, v) for k, v in _node_weights(web).items()},
    })


WEIGHT_FIELDS = ("topics", "experience", "structure")
ORGANISATIONS_SHOWN = 4  # organisations shown as peers on a municipality page, besides the municipalities


def _tried_weights(request: Request) -> tuple[dict[str, float], bool]:
    """The weights a person tries on the municipality page (empty fields keep the node's); refused: not numbers."""
    tried: dict[str, float] = {}
    for name in WEIGHT_FIELDS:
        raw = (request.query_params.get(name) or "").strip().replace(",", ".")
        if raw:
            try:
                tried[name] = float(raw)
            except ValueError:
                return {}, True
    return tried, False


def _node_weights(web: Web) -> dict[str, float]:
    matcher = web.node.services.matcher
    w = matcher.weights if matcher is not None else None
    return {name: getattr(w, name) for name in WEIGHT_FIELDS} if w is not None else {}


async def topics(web: Web, request: Request) -> Response:
    query = (request.query_params.get("q") or "").strip()
    if len(query) > 80:
        raise InvalidInputError("the filter is longer than 80 characters")
    # the counts are cached until the next change; the tree is read fresh (a topics import moves it)
    counts = {t.id: n for t, n in await views.topic_counts(web.topic_cache)}
    fresh = await Topic.filter(scheme="mdk").order_by("position", "slug")
    tree = views.topic_tree([(t, counts.get(t.id, 0)) for t in fresh], query)
    return web.page(request, "topics.html", {"tree": tree, "q": query})


async def topic(web: Web, request: Request) -> Response:
    slug = request.path_params["slug"]
    found = await Topic.get_or_none(slug=slug)
    if found is None:
        raise NotFoundError(f"no topic {slug!r}")
    after_raw = request.query_params.get("after")
    after = web.cursors.decode(after_raw, "web:topic") if after_raw else None
    page = await find_entries(EntryQuery(topics=(slug,)), actor_of_request(request), first=20, after=after, leave_out=LONG_TEXTS)
    next_href = None
    if page.has_next and page.keys:
        value, ident = page.keys[-1]
        next_href = href(f"/topics/{slug}", [("after", web.cursors.encode("web:topic", value, ident))])
    parent = await Topic.get_or_none(id=found.parent_id) if found.parent_id else None  # type: ignore[attr-defined]
    children = list(await Topic.filter(parent_id=found.id).order_by("position", "slug"))
    return web.page(request, "topic.html", {
        "topic": found, "parent": parent, "children": children, "entries": await views.cards(page.entries), "next_href": next_href,
        "feed_href": f"/feeds/topics/{slug}.atom",
    })


def matching_doc(locale: str) -> str | None:
    """The disclosure text (exchange/data/matching.de.md or .en.md, shipped with the package), rendered."""
    for name in (f"matching.{locale}.md", "matching.en.md"):
        path = DOCS / name
        if path.is_file():
            return render_markdown(path.read_text(encoding="utf-8"))
    return None


async def matching(web: Web, request: Request) -> Response:
    doc = matching_doc(web.renderer.locale(request))
    matcher = web.node.services.matcher
    method = None
    if matcher is not None:
        await matcher.ensure_loaded()
        method = matcher.method()
    weights = dict(method["signals"]) if method else dict(web.node.settings.matching_weights)
    return web.page(request, "matching.html", {
        "doc": body_html(doc) if doc else None, "weights": weights, "weight_sum": sum(weights.values()) or 1.0,
        "method": method,
    })




def page_routes(web: Web) -> list[BaseRoute]:
    """The routes of the reading pages."""
    return [
        Route("/", web.handle(home)),
        Route("/search", web.handle(search)),
        Route("/entries/{uid}", web.handle(entry)),
        Route("/municipalities", web.handle(municipalities)),
        Route("/municipalities/{key}", web.handle(municipality)),
        Route("/topics", web.handle(topics)),
        Route("/topics/{slug}", web.handle(topic)),
        Route("/matching", web.handle(matching)),
    ]
