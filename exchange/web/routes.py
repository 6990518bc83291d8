"""The routes of the web pages, assembled from the parts.

`web_routes(node)` makes the `Web` its handlers share and returns the routes
of the reading pages (`pages`), the curation pages (`curation`), the publish
forms (`publish`), sign-in, account and people pages, the files of entries (`attachments`), the versions of entries (`versions`), the legal notice and privacy
statement (`legal`), the organisations (`organisations`), calls for partners (`calls`), and the static files. The parts never import this module.
`web_exception_handlers` gives the app HTML 404 and 405 pages for paths no
route knows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from exchange.errors import InvalidInputError, NotFoundError
from exchange.web.account import account_routes
from exchange.web.attachments import attachment_routes
from exchange.web.calls import call_routes
from exchange.web.curation import curation_routes
from exchange.web.legal import legal_routes
from exchange.web.organisations import organisation_routes
from exchange.web.pages import entry, page_routes
from exchange.web.people import people_routes
from exchange.web.publish import publish_routes
from exchange.web.signin import signin_routes
from exchange.web.site import Web
from exchange.web.versions import version_routes

STATIC = Path(__file__).parent / "static"


def web_routes(node: Any) -> list[BaseRoute]:
    """The routes of the web pages of `node`."""
    web = Web(node)
    node.extra["web"] = web
    return [
        *page_routes(web),
        *version_routes(web),
        *curation_routes(web),
        *publish_routes(web),
        *call_routes(web, entry),
        *signin_routes(web),
        *account_routes(web),
        *people_routes(web),
        *attachment_routes(web),
        *legal_routes(web),
        *organisation_routes(web),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]


def web_exception_handlers(node: Any) -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    """HTML 404/405 pages for unknown paths (JSON for clients that do not accept HTML)."""

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        web: Web | None = node.extra.get("web")
        if web is None or "text/html" not in request.headers.get("accept", ""):
            code = "NOT_FOUND" if status == 404 else "METHOD_NOT_ALLOWED" if status == 405 else "ERROR"
            return JSONResponse({"error": {"code": code, "status": status}}, status_code=status)
        if status == 404:
            error: Exception = NotFoundError(f"no page at {request.url.path}")
        else:
            error = InvalidInputError(f"{request.method} is not allowed at {request.url.path}")
        response = web.renderer.error(request, error)
        response.status_code = status
        return response

    return {404: http_error, 405: http_error}
