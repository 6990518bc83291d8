"""The publish pages: sign in with an API token, write or revise an entry, preview it.

Forms post back to the server (no JavaScript needed): "Preview" renders the
Markdown with the same sanitiser as a stored entry, "Publish"/"Save" calls the
node's `Catalogue` directly. Every POST carries the CSRF token of its session;
a missing or wrong one is refused with 403 before anything else happens. A
revision names the version it was written against, so a concurrent change is
a conflict shown on the form, never a silent overwrite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from content import render_markdown
from exchange.auth import Actor, TokenRefusedError
from exchange.catalogue import EntryInput
from exchange.errors import (
    ExchangeError,
    InvalidInputError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from exchange.models import ENTRY_KINDS, LANGUAGES, PROJECT_STATUSES, VISIBILITIES, Entry, Topic
from exchange.search import LONG_TEXTS, EntryQuery, find_entries
from exchange.sessions import end_session
from exchange.web import views
from exchange.web.forms import COOKIE, MAX_AGE, Session, sign_in, split_list
from exchange.web.render import body_html
from exchange.web.site import Web, actor_of_request

FORM_FIELDS = ("kind", "title", "summary", "body_markdown", "language", "visibility", "status",
               "contact_role", "contact_email", "keywords", "license")


def _session_cookie(web: Web, response: Response, session: Session) -> None:
    response.set_cookie(COOKIE, web.sessions.dumps(session), max_age=MAX_AGE, httponly=True,
                        samesite="lax", secure=web.secure_cookies, path="/")


async def _checked_form(web: Web, request: Request) -> tuple[FormData, Session]:
    """The posted form, after its CSRF token was checked against the session."""
    form = await request.form()
    session = web.session(request)
    if session is None or not web.sessions.csrf_ok(session, str(form.get("csrf") or "")):
        raise PermissionDeniedError("the form has expired or did not come from this site; please try again")
    return form, session


def _csrf(web: Web, request: Request) -> tuple[str, Session | None]:
    """The CSRF token for the forms of this page (a new session when there is none yet)."""
    session = web.session(request)
    fresh = None
    if session is None:
        session = fresh = Session.new()
    return web.sessions.csrf_token(session), fresh


def _page(web: Web, request: Request, template: str, values: dict[str, Any], status: int = 200) -> Response:
    token, fresh = _csrf(web, request)
    response = web.page(request, template, {"csrf": token, **values}, status=status)
    if fresh is not None:
        _session_cookie(web, response, fresh)
    return response


def _require(request: Request) -> Actor:
    actor = actor_of_request(request)
    if not actor.authenticated:
        raise UnauthenticatedError("please sign in with your API token first")
    if actor.publisher is None:
        raise PermissionDeniedError("you do not write for any publisher on this node; ask for an invitation")
    return actor


async def publish_home(web: Web, request: Request) -> Response:
    actor = actor_of_request(request)
    if actor.publisher is None and actor.person_id is not None:
        return RedirectResponse("/account", status_code=303)  # signed in, but writes for nobody yet
    if actor.publisher is None:
        return _page(web, request, "signin.html", {"failed": ""})
    p = actor.publisher
    query = EntryQuery(publisher=(p.kind, p.id), include_deleted=False)
    page = await find_entries(query, actor, first=50, leave_out=LONG_TEXTS)
    return _page(web, request, "publish.html", {"entries": await views.cards(page.entries),
                                                "saved": request.query_params.get("saved")})


async def signin(web: Web, request: Request) -> Response:
    form, old = await _checked_form(web, request)
    now = datetime.now(UTC)
    try:
        _, session = await sign_in(str(form.get("token") or ""), now=now)
    except TokenRefusedError as exc:
        return _page(web, request, "signin.html", {"failed": exc.reason}, status=401)
    await end_session(old.sid, now=now)  # signing in again replaces the session this browser had
    response = RedirectResponse("/publish", status_code=303)
    _session_cookie(web, response, session)
    return response


async def signout(web: Web, request: Request) -> Response:
    _, session = await _checked_form(web, request)
    await end_session(session.sid, now=datetime.now(UTC))
    response = RedirectResponse("/", status_code=303)
    _session_cookie(web, response, Session.new())
    return response


def _values_of(entry: Entry | None, topics: list[str]) -> dict[str, Any]:
    if entry is None:
        return {"kind": "project", "language": "de", "visibility": "public", "status": "planned",
                "topics": topics, "license": "CC-BY-4.0"}
    values: dict[str, Any] = {name: getattr(entry, name, "") or "" for name in FORM_FIELDS}
    values["keywords"] = ", ".join(entry.keywords or [])
    values["topics"] = topics
    return values


def _input_of(form: FormData, kind: str) -> EntryInput:
    def text(name: str) -> str:
        return str(form.get(name) or "").replace("\r\n", "\n")

    data = EntryInput(
        title=text("title"), summary=text("summary"), body_markdown=text("body_markdown"),
        language=text("language") or "de", visibility=text("visibility") or "public",
        topics=[str(t) for t in form.getlist("topics")], keywords=split_list(text("keywords")),
        contact_role=text("contact_role"), contact_email=text("contact_email").strip(),
        license=text("license").strip() or None,
    )
    if kind == "project":
        data.status = text("status") or "planned"
    return data


async def _form_page(
    web: Web, request: Request, entry: Entry | None, *, status: int = 200, **extra: Any
) -> Response:
    topics = list(await Topic.all().order_by("scheme", "position", "slug"))
    return _page(web, request, "edit.html", {
        "entry": entry, "all_topics": topics, "kinds": ENTRY_KINDS, "languages": LANGUAGES,
        "visibilities": VISIBILITIES, "statuses": PROJECT_STATUSES, **extra,
    }, status=status)


async def edit(web: Web, request: Request) -> Response:
    actor = _require(request)
    uid = request.path_params.get("uid")
    entry = None
    topics: list[str] = []
    if uid is not None:
        entry = await _own_entry(web, actor, uid)
        topics = [t.slug for t in await web.node.catalogue.topics_of(entry)]
    if request.method == "GET":
        return await _form_page(web, request, entry, values=_values_of(entry, topics),
                                version=entry.version if entry else None)
    form, _ = await _checked_form(web, request)
    kind = entry.kind if entry else str(form.get("kind") or "")
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    values["topics"] = [str(t) for t in form.getlist("topics")]
    values["kind"] = kind
    version_raw = str(form.get("version") or "")
    if form.get("action") == "preview":
        return await _form_page(web, request, entry, values=values, version=version_raw or None,
                                preview=body_html(render_markdown(values["body_markdown"])))
    try:
        data = _input_of(form, kind)
        if entry is None:
            if kind not in ENTRY_KINDS:
                raise InvalidInputError("please choose the kind of entry")
            data.kind = kind
            saved = await web.node.catalogue.publish(actor, data)
        else:
            if not version_raw.isdigit():
                raise InvalidInputError("the form lacks the version it was written against")
            saved = await web.node.catalogue.revise(actor, str(entry.uid), int(version_raw), data,
                                                    note=str(form.get("note") or "")[:500])
    except ExchangeError as exc:
        if isinstance(exc, (UnauthenticatedError, PermissionDeniedError)):
            raise
        return await _form_page(web, request, entry, values=values, version=version_raw or None,
                                problem=exc.message, status=409 if exc.code == "CONFLICT" else 400)
    return RedirectResponse(f"/entries/{saved.uid}?published=1", status_code=303)


async def _own_entry(web: Web, actor: Actor, uid: str) -> Entry:
    entry = await views.visible_entry(uid, actor)
    owner = _publisher_of(entry)
    assert actor.publisher is not None
    if owner != (actor.publisher.kind, actor.publisher.id) or entry.origin_node != web.node.catalogue.node_url:
        raise PermissionDeniedError("you can only revise entries of your own publisher on this node")
    if entry.deleted:
        raise InvalidInputError("this entry was unpublished; it cannot be revised")
    return entry


def _publisher_of(entry: Entry) -> tuple[str, int]:
    if entry.municipality_id is not None:
        return ("municipality", entry.municipality_id)
    return ("organisation", entry.organisation_id or 0)


def publish_routes(web: Web) -> list[BaseRoute]:
    return [
        Route("/publish", web.handle(publish_home)),
        Route("/publish/signin", web.handle(signin), methods=["POST"]),
        Route("/publish/signout", web.handle(signout), methods=["POST"]),
        Route("/publish/new", web.handle(edit), methods=["GET", "POST"]),
        Route("/publish/{uid}/edit", web.handle(edit), methods=["GET", "POST"]),
    ]
