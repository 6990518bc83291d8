"""`create_app(settings)`: one node as a Starlette application.

The app owns its database (a `Database` with its own tortoise context, bound
per request by a small middleware, so several nodes can share a process), its
key, its catalogue service and its GraphQL endpoint. Startup migrates the
database and creates the key when missing; `--demo` content is loaded by the
CLI before serving.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from exchange import __version__
from exchange.accounts.mail import mailer_for
from exchange.api.assets import asset_routes
from exchange.api.context import Services
from exchange.api.cursors import CursorCodec
from exchange.api.graphiql import graphiql_page, graphiql_routes
from exchange.api.http import GraphQLEndpoint
from exchange.api.schema import schema as strawberry_schema
from exchange.attachments import Attachments, Limits, S3Store, store_for
from exchange.auth import authenticate
from exchange.calls import Answers, DigestTimer, PartnerCache, owner_notifier
from exchange.catalogue import Catalogue
from exchange.conditional import ConditionalGet, build_tag
from exchange.db import Database
from exchange.errors import ExchangeError
from exchange.follow import ChangeFollower
from exchange.logs import RequestIds
from exchange.matching import Matcher
from exchange.metrics import RequestMetrics, metrics_routes, route_labels
from exchange.search import CountCache, FacetIndex, latest_seq
from exchange.settings import Settings
from exchange.web.opendata import opendata_routes
from exchange.web.routes import web_exception_handlers, web_routes
from federation.identity import NodeKey
from federation.routes import federation_routes

log = logging.getLogger("exchange")

SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits for it
PLAN_KEPT = 60.0  # seconds /healthz trusts an empty migration plan before reading it again


@dataclass
class Node:
    """Everything one running node holds, reachable from `app.state.node`."""

    settings: Settings
    database: Database
    key: NodeKey
    catalogue: Catalogue
    services: Services
    started: float = field(default_factory=time.monotonic)
    extra: dict[str, Any] = field(default_factory=dict)


class BindDatabase:
    """ASGI middleware: the node's database is the current one inside a request."""

    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.database.bound():
            await self.app(scope, receive, send)


def build_node(settings: Settings, database: Database | None = None, key: NodeKey | None = None) -> Node:
    database = database or Database(settings.database_url)
    key = key or NodeKey.load_or_create(settings.resolved_key_file, settings.node_url)
    catalogue = Catalogue(
        signer=key, max_body_bytes=settings.max_body_bytes, default_license=settings.default_license
    )
    secret = settings.secret.encode() if settings.secret else key.derive_secret("cursors")
    matcher = Matcher.from_settings(settings.matching_weights, own_origin=key.node_url)
    follower = ChangeFollower(database, [matcher.on_entry], reload=matcher.reload, settle=matcher.settle)
    catalogue.listeners.append(follower.seen)  # first: what this process handled itself
    catalogue.listeners.append(matcher.on_entry)  # profiles follow every write
    services = Services(
        catalogue=catalogue, counts=CountCache(), node_name=settings.node_name,
        matcher=matcher, extra={"cursors": CursorCodec(secret), "mailer": mailer_for(settings),
                                         "settings": settings},
    )
    node = Node(settings=settings, database=database, key=key, catalogue=catalogue, services=services)
    blob_store = store_for(settings)
    if isinstance(blob_store, S3Store):
        node.extra.setdefault("startup", []).append(blob_store.check)  # a missing bucket stops the start
    attachments = Attachments(
        blob_store,
        Limits(file_bytes=settings.attachment_max_bytes, entry_bytes=settings.entry_attachments_max_bytes),
        key.node_url,
        catalogue,
    )
    catalogue.envelope_parts.append(attachments.envelope_part)  # envelopes list files by digest
    node.extra["attachments"] = services.extra["attachments"] = attachments
    catalogue.batch_listeners.append(attachments.on_entries)  # a withdrawn entry's files go with it
    answers = node.extra["answers"] = services.extra["answers"] = Answers(key)  # answers to calls (exchange.calls)
    node.extra["call_partners"] = services.extra["call_partners"] = PartnerCache()  # (exchange.calls.partners)
    if settings.smtp_host:  # the call's contact address hears of answers; else they wait on "my entries"
        answers.listeners.append(owner_notifier(services.extra["mailer"].send, key.node_url))
    digests = DigestTimer(database, services.extra["mailer"].send, key.node_url, catalogue.clock)
    node.extra.setdefault("startup", []).append(digests.startup)  # subscribers' digests of new calls
    node.extra.setdefault("shutdown", []).append(digests.shutdown)
    node.extra["follower"] = follower  # other processes' writes reach the profiles
    node.extra.setdefault("startup", []).append(follower.prime)
    node.extra["startup"].append(catalogue.seal_tombstones)
    node.extra.setdefault("startup", []).append(matcher.startup)
    node.extra.setdefault("shutdown", []).append(matcher.shutdown)
    facet_index = node.extra["facet_index"] = FacetIndex()  # the search page's facet counts
    node.extra["startup"].append(facet_index.startup)
    node.extra["startup"].append(follower.start)
    node.extra["shutdown"].insert(0, follower.stop)  # before the matcher it hands entries to
    return node


