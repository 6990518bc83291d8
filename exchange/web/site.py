"""What every page handler shares: the node, the templates, caches and the session.

`Web.handle` wraps each handler: it resolves the session's actor, and turns
any error into an error page (404, 400, 403, or a logged 500 page that shows
a reference, never a traceback). The parts of the web face (`pages`,
`publish`, `curation`) take a `Web` and return their routes; `routes`
assembles them.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from exchange.accounts.mail import Mailer, mailer_for
from exchange.auth import ANONYMOUS, Actor
from exchange.sessions import resume_session
from exchange.web.facets import FacetCache
from exchange.web.forms import COOKIE as SESSION_COOKIE
from exchange.web.forms import Session, SessionCodec
from exchange.web.render import Renderer

Handler = Callable[["Web", Request], Awaitable[Response]]


class Web:
    """What the page handlers share: the node, templates, caches, the session codec."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.renderer = Renderer(node.settings.node_name)
        secret = node.settings.secret.encode() if node.settings.secret else node.key.derive_secret("web-session")
        self.sessions = SessionCodec(secret)
        self.cookie_secret = secret
        self.mailer: Mailer = node.services.extra.get("mailer") or mailer_for(node.settings)
        self.secure_cookies = node.settings.node_url.startswith("https://")
        self.facets = FacetCache(node.extra.get("facet_index"))
        self.topic_cache: dict[str, Any] = {}
        self.cursors = node.services.extra["cursors"]

    def session(self, request: Request) -> Session | None:
        return self.sessions.loads(request.cookies.get(SESSION_COOKIE))

    async def actor(self, request: Request) -> Actor:
        session = self.session(request)
        if session is None:
            return ANONYMOUS
        return await resume_session(session.sid, now=datetime.now(UTC))

    def handle(self, fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            try:
                actor = await self.actor(request)
                request.scope["exchange.actor"] = actor
                request.scope["exchange.signed_in"] = actor.publisher
                request.scope["exchange.person"] = actor.person_name if actor.person_id is not None else None
                return await fn(self, request)
            except Exception as exc:  # noqa: BLE001 - every error becomes a page (unexpected ones logged)
                return self.renderer.error(request, exc)

        return endpoint

    def page(self, request: Request, template: str, values: dict[str, Any], status: int = 200) -> Response:
        return self.renderer.page(request, template, values, status=status)


def actor_of_request(request: Request) -> Actor:
    actor = request.scope.get("exchange.actor")
    return actor if isinstance(actor, Actor) else ANONYMOUS
