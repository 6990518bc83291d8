"""The "my account" page: memberships, sessions, personal tokens.

A signed-in person sees the publishers they write for (and chooses which
one they act for), the browsers they are signed in with ("signed in on …
from …", sign out everywhere), their open invitations, and their personal
API tokens: create one (named, with an expiry, scopes no wider than their
role), see it once, revoke it. Every form posts back with its CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from exchange.accounts import audit
from exchange.accounts import roles as R
from exchange.accounts.models import Person
from exchange.accounts.people import memberships_of, open_invitations_for
from exchange.auth import Actor, find_publisher
from exchange.errors import InvalidInputError, UnauthenticatedError
from exchange.sessions import act_for, end_sessions_of_person, sessions_of
from exchange.settings import DEFAULT_NODE_NAME
from exchange.tokens import create_own, revoke_as, tokens_of_person
from exchange.web.forms import Session
from exchange.web.publish import _checked_form, _page, _session_cookie
from exchange.web.site import Web, actor_of_request


def signed_in_person(request: Request) -> Actor:
    actor = actor_of_request(request)
    if actor.person_id is None or actor.token_id is not None:
        raise UnauthenticatedError("please sign in first (/signin)")
    return actor


async def account_page(web: Web, request: Request, *, status: int = 200, **extra: Any) -> Response:
    actor = signed_in_person(request)
    now = datetime.now(UTC)
    person = await Person.get(id=actor.person_id)
    members = await memberships_of(person.id)
    acting = (actor.publisher.kind, actor.publisher.id) if actor.publisher else None
    current = web.session(request)
    sessions = await sessions_of(person.id, now=now)
    current_hash = None
    if current is not None:
        from exchange.sessions import hash_session_id

        current_hash = hash_session_id(current.sid)
    return _page(web, request, "account.html", {
        "me": person, "members": members, "acting": acting, "now": now,
        "sessions": sessions, "current_hash": current_hash,
        "tokens": await tokens_of_person(person.id),
        "invitations": await open_invitations_for(person.email, now=now),
        "joined": request.query_params.get("joined") == "1",
        "unnamed_node": person.operator and web.node.settings.node_name == DEFAULT_NODE_NAME,
        "grantable": {m.id: sorted(R.scopes_of_role(m.role, m.publisher.kind)) for m in members},
        **extra,
    }, status=status)


async def account(web: Web, request: Request) -> Response:
    return await account_page(web, request)


async def choose_publisher(web: Web, request: Request) -> Response:
    actor = signed_in_person(request)
    form, session = await _checked_form(web, request)
    publisher = await find_publisher(str(form.get("publisher") or ""))
    if not any(m.publisher == publisher for m in await memberships_of(actor.person_id or 0)):
        raise InvalidInputError(f"you are not a member of {publisher.name}")
    await act_for(session.sid, (publisher.kind, publisher.id))
    return RedirectResponse("/account", status_code=303)


async def signout_everywhere(web: Web, request: Request) -> Response:
    actor = signed_in_person(request)
    await _checked_form(web, request)
    now = datetime.now(UTC)
    ended = await end_sessions_of_person(actor.person_id or 0, now=now)
    await audit.record(audit.SIGNED_OUT_EVERYWHERE, now=now, actor=actor, detail=f"{ended} session(s)")
    response = RedirectResponse("/", status_code=303)
    _session_cookie(web, response, Session.new())
    return response


async def create_token(web: Web, request: Request) -> Response:
    actor = signed_in_person(request)
    form, _ = await _checked_form(web, request)
    days_raw = str(form.get("days") or "90").strip()
    try:
        if not days_raw.isdigit():
            raise InvalidInputError(f"the validity must be a number of days, not {days_raw[:20]!r}")
        token, info = await create_own(
            actor, publisher_key=str(form.get("publisher") or ""), scopes=[str(s) for s in form.getlist("scopes")]
            or ["publish"], label=str(form.get("label") or ""), valid_days=int(days_raw), now=datetime.now(UTC))
    except InvalidInputError as exc:
        return await account_page(web, request, status=400, token_problem=exc.message)
    return await account_page(web, request, new_token=token, new_token_info=info)


async def revoke_token(web: Web, request: Request) -> Response:
    actor = signed_in_person(request)
    await _checked_form(web, request)
    await revoke_as(actor, request.path_params["id"], now=datetime.now(UTC))
    return RedirectResponse("/account#tokens", status_code=303)


def account_routes(web: Web) -> list[BaseRoute]:
    return [
        Route("/account", web.handle(account)),
        Route("/account/publisher", web.handle(choose_publisher), methods=["POST"]),
        Route("/account/signout-everywhere", web.handle(signout_everywhere), methods=["POST"]),
        Route("/account/tokens", web.handle(create_token), methods=["POST"]),
        Route("/account/tokens/{id}/revoke", web.handle(revoke_token), methods=["POST"]),
    ]