async def healthz(request: Request) -> Response:
    """Status and database for anyone; providers (peers) add aggregate health, and
    details (peer URLs, their errors) only for an operator: an API token with the admin scope."""
    node: Node = request.app.state.node
    operator = False
    if request.headers.get("authorization"):
        try:
            actor = await authenticate(request.headers["authorization"], now=datetime.now(UTC))
        except ExchangeError as exc:
            return JSONResponse({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        operator = "admin" in actor.scopes
    try:
        seq = await latest_seq()
        pending = await node.database.pending_migrations(max_age=PLAN_KEPT)
        db_state = "ok" if not pending else "migrations pending"
    except Exception as exc:  # noqa: BLE001 - the database is down: say so, do not crash
        log.warning("health check: database unavailable: %s", exc)
        return JSONResponse({"status": "error", "database": "unavailable"}, status_code=503)
    body: dict[str, Any] = {
        "status": "ok" if db_state == "ok" else "degraded",
        "database": db_state,
        "dialect": node.database.dialect,
        "node": node.settings.node_url,
        "version": __version__,
        "changeSeq": seq,
        "uptimeSeconds": round(time.monotonic() - node.started, 1),
    }
    for provider in node.extra.get("health", {}).values():
        body.update(await provider(operator))
    return JSONResponse(body, status_code=200 if db_state == "ok" else 503)


def create_app(
    settings: Settings,
    *,
    node: Node | None = None,
    migrate: bool = True,
    extra_routes: list[BaseRoute] | None = None,
) -> Starlette:
    """The ASGI application of one node."""
    node = node or build_node(settings)
    endpoint = GraphQLEndpoint(
        strawberry_schema._schema, node.services,
        graphiql=lambda request: graphiql_page(request, node.settings.node_name),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await node.database.open(create=True)
        if migrate:
            await node.database.migrate()
        for hook in node.extra.get("startup", []):
            await hook()
        # What startup built (register, topics, matching profiles, facet index) lives as long
        # as the process: keep the cyclic collector from walking it again on every full pass.
        gc.collect()
        gc.freeze()
        # Writes render and stem in a worker thread; a thread holding the GIL keeps the event
        # loop waiting up to the switch interval (5 ms by default) each time it wakes up.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        try:
            yield
        finally:
            gc.unfreeze()  # collectable again once the node stops (several nodes may share a process)
            for hook in node.extra.get("shutdown", []):
                await hook()
            await node.database.close()

    routes: list[BaseRoute] = [
        Route("/graphql", endpoint.handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/healthz", healthz),
        *graphiql_routes(),
        *asset_routes(node),
        *(extra_routes or []),
    ]
    routes.extend(metrics_routes(node))
    routes.extend(opendata_routes(node))  # before the pages: /entries/{id}.md
    routes.extend(web_routes(node))
    routes.extend(federation_routes(node))
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=web_exception_handlers(node))
    app.state.node = node
    follower = node.extra.get("follower")
    app.add_middleware(ConditionalGet, build=build_tag(),  # inside the binding: it reads the state
                       position=lambda: getattr(follower, "seq", None))
    app.add_middleware(BindDatabase, database=node.database)
    app.add_middleware(RequestMetrics, labels=route_labels(app.router.routes))  # times it all
    app.add_middleware(RequestIds)  # outermost: every log line of a request carries its id
    return app
