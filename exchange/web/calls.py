"""The pages of calls for partners: a call's terms and state on its page, closing it.

A call is shown by the entry page (`pages.entry`), which adds `call_context`:
its terms, whether it takes answers, the partners the peer matcher suggests
(with their reasons), and for its owner the form that closes
it (`/entries/{uid}/close`: filled or withdrawn, with a reason).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from exchange.calls import BLANK, CLOSED, closing, is_open, suggested_partners
from exchange.catalogue import EntryInput
from exchange.errors import N_, FieldError
from exchange.models import Entry
from exchange.web import views
from exchange.web.publish import _checked_form, _own_entry, _require
from exchange.web.site import Web

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
    return {"call": {**BLANK, **e.call}, "call_open": is_open(e.call, web.node.catalogue.clock().date()),
            "call_partners": partners,
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


def call_routes(web: Web) -> list[BaseRoute]:
    return [Route("/entries/{uid}/close", web.handle(close), methods=["POST"])]
