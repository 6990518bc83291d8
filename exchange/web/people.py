"""People pages: "people of <publisher>" for its admins, and the operator's pages.

A publisher-admin (or an operator) sees who writes for the publisher and
the open invitations, invites an address with a role (the invitation goes
out by mail), changes a role and removes a member; each counts from the
person's next request. Operators also see every person, the peers of the
node (and add one), and the audit log. Who may do what is the roles table
(`exchange.accounts.roles`), the same the API consults.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q

from exchange.accounts import audit
from exchange.accounts import roles as R
from exchange.accounts.people import (
    all_people,
    change_role,
    invitations_of,
    invite,
    memberships_of,
    people_of,
    remove_membership,
    require_for,
)
from exchange.auth import find_publisher, require_action
from exchange.errors import (
    ExchangeError,
    InvalidInputError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from exchange.models import Municipality, Organisation
from exchange.web.mails import send_invitation
from exchange.web.publish import _checked_form, _page
from exchange.web.site import Web, actor_of_request
from exchange.web.views import find_municipalities

log = logging.getLogger("exchange.web")


async def people_page(web: Web, request: Request, *, status: int = 200, **extra: Any) -> Response:
    actor = actor_of_request(request)
    publisher = await find_publisher(request.path_params["key"])
    await require_for(actor, R.MANAGE_PEOPLE, publisher)
    return _page(web, request, "people.html", {
        "publisher": publisher, "members": await people_of(publisher),
        "invitations": await invitations_of(publisher, now=datetime.now(UTC)),
        "roles": [r for r in R.PUBLISHER_ROLES if not R.check_role(r, publisher.kind)],
        "invited": request.query_params.get("invited"), **extra,
    }, status=status)


async def people(web: Web, request: Request) -> Response:
    return await people_page(web, request)


async def invite_person(web: Web, request: Request) -> Response:
    actor = actor_of_request(request)
    form, _ = await _checked_form(web, request)
    key = request.path_params["key"]
    email, role = str(form.get("email") or ""), str(form.get("role") or "")
    try:
        made = await invite(actor, email, key, role, now=datetime.now(UTC))
    except ExchangeError as exc:
        if isinstance(exc, (UnauthenticatedError, PermissionDeniedError)):
            raise
        return await people_page(web, request, status=409 if exc.code == "CONFLICT" else 400,
                                 problem=exc.message, email=email[:254], role=role)
    sent = await send_invitation(web.mailer, web.node.settings, web.renderer.locale(request),
                                 made.invitation.email, made.token, made.publisher, role)
    return RedirectResponse(f"/publishers/{key}/people?invited={'sent' if sent else 'unsent'}", status_code=303)


async def set_role(web: Web, request: Request) -> Response:
    actor = actor_of_request(request)
    form, _ = await _checked_form(web, request)
    mid = request.path_params["mid"]
    await change_role(actor, int(mid), str(form.get("role") or ""), now=datetime.now(UTC))
    return RedirectResponse(f"/publishers/{request.path_params['key']}/people", status_code=303)


async def remove(web: Web, request: Request) -> Response:
    actor = actor_of_request(request)
    await _checked_form(web, request)
    await remove_membership(actor, int(request.path_params["mid"]), now=datetime.now(UTC))
    return RedirectResponse(f"/publishers/{request.path_params['key']}/people", status_code=303)


def _operator(request: Request) -> None:
    require_action(actor_of_request(request), R.OPERATE)


async def operator_people(web: Web, request: Request, *, status: int = 200, **extra: Any) -> Response:
    _operator(request)
    rows = [(p, await memberships_of(p.id)) for p in await all_people()]
    return _page(web, request, "operator_people.html", {"people": rows, **extra}, status=status)


@dataclass(frozen=True)
class Choice:
    """A publisher offered when a name matched several."""

    key: str
    name: str
    where: str  # Kreis and Land of a municipality, the slug of an organisation


async def publisher_choices(text: str, first: int = 20) -> list[Choice]:
    """Publishers whose name (or slug) matches `text`: municipalities biggest first, then organisations."""
    found = [Choice(m.official_key, m.name, _place(m)) for m in await find_municipalities(text, first)]
    orgs = await Organisation.filter(Q(name__icontains=text) | Q(slug__icontains=text)).order_by("name").limit(first)
    return found + [Choice(o.slug, o.name, o.slug) for o in orgs]


def _place(m: Municipality) -> str:
    return ", ".join(part for part in (m.kreis_name, m.land_name) if part and part != m.name)


async def operator_go(web: Web, request: Request) -> Response:
    """The people page of a publisher named by key, slug or (part of) its name."""
    _operator(request)
    text = (request.query_params.get("key") or "").strip()[:120]
    if not text:
        return await operator_people(web, request, status=400, problem="empty")
    try:
        publisher = await find_publisher(text)
    except ExchangeError:
        choices = await publisher_choices(text)
    else:
        return RedirectResponse(f"/publishers/{publisher.key}/people", status_code=303)
    if len(choices) == 1:
        return RedirectResponse(f"/publishers/{choices[0].key}/people", status_code=303)
    if not choices:
        return await operator_people(web, request, status=404, query=text, problem="unknown")
    return await operator_people(web, request, query=text, choices=choices)


async def operator_peers(web: Web, request: Request) -> Response:
    from federation import store

    _operator(request)
    problem, added = "", ""
    status = 200
    if request.method == "POST":
        form, _ = await _checked_form(web, request)
        url = str(form.get("url") or "").strip()
        federation = web.node.extra.get("federation")
        try:
            if not url.startswith(("http://", "https://")):
                raise InvalidInputError(f"{url[:100]!r} is not the http(s) address of a node")
            if federation is None:
                raise InvalidInputError("this node does not federate")
            descriptor = await federation.client().descriptor(url)
            if descriptor.id == federation.key.node_url:
                raise InvalidInputError(f"{url} is this node itself")
            peer = await store.pin_peer(descriptor, member=form.get("member") == "1", trust_relayed=False,
                                        confirm_key_change=False, now=federation.clock())
            added = peer.url
        except (ExchangeError, ValueError) as exc:
            problem = exc.message if isinstance(exc, ExchangeError) else str(exc)
            status = 400
    return _page(web, request, "operator_peers.html", {"peers": await store.list_peers(), "problem": problem,
                                                       "added": added}, status=status)


async def operator_audit(web: Web, request: Request) -> Response:
    _operator(request)
    before = request.query_params.get("before")
    events = await audit.events(first=100, before=int(before) if before and before.isdigit() else None)
    return _page(web, request, "operator_audit.html", {"events": events,
                                                       "older": events[-1].id if len(events) == 100 else None})


def people_routes(web: Web) -> list[BaseRoute]:
    return [
        Route("/publishers/{key}/people", web.handle(people)),
        Route("/publishers/{key}/people/invite", web.handle(invite_person), methods=["POST"]),
        Route("/publishers/{key}/people/{mid:int}/role", web.handle(set_role), methods=["POST"]),
        Route("/publishers/{key}/people/{mid:int}/remove", web.handle(remove), methods=["POST"]),
        Route("/operator/people", web.handle(operator_people)),
        Route("/operator/people/go", web.handle(operator_go)),
        Route("/operator/peers", web.handle(operator_peers), methods=["GET", "POST"]),
        Route("/operator/audit", web.handle(operator_audit)),
    ]
