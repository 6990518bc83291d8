"""The pages of calls for partners: a call's terms and state on its page, closing it.

A call is shown by the entry page (`pages.entry`), which adds `call_context`:
its terms, whether it takes answers, the partners the peer matcher suggests
(with their reasons), for its owner the answers it received and the form that
closes it, for another publisher the form that answers it (or withdraws its
answer) (`/entries/{uid}/close`: filled or withdrawn, with a reason).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from exchange.accounts.models import Person
from exchange.calls import (
    BLANK,
    CLOSED,
    Answer,
    Answers,
    answers_to,
    atom,
    by_token,
    calls_for,
    closing,
    is_open,
    own_subscription,
    subscribe,
    suggested_partners,
    unsubscribe,
)
from exchange.calls.models import Subscription
from exchange.catalogue import EntryInput
from exchange.errors import N_, ExchangeError, FieldError, UnauthenticatedError
from exchange.models import Entry, Topic
from exchange.web import views
from exchange.web.publish import _checked_form, _own_entry, _page, _require
from exchange.web.site import Web, actor_of_request

__all__ = ["call_context", "call_routes"]

SUGGESTED = 5  # partners suggested on a call's page


async def call_context(web: Web, request: Request, e: Entry, own: bool) -> dict[str, Any]:
    """What the entry page shows of a call (nothing for other kinds)."""
    if e.kind != "call" or e.deleted or e.call is None:
        return {}
    session = web.session(request)
    csrf = web.sessions.csrf_token(session) if session is not None else None
    matcher = web.node.services.matcher
    partners = None
    if matcher is not None:
        results = await suggested_partners(matcher, e, first=SUGGESTED, language=web.renderer.locale(request),
                                           cache=web.node.extra.get("call_partners"))
        partners = [views.Peer(r.publisher, r.match.score, [x.explanation for x in r.reasons], r.relevant,
                               r.match.distance_km) for r in results]
    actor = actor_of_request(request)
    mine: list[Answer] = []
    received: list[Answer] | None = None
    if own:
        received = await answers_to(e)
        await Answer.filter(call_uid=e.uid, seen=False).update(seen=True)
    elif actor.publisher is not None:
        mine = list(await Answer.filter(call_uid=e.uid, publisher_kind=actor.publisher.kind,
                                        publisher_key=actor.publisher.key).order_by("-created_at"))
    return {"call": {**BLANK, **e.call}, "call_open": is_open(e.call, web.node.catalogue.clock().date()),
            "call_partners": partners, "call_answers": received, "my_answers": mine,
            "may_answer": actor.publisher is not None and not own and csrf is not None
            and not any(a.state == "active" for a in mine),
            "answered_now": request.query_params.get("answered") == "1",
            "answer_problem": request.scope.get("exchange.answer_problem"),
            "call_own": own and csrf is not None, "call_csrf": csrf,
            "closed_now": request.query_params.get("closed") == "1"}


async def close(web: Web, request: Request) -> Response:
    """Close one's own call as filled or withdrawn, with a reason (a new version, federated)."""
    actor = _require(request)
    entry = await _own_entry(web, actor, request.path_params["uid"])
    form, _ = await _checked_form(web, request)
    state = str(form.get("state") or "")
    reason = str(form.get("reason") or "").strip()
    if state not in CLOSED:
        raise FieldError("state", N_("Please choose how the call ends."))
    version = str(form.get("version") or "")
    change = closing(entry.kind, entry.call, state, reason)
    await web.node.catalogue.revise(actor, str(entry.uid), int(version) if version.isdigit() else entry.version,
                                    EntryInput(call=change), note="closed")
    return RedirectResponse(f"/entries/{entry.uid}?closed=1", status_code=303)


async def answer(web: Web, request: Request, entry_page: Callable[..., Awaitable[Response]]) -> Response:
    """Answer a call for the signed-in publisher: it goes to the call's node only. Bad input shows
    the call's page again (400) with the message next to its field and the typed text kept."""
    actor = _require(request)
    form, _ = await _checked_form(web, request)
    answers: Answers = web.node.extra["answers"]
    uid = request.path_params["uid"]
    message, role = str(form.get("message") or ""), str(form.get("contact_role") or "")
    try:
        await answers.answer(actor, uid, message, role)
    except FieldError as exc:
        request.scope["exchange.answer_problem"] = {"problem": exc, "message": message, "contact_role": role}
        return await entry_page(web, request, 400)
    return RedirectResponse(f"/entries/{uid}?answered=1#call-heading", status_code=303)


