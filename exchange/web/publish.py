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
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from content import render_markdown
from exchange.auth import Actor, TokenRefusedError
from exchange.budget import CURRENCIES
from exchange.calls import FORMS, unseen_answers
from exchange.catalogue import MAX_CHECKLIST
from exchange.curation.review import checklist_state, set_checklist_item
from exchange.errors import (
    ConflictError,
    ExchangeError,
    FieldError,
    InvalidInputError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from exchange.goals import DIRECTIONS, MAX_GOALS
from exchange.licences import LICENCES
from exchange.models import ENTRY_KINDS, LANGUAGES, PROJECT_STATUSES, VISIBILITIES, Entry, Topic
from exchange.registry import SIZE_CLASSES
from exchange.sessions import end_session
from exchange.web import views
from exchange.web.call_form import check_call
from exchange.web.entry_form import (
    EntryForm,
    apply_action,
    check_form,
    entry_input,
    find_partners,
    find_projects,
    pick_partner,
    pick_project,
    read_form,
    values_of_entry,
)
from exchange.web.forms import COOKIE, MAX_AGE, Session, sign_in
from exchange.web.render import body_html
from exchange.web.site import Web, actor_of_request

# Enough for a large project (goals, indicators, measurements) and a checklist well past its limit,
# so that the form can say what is too long instead of refusing to read it.
MAX_FORM_FIELDS = 5000
MAX_LISTED = 500  # entries on the publish page, newest first


def _session_cookie(web: Web, response: Response, session: Session) -> None:
    response.set_cookie(COOKIE, web.sessions.dumps(session), max_age=MAX_AGE, httponly=True,
                        samesite="lax", secure=web.secure_cookies, path="/")


async def _checked_form(web: Web, request: Request) -> tuple[FormData, Session]:
    """The posted form, after its CSRF token was checked against the session."""
    try:
        form = await request.form(max_fields=MAX_FORM_FIELDS)
    except HTTPException as exc:  # more fields than any entry has, or a body that is no form
        raise InvalidInputError(f"the form could not be read: {exc.detail}") from None
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
    mine = Entry.filter(origin_node=web.node.catalogue.node_url)
    mine = mine.filter(municipality_id=p.id) if p.kind == "municipality" else mine.filter(organisation_id=p.id)
    groups: dict[str, list[Entry]] = {"draft": [], "in_review": [], "published": [], "withdrawn": []}
    for e in await mine.order_by("-updated_at").limit(MAX_LISTED):
        groups[state_of(e)].append(e)
    calls = [e.uid for e in groups["published"] if e.kind == "call"]
    answers = await unseen_answers(calls) if calls else {}
    return _page(web, request, "publish.html", {"groups": groups, "saved": request.query_params.get("saved"),
                                                "new_answers": answers,
                                                "withdrawn": bool(request.query_params.get("withdrawn"))})


def state_of(entry: Entry) -> str:
    """Where an entry stands for its publisher: draft, in review, published or withdrawn."""
    if entry.deleted:
        return "withdrawn"
    if entry.review_state == "in_review":
        return "in_review"
    if entry.visibility == "draft":
        return "draft"
    return "published"


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


async def _form_page(
    web: Web, request: Request, entry: Entry | None, state: EntryForm, *, status: int = 200, **extra: Any
) -> Response:
    # One list to scan: the municipal topic tree. The EU data themes are derived from it for
    # DCAT-AP and offered only where an entry already carries one (so that it is kept).
    chosen = set(state.values.get("topics") or [])
    topics = [t for t in await Topic.all().order_by("scheme", "position", "slug")
              if t.scheme == "mdk" or t.slug in chosen]
    return _page(web, request, "edit.html", {
        "entry": entry, "all_topics": topics, "kinds": ENTRY_KINDS, "languages": LANGUAGES,
        "visibilities": VISIBILITIES, "statuses": PROJECT_STATUSES, "licences": LICENCES, "currencies": CURRENCIES,
        "directions": DIRECTIONS, "form": state, "values": state.values, "problems": state.problems,
        "limits": {"goals": MAX_GOALS, "checklist": MAX_CHECKLIST}, "call_forms": FORMS, "size_classes": SIZE_CLASSES,
        **extra,
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
        kind = entry.kind if entry else request.query_params.get("kind", "project")
        if kind not in ENTRY_KINDS:
            kind = "project"
        project_title = ""
        if entry is not None and entry.project_uid:
            source = await Entry.get_or_none(uid=entry.project_uid)
            project_title = source.title if source else ""
        state = EntryForm(kind=kind, values=values_of_entry(entry, topics, kind=kind, project_title=project_title))
        return await _form_page(web, request, entry, state, version=entry.version if entry else None)
    form, _ = await _checked_form(web, request)
    kind = entry.kind if entry else str(form.get("kind") or "")
    state = read_form(form, kind)
    version_raw = str(form.get("version") or "")
    action = str(form.get("action") or "save")
    version = version_raw or None
    if action == "preview":
        return await _form_page(web, request, entry, state, preview=body_html(
            render_markdown(state.values["body_markdown"])), version=version)
    if action == "find-partners":
        await find_partners(state)
    elif action.startswith("pick-partner."):
        await pick_partner(state, action.removeprefix("pick-partner."))
    elif action == "find-project":
        await find_projects(state, actor)
    elif action.startswith("pick-project."):
        await pick_project(state, actor, action.removeprefix("pick-project."))
    if action != "save":
        apply_action(state, action)
        return await _form_page(web, request, entry, state, version=version)
    await check_form(state, today=web.node.catalogue.clock().date())
    if kind == "call":
        for problem in check_call(state.values["call"], web.node.catalogue.clock().date(), creating=entry is None,
                                  previous=entry.call if entry is not None else None):
            state.add_error(problem)
    if state.problems:
        return await _form_page(web, request, entry, state, status=400, version=version)
    try:
        data = entry_input(state)
        if entry is None:
            data.kind = kind
            saved = await web.node.catalogue.publish(actor, data)
        else:
            if not version_raw.isdigit():
                raise InvalidInputError("the form lacks the version it was written against")
            saved = await web.node.catalogue.revise(actor, str(entry.uid), int(version_raw), data,
                                                    note=state.values["note"][:500])
    except FieldError as exc:
        state.add_error(exc)
        return await _form_page(web, request, entry, state, status=400, version=version)
    except ExchangeError as exc:
        if isinstance(exc, (UnauthenticatedError, PermissionDeniedError)):
            raise
        conflict = exc.code == "CONFLICT"
        return await _form_page(web, request, entry, state, problem=exc.message, conflict=conflict,
                                status=409 if conflict else 400, version=version)
    return RedirectResponse(f"/entries/{saved.uid}?published=1", status_code=303)


async def withdraw(web: Web, request: Request) -> Response:
    """Withdraw an entry, after a confirmation step: its content is removed here and a
    signed tombstone without content replaces it on every peer."""
    actor = _require(request)
    entry = await _own_entry(web, actor, request.path_params["uid"])
    if request.method == "GET":
        return _page(web, request, "withdraw.html", {"entry": entry, "version": entry.version})
    form, _ = await _checked_form(web, request)
    version_raw = str(form.get("version") or "")
    if form.get("confirm") != "yes":
        return _page(web, request, "withdraw.html", {"entry": entry, "version": entry.version,
                                                     "unconfirmed": True}, status=400)
    if not version_raw.isdigit():
        raise InvalidInputError("the form lacks the version it was written against")
    try:
        await web.node.catalogue.unpublish(actor, str(entry.uid), int(version_raw))
    except ConflictError:
        fresh = await _own_entry(web, actor, str(entry.uid))
        return _page(web, request, "withdraw.html", {"entry": fresh, "version": fresh.version,
                                                     "conflict": True}, status=409)
    return RedirectResponse(f"/publish?withdrawn={entry.uid}", status_code=303)


async def tick_checklist(web: Web, request: Request) -> Response:
    """Store which items of a guide's checklist the signed-in municipality has done (kept on
    this node, never federated)."""
    actor = _require(request)
    form, _ = await _checked_form(web, request)
    entry = await views.visible_entry(request.path_params["uid"], actor)
    assert actor.publisher is not None
    if actor.publisher.kind != "municipality":
        raise PermissionDeniedError("checklist progress belongs to a municipality")
    done = {str(v) for v in form.getlist("done")}
    now = datetime.now(UTC)
    for item in await checklist_state(actor.publisher.id, entry):
        wanted = str(item.index) in done
        if wanted != item.done:
            await set_checklist_item(actor, entry, item.index, wanted, now)
    return RedirectResponse(f"/entries/{entry.uid}?ticked=1#checklist-heading", status_code=303)


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
        Route("/publish/{uid}/withdraw", web.handle(withdraw), methods=["GET", "POST"]),
        Route("/entries/{uid}/checklist", web.handle(tick_checklist), methods=["POST"]),
    ]
