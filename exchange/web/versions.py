"""The versions of an entry and what changed between any two of them, field by field.

`/entries/{uid}/versions` lists the stored versions a reader may see (each
judged by the visibility it was stored with) and compares two of them, the
last two unless `from` and `to` choose others: per field, text line by line
(`exchange.versiondiff`). A version that does not exist, or that the reader
may not see, is named on the page (404) with the choice of versions kept.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from exchange.access import visible_revisions
from exchange.errors import N_
from exchange.models import Revision
from exchange.versiondiff import field_changes
from exchange.web import views
from exchange.web.site import Web, actor_of_request
from exchange.withdrawal import is_stub


def _wanted(raw: str | None, default: int | None) -> int | None | str:
    if raw is None or raw == "":
        return default
    return int(raw) if raw.isdigit() and len(raw) < 10 else raw


async def versions(web: Web, request: Request) -> Response:
    actor = actor_of_request(request)
    entry = await views.visible_entry(request.path_params["uid"], actor)
    stored = await Revision.filter(entry_id=entry.id).order_by("version")
    shown = [r for r in visible_revisions(entry, stored, actor) if not is_stub(r.envelope)]
    by_number = {r.version: r for r in shown}
    numbers = sorted(by_number)
    older = _wanted(request.query_params.get("from"), numbers[-2] if len(numbers) > 1 else None)
    newer = _wanted(request.query_params.get("to"), numbers[-1] if numbers else None)
    values: dict[str, Any] = {"e": entry, "revisions": list(reversed(shown)), "older": older, "newer": newer,
                              "changes": None, "problem": None}
    status = 200
    for wanted in (older, newer):
        if wanted is not None and wanted not in by_number:
            values["problem"] = (N_("Version %(v)s of this entry does not exist or is not shown to you."),
                                 {"v": str(wanted)[:12]})
            status = 404
            break
    if status == 200 and isinstance(older, int) and isinstance(newer, int):
        values["changes"] = field_changes(by_number[older].envelope, by_number[newer].envelope)
    return web.page(request, "versions.html", values, status=status)


def version_routes(web: Web) -> list[BaseRoute]:
    return [Route("/entries/{uid}/versions", web.handle(versions))]
