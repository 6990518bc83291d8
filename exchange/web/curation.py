"""The collection pages and the endorsements on entry pages: what organisations recommend.

`/collections` lists the public collections this node knows (its own and
received ones), newest first, each with its curating organisation, summary and
number of items; `/collections/{id}` shows one collection's items in order with
the curators' notes. An item links to its entry page when this node holds the
entry and the reader may see it; otherwise only what the collection itself
stores is shown (the entry id and the node the collection comes from), so a
draft never leaks its title. `entry_endorsements` gives the entry page the
organisations that vouch for an entry. Data is gathered in a fixed number of
queries per page; malformed ids are a 400, unknown ones a 404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.functions import Count

from exchange.auth import Actor
from exchange.catalogue import parse_uid
from exchange.curation import collection_entries, endorsements_of
from exchange.errors import InvalidInputError, NotFoundError
from exchange.models import Collection, CollectionItem, Endorsement, Entry, Organisation
from exchange.web import views
from exchange.web.site import Web, actor_of_request

LIST_SIZE = 100


@dataclass
class CollectionRow:
    """A collection as the list shows it: the row, its curator's name, its number of items."""

    collection: Collection
    curator: str
    item_count: int


@dataclass
class Item:
    """One position of a collection: the note, and the entry's card when the reader may open it."""

    position: int
    entry_uid: uuid.UUID
    note: str
    card: views.Card | None


@dataclass
class CollectionPage:
    collection: Collection
    curator: str
    items: list[Item]


def collection_id(raw: str) -> uuid.UUID:
    """The UUID of a collection path parameter; anything else is a 400 that names it."""
    try:
        return parse_uid(raw)
    except InvalidInputError:
        raise InvalidInputError(f"{raw[:80]!r} is not a collection id (a UUID)") from None


async def _curators(org_ids: set[int]) -> dict[int, str]:
    if not org_ids:
        return {}
    return {o.id: o.name for o in await Organisation.filter(id__in=list(org_ids))}


async def collection_rows(first: int = LIST_SIZE) -> tuple[list[CollectionRow], bool]:
    """Public collections, newest first, with curators and item counts (three queries);
    and whether there are more than `first`."""
    found = list(await Collection.filter(deleted=False, visibility="public")
                 .order_by("-updated_at", "-id").limit(first + 1))
    more = len(found) > first
    found = found[:first]
    ids = [c.id for c in found]
    counts: dict[int, int] = {}
    if ids:
        rows = await CollectionItem.filter(collection_id__in=ids).group_by("collection_id") \
            .annotate(n=Count("id")).values_list("collection_id", "n")
        counts = {int(cid): int(n) for cid, n in rows}
    names = await _curators({c.organisation_id for c in found})  # type: ignore[attr-defined]
    return [CollectionRow(c, names.get(c.organisation_id, ""), counts.get(c.id, 0))  # type: ignore[attr-defined]
            for c in found], more


async def collection_page(raw_id: str, actor: Actor | None) -> CollectionPage:
    """One public collection with its items in order; entries the reader may not see stay ids."""
    uid = collection_id(raw_id)
    found = await Collection.get_or_none(uid=uid, deleted=False, visibility="public")
    if found is None:
        raise NotFoundError(f"no collection with id {uid}")
    pairs = await collection_entries(found, actor)
    cards = {c.entry.uid: c for c in await views.cards([e for _, e in pairs if e is not None])}
    items = [Item(i.position, i.entry_uid, i.note, cards.get(e.uid) if e is not None else None)
             for i, e in pairs]
    names = await _curators({found.organisation_id})  # type: ignore[attr-defined]
    return CollectionPage(found, names.get(found.organisation_id, ""), items)  # type: ignore[attr-defined]


async def entry_endorsements(entry: Entry) -> list[Endorsement]:
    """The public endorsements of `entry`, oldest first (organisation prefetched)."""
    found = await endorsements_of([entry.uid])
    return [e for e in found.get(entry.uid, []) if e.visibility == "public"]


async def collections(web: Web, request: Request) -> Response:
    rows, more = await collection_rows()
    return web.page(request, "collections.html", {"rows": rows, "more": more, "limit": LIST_SIZE})


async def collection(web: Web, request: Request) -> Response:
    page = await collection_page(request.path_params["id"], actor_of_request(request))
    return web.page(request, "collection.html", {"page": page, "c": page.collection})


def curation_routes(web: Web) -> list[BaseRoute]:
    """The collection pages, wrapped like every other page (session, error pages)."""
    return [
        Route("/collections", web.handle(collections)),
        Route("/collections/{id}", web.handle(collection)),
    ]