async def withdraw_answer(web: Web, request: Request) -> Response:
    """Withdraw an answer of the signed-in publisher; the withdrawal travels like the answer."""
    actor = _require(request)
    await _checked_form(web, request)
    answers: Answers = web.node.extra["answers"]
    done = await answers.withdraw(actor, request.path_params["uid"])
    return RedirectResponse(f"/entries/{done.call_uid}#call-heading", status_code=303)


async def feed(web: Web, request: Request) -> Response:
    """The Atom feed of a subscription to calls (its secret address)."""
    sub = await by_token(request.path_params["token"])
    now = web.node.catalogue.clock()
    title = "Partnersuchen" if sub.language == "de" else "Calls for partners"
    body = atom(await calls_for(sub, now), web.node.catalogue.node_url, title, now)
    return Response(body, media_type="application/atom+xml", headers={"Cache-Control": "private, max-age=300"})


async def subscriptions(web: Web, request: Request) -> Response:
    """A signed-in person's subscriptions to new calls, and the form that adds one."""
    actor = actor_of_request(request)
    if actor.person_id is None:
        raise UnauthenticatedError("please sign in as a person to subscribe to calls")
    person = await Person.get(id=actor.person_id)
    topics = [t for t in await Topic.all().order_by("scheme", "position", "slug") if t.scheme == "mdk"]
    values: dict[str, Any] = {"email": person.email, "centre_key": "", "radius_km": "", "frequency": "weekly",
                              "topics": []}
    if actor.publisher is not None and actor.publisher.kind == "municipality":
        values["centre_key"] = actor.publisher.key
    problem, feed_url = None, None
    if request.method == "POST":
        form, _ = await _checked_form(web, request)
        values = {name: str(form.get(name) or "").strip() for name in ("email", "centre_key", "radius_km", "frequency")}
        values["topics"] = [str(t) for t in form.getlist("topics")]
        try:
            radius = values["radius_km"]
            if radius and not radius.isdigit():
                raise FieldError("radius_km", N_("Please give a whole number, not %(value)s."), value=radius[:40])
            _, token = await subscribe(person.id, values["email"], topics=values["topics"],
                                       centre_key=values["centre_key"], radius_km=int(radius) if radius else None,
                                       frequency=values["frequency"], language=web.renderer.locale(request),
                                       now=web.node.catalogue.clock())
            feed_url = f"{web.node.catalogue.node_url}/calls/feed/{token}"
        except FieldError as exc:
            problem = exc
        except ExchangeError as exc:
            problem = FieldError("topics", exc.message)
    mine = list(await Subscription.filter(person_id=person.id).order_by("-created_at"))
    return _page(web, request, "call_subscriptions.html", {
        "values": values, "all_topics": topics, "problem": problem, "feed_url": feed_url, "mine": mine,
        "labels": {t.slug: t for t in topics}, "deleted": request.query_params.get("deleted") == "1"},
        status=400 if problem else 200)


async def delete_subscription(web: Web, request: Request) -> Response:
    """Delete one of the signed-in person's subscriptions, after a confirmation step."""
    actor = actor_of_request(request)
    if actor.person_id is None:
        raise UnauthenticatedError("please sign in as a person to change your subscriptions")
    sub = await own_subscription(actor.person_id, request.path_params["id"])
    if request.method == "POST":
        await _checked_form(web, request)
        await unsubscribe(actor.person_id, str(sub.id))
        return RedirectResponse("/calls/subscriptions?deleted=1", status_code=303)
    labels = {t.slug: t for t in await Topic.filter(slug__in=list(sub.topics))}
    return _page(web, request, "call_subscription_delete.html", {"sub": sub, "labels": labels})


def call_routes(web: Web, entry_page: Callable[..., Awaitable[Response]]) -> list[BaseRoute]:
    """The routes of calls; `entry_page` shows a call again with the errors of its answer form."""

    async def answer_with_page(web: Web, request: Request) -> Response:
        return await answer(web, request, entry_page)

    return [Route("/entries/{uid}/close", web.handle(close), methods=["POST"]),
            Route("/entries/{uid}/answer", web.handle(answer_with_page), methods=["POST"]),
            Route("/answers/{uid}/withdraw", web.handle(withdraw_answer), methods=["POST"]),
            Route("/calls/feed/{token}", web.handle(feed)),
            Route("/calls/subscriptions", web.handle(subscriptions), methods=["GET", "POST"]),
            Route("/calls/subscriptions/{id}/delete", web.handle(delete_subscription), methods=["GET", "POST"])]
