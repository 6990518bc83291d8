"""The pages of calls for partners: a call's terms and state on its page, closing it.

A call is shown by the entry page (`pages.entry`), which adds `call_context`:
its terms, whether it takes answers, the partners the peer matcher suggests
(with their reasons), for its owner the answers it received and the form that
closes it, for another publisher the form that answers it (or withdraws its
answer) (`/entries/{uid}/close`: filled or withdrawn, with a reason).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

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
    suggested_partners,
)
from exchange.catalogue import EntryInput
from exchange.errors import N_, FieldError
from exchange.models import Entry
from exchange.web import views
from exchange.web.publish import _checked_form, _own_entry, _require
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
        results = await suggested_partners(matcher, e, first=SUGGESTED, language=web.renderer.locale(request))
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


async def answer(web: Web, request: Request) -> Response:
    """Answer a call for the signed-in publisher: it goes to the call's node only."""
    actor = _require(request)
    form, _ = await _checked_form(web, request)
    answers: Answers = web.node.extra["answers"]
    uid = request.path_params["uid"]
    await answers.answer(actor, uid, str(form.get("message") or ""), str(form.get("contact_role") or ""))
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


def call_routes(web: Web) -> list[BaseRoute]:
    return [Route("/entries/{uid}/close", web.handle(close), methods=["POST"]),
            Route("/entries/{uid}/answer", web.handle(answer), methods=["POST"]),
            Route("/answers/{uid}/withdraw", web.handle(withdraw_answer), methods=["POST"]),
            Route("/calls/feed/{token}", web.handle(feed))]
