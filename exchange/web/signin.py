"""Signing in and out as a person: a link by e-mail, or the alliance's OpenID provider.

`/signin` offers both (the OpenID button only when `EXCHANGE_OIDC_ISSUER` is
set) and the API-token form of `/publish` beside them. Asking for a link
answers the same whether or not the address is known; the link's page asks
for one click (a POST) before it signs in, so that a mail scanner that
follows links does not use it up. The OpenID flow keeps its state, nonce and
PKCE verifier in a signed cookie that lives 10 minutes; any failure ends on
an error page and creates no session. Every sign-in opens a new session id
(no fixation) and is written to the audit log.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from exchange.accounts import audit
from exchange.accounts.links import LinkRefusedError, check_link, redeem_link, request_link
from exchange.accounts.models import Person
from exchange.accounts.people import (
    accept,
    accept_open_invitations,
    normalise_email,
    open_invitations_for,
)
from exchange.errors import ExchangeError, InvalidInputError, RateLimitedError
from exchange.sessions import end_session, open_person_session
from exchange.web.forms import Session
from exchange.web.mails import send_signin_link
from exchange.web.oidc import Identity, OidcClient, OidcError, Pending
from exchange.web.publish import _checked_form, _page, _session_cookie
from exchange.web.site import Web, actor_of_request

log = logging.getLogger("exchange.web")
OIDC_COOKIE = "exchange_oidc"
OIDC_MAX_AGE = 600


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def describe_client(request: Request) -> str:
    agent = " ".join(request.headers.get("user-agent", "").split())[:120]
    return f"{client_of(request)} · {agent}" if agent else client_of(request)


async def start_session(web: Web, request: Request, person: Person, how: str, *, to: str = "/account") -> Response:
    """Sign `person` in under a fresh session id, replacing whatever session this browser had."""
    now = datetime.now(UTC)
    old = web.session(request)
    if old is not None:
        await end_session(old.sid, now=now)
    session = Session.new()
    await open_person_session(person, sid=session.sid, now=now, client=describe_client(request))
    await audit.record(audit.SIGNED_IN, now=now, who_=f"{person.display_name} [person {person.id}]",
                       person_id=person.id, target=person.email, detail=f"{how} from {client_of(request)}")
    response = RedirectResponse(to, status_code=303)
    _session_cookie(web, response, session)
    response.delete_cookie(OIDC_COOKIE, path="/signin/oidc")
    return response


async def signin_page(web: Web, request: Request) -> Response:
    return _page(web, request, "signin_person.html", {"oidc": bool(web.node.settings.oidc_issuer),
                                                      "email": "", "problem": ""})


async def ask_link(web: Web, request: Request) -> Response:
    form, _ = await _checked_form(web, request)
    raw = str(form.get("email") or "")
    now = datetime.now(UTC)
    values: dict[str, Any] = {"oidc": bool(web.node.settings.oidc_issuer), "email": raw[:254]}
    try:
        link = await request_link(raw, client=client_of(request), now=now)
    except InvalidInputError as exc:
        return _page(web, request, "signin_person.html", {**values, "problem": exc.message}, status=400)
    except RateLimitedError as exc:
        return _page(web, request, "signin_person.html", {**values, "problem": exc.message}, status=429)
    if link.person is not None:
        await send_signin_link(web.mailer, web.node.settings, web.renderer.locale(request), link.email, link.token)
    return _page(web, request, "link_sent.html", {"email": link.email})


async def link_page(web: Web, request: Request) -> Response:
    token = request.path_params["token"]
    try:
        await check_link(token, now=datetime.now(UTC))
    except LinkRefusedError as exc:
        return _page(web, request, "link_refused.html", {"reason": exc.reason}, status=401)
    return _page(web, request, "link_confirm.html", {"token": token})


async def use_link(web: Web, request: Request) -> Response:
    await _checked_form(web, request)
    now = datetime.now(UTC)
    try:
        person = await redeem_link(request.path_params["token"], now=now)
    except LinkRefusedError as exc:
        await audit.record(audit.SIGN_IN_REFUSED, now=now, who_=client_of(request), detail=f"e-mail link: {exc.reason}")
        return _page(web, request, "link_refused.html", {"reason": exc.reason}, status=401)
    return await start_session(web, request, person, "e-mail link")


async def link(web: Web, request: Request) -> Response:
    return await (link_page if request.method == "GET" else use_link)(web, request)


def _oidc(web: Web) -> OidcClient:
    client = web.node.extra.get("oidc_client")
    if client is None:
        s = web.node.settings
        if not s.oidc_issuer:
            raise InvalidInputError("this node has no OpenID provider configured; sign in with an e-mail link")
        http = web.node.extra.get("oidc_http")
        if http is None:
            http = web.node.extra["oidc_http"] = httpx.AsyncClient(follow_redirects=False)
            web.node.extra.setdefault("shutdown", []).append(http.aclose)
        client = OidcClient(s.oidc_issuer, s.oidc_client_id, s.oidc_client_secret,
                            f"{s.node_url}/signin/oidc/callback", http)
        web.node.extra["oidc_client"] = client
    assert isinstance(client, OidcClient)
    return client


def _pending_codec(web: Web) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(web.cookie_secret, salt="exchange-oidc")


async def oidc_begin(web: Web, request: Request) -> Response:
    try:
        url, pending = await _oidc(web).begin()
    except OidcError as exc:
        return _page(web, request, "signin_failed.html", {"message": exc.message}, status=502)
    response = RedirectResponse(url, status_code=303)
    value = _pending_codec(web).dumps([pending.state, pending.nonce, pending.verifier])
    response.set_cookie(OIDC_COOKIE, value, max_age=OIDC_MAX_AGE, httponly=True, samesite="lax",
                        secure=web.secure_cookies, path="/signin/oidc")
    return response


async def oidc_callback(web: Web, request: Request) -> Response:
    now = datetime.now(UTC)
    try:
        try:
            state, nonce, verifier = _pending_codec(web).loads(request.cookies.get(OIDC_COOKIE, ""),
                                                               max_age=OIDC_MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            raise OidcError("this sign-in was not started in this browser, or took longer than 10 minutes; "
                            "please start again") from None
        identity = await _oidc(web).finish(dict(request.query_params), Pending(str(state), str(nonce), str(verifier)))
        person = await person_of_identity(identity, now=now)
    except ExchangeError as exc:
        await audit.record(audit.SIGN_IN_REFUSED, now=now, who_=client_of(request), detail=f"OpenID: {exc.message}")
        response = _page(web, request, "signin_failed.html", {"message": exc.message},
                         status=502 if "reached" in exc.message or "answered" in exc.message else 401)
        response.delete_cookie(OIDC_COOKIE, path="/signin/oidc")
        return response
    return await start_session(web, request, person, f"OpenID ({identity.issuer})")


async def person_of_identity(identity: Identity, *, now: datetime) -> Person:
    """The person an OpenID identity is: linked by (issuer, subject); on first sign-in matched by
    verified e-mail to a person or an invitation; else refused."""
    person = await Person.get_or_none(oidc_issuer=identity.issuer, oidc_subject=identity.subject)
    if person is not None:
        return person
    if not identity.email or not identity.email_verified:
        raise OidcError("the identity provider did not confirm your e-mail address, so this node cannot "
                        "tell who you are here; ask its operator")
    email = normalise_email(identity.email)
    person = await Person.get_or_none(email=email)
    if person is None:
        invitations = await open_invitations_for(email, now=now)
        if not invitations:
            raise OidcError(f"{email} has no account on this node; ask its operator or a colleague for an invitation")
        person = await Person.create(email=email, display_name=(identity.name or email.split("@")[0])[:120],
                                     created_at=now)
    if person.oidc_subject and person.oidc_issuer == identity.issuer and person.oidc_subject != identity.subject:
        raise OidcError(f"{email} is linked to another account at the identity provider")
    await Person.filter(id=person.id).update(oidc_issuer=identity.issuer, oidc_subject=identity.subject)
    await accept_open_invitations(person, now=now)  # matched by the verified address
    return person


async def signout(web: Web, request: Request) -> Response:
    _, session = await _checked_form(web, request)
    await end_session(session.sid, now=datetime.now(UTC))
    response = RedirectResponse("/", status_code=303)
    _session_cookie(web, response, Session.new())
    return response


async def accept_invitation_page(web: Web, request: Request) -> Response:
    from exchange.accounts.people import open_invitation

    token = request.path_params["token"]
    now = datetime.now(UTC)
    found = await open_invitation(token, now=now)
    actor = actor_of_request(request)
    me = await Person.get_or_none(id=actor.person_id) if actor.person_id else None
    if request.method == "GET":
        return _page(web, request, "invitation.html", {"inv": found.invitation, "publisher": found.publisher,
                                                       "me": me, "token": token})
    form, _ = await _checked_form(web, request)
    # The link reached the invited address, which proves it, unless someone else is signed in.
    email = me.email if me is not None else found.invitation.email
    person, _m = await accept(token, email=email, name=str(form.get("name") or ""), now=now)
    if me is not None:
        return RedirectResponse("/account?joined=1", status_code=303)
    return await start_session(web, request, person, "invitation link", to="/account?joined=1")


def signin_routes(web: Web) -> list[BaseRoute]:
    return [
        Route("/signin", web.handle(signin_page)),
        Route("/signin/link", web.handle(ask_link), methods=["POST"]),
        Route("/signin/link/{token}", web.handle(link), methods=["GET", "POST"]),
        Route("/signin/oidc", web.handle(oidc_begin)),
        Route("/signin/oidc/callback", web.handle(oidc_callback)),
        Route("/signout", web.handle(signout), methods=["POST"]),
        Route("/invitations/{token}", web.handle(accept_invitation_page), methods=["GET", "POST"]),
    ]
