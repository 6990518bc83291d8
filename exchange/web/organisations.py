"""The pages of organisations as publishers, like the municipality pages.

`/organisations` lists the organisations this node knows (its own and those of
received entries), by name. `/organisations/{slug}` shows one: its name, kind,
website and description, the entries it published (the first page, newest
first, with a link to all of them in the search), the public collections it
curates and the entries it endorses with its note. Entries a reader may not
see are left out (a draft never shows, not even its title). A fixed number of
queries per page; an unknown slug is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from exchange.access import may_see
from exchange.errors import InvalidInputError, NotFoundError
from exchange.models import Collection, Endorsement, Entry, Organisation
from exchange.search import LONG_TEXTS, EntryQuery, find_entries
from exchange.web import views
from exchange.web.site import Web, actor_of_request

__all__ = ["ORGANISATION_KINDS", "organisation_routes"]

ORGANISATION_KINDS = ("umbrella", "alliance", "company", "research")
PAGE_SIZE = 20
LIST_SIZE = 500


@dataclass
class Endorsed:
    """An entry the organisation endorses, as a card, with its note."""

    card: views.Card
    note: str


async def organisations(web: Web, request: Request) -> Response:
    rows = list(await Organisation.all().order_by("name", "id").limit(LIST_SIZE + 1))
    return web.page(request, "organisations.html", {"rows": rows[:LIST_SIZE], "more": len(rows) > LIST_SIZE})


async def organisation(web: Web, request: Request) -> Response:
    slug = request.path_params["slug"]
    if len(slug) > 80:
        raise InvalidInputError("an organisation's name in the address is at most 80 characters long")
    org = await Organisation.get_or_none(slug=slug)
    if org is None:
        raise NotFoundError(f"no organisation {slug!r}")
    actor = actor_of_request(request)
    page = await find_entries(EntryQuery(publisher=("organisation", org.id)), actor, first=PAGE_SIZE,
                              leave_out=LONG_TEXTS)
    curated = list(await Collection.filter(organisation_id=org.id, deleted=False, visibility="public")
                   .order_by("-updated_at", "-id").limit(LIST_SIZE))
    endorsements = list(await Endorsement.filter(organisation_id=org.id, deleted=False, visibility="public")
                        .order_by("-updated_at", "-id").limit(LIST_SIZE))
    notes = {e.entry_uid: e.note for e in endorsements}
    rows = [e for e in await Entry.filter(uid__in=list(notes), deleted=False) if may_see(e, actor)] if notes else []
    by_uid = {c.entry.uid: c for c in await views.cards(rows)}
    endorsed = [Endorsed(by_uid[e.entry_uid], e.note) for e in endorsements if e.entry_uid in by_uid]
    return web.page(request, "organisation.html", {
        "o": org, "entries": await views.cards(page.entries), "more_entries": page.has_next,
        "collections": curated, "endorsed": endorsed,
    })


def organisation_routes(web: Web) -> list[BaseRoute]:
    """The routes of the organisation pages."""
    return [Route("/organisations", web.handle(organisations)),
            Route("/organisations/{slug}", web.handle(organisation))]
