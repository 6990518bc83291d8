"""`/metrics`: what a node does, in the Prometheus text format (prometheus-client).

Counted in the process as requests come: HTTP requests by route (the route's
pattern, such as `/entries/{uid}`, so that the number of series stays
bounded), method and status, with a latency histogram per route; GraphQL
operations by type and name (names that are not plain identifiers, and any
beyond the first `MAX_OPERATION_NAMES`, count as `other`); the hints sent to
peers (`federation.hints`). Read from the database at each scrape: entries by
visibility and origin (own or received), the change feed's sequence, per
peer the entries still behind, seconds since the last successful pull,
failures in a row, entries applied in all and envelopes held back; and the
database pool (PostgreSQL) of the answering process.

With several server processes (`exchange serve --workers N`) the counters
live in files under `PROMETHEUS_MULTIPROC_DIR` (the serve command makes a
fresh folder when the variable is not set) and every scrape adds up all
processes (prometheus-client's multiprocess mode).

Access: `EXCHANGE_METRICS=off` turns the route off (404). Otherwise a client
whose address is in `EXCHANGE_METRICS_ALLOW` (loopback by default; the
proxy's forwarded address counts behind `--proxy-headers`) may read it, and
anyone who sends `Authorization: Bearer <EXCHANGE_METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange.api.http import GRAPHQL_SCOPE_KEY
from exchange.db import current_connection, dialect_of
from exchange.models import Peer
from exchange.search import latest_seq
from federation.store import pending_counts

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 200
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

REQUESTS = Counter("exchange_http_requests", "HTTP requests answered, by route pattern, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram("exchange_http_request_duration_seconds", "Time to answer an HTTP request, by route pattern",
                    ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
OPERATIONS = Counter("exchange_graphql_operations", "GraphQL operations run, by type and operation name",
                     ["type", "name"])
_names: set[str] = set()


def operation_label(name: str | None) -> str:
    """The label of an operation name: itself when a plain identifier among the first few (pure-ish)."""
    if not name:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "other"
    if name not in _names:
        if len(_names) >= MAX_OPERATION_NAMES:
            return "other"
        _names.add(name)
    return name


def route_labels(routes: Iterable[BaseRoute]) -> dict[Any, str]:
    """Endpoint -> its route's pattern, for the routes of the app."""
    return {route.endpoint: route.path for route in routes if isinstance(route, Route)}


class RequestMetrics:
    """ASGI middleware: count every HTTP request and time it, by route pattern."""

    def __init__(self, app: ASGIApp, labels: dict[Any, str]) -> None:
        self.app = app
        self.labels = labels

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = self.labels.get(scope.get("endpoint"), "other")
            REQUESTS.labels(route, scope.get("method", ""), str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)
            operation = scope.get(GRAPHQL_SCOPE_KEY)
            if operation is not None:
                OPERATIONS.labels(operation[0], operation_label(operation[1])).inc()


def allowed_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """`EXCHANGE_METRICS_ALLOW` as networks; a wrong one raises ValueError naming it."""
    networks = []
    for part in text.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"EXCHANGE_METRICS_ALLOW: {part.strip()!r} is not an address or network") from None
    return networks


def may_read(request: Request, token: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    sent = request.headers.get("authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].strip().encode(), token.encode()):
        return True
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def process_registry() -> CollectorRegistry:
    """The counters of this process, or of every process in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


class _Fixed(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)


async def database_metrics(node: Any) -> list[Metric]:
    """What the database says now: entries, the change feed, peers, the pool."""
    conn = current_connection()
    p = "$1" if dialect_of(conn) == "postgres" else "?"
    own = node.settings.node_url
    rows = await conn.execute_query_dict(
        f"SELECT visibility, origin_node = {p} AS own, count(*) AS n FROM entry WHERE deleted = FALSE "
        f"GROUP BY visibility, origin_node = {p}", [own, own] if p == "?" else [own])
    entries = GaugeMetricFamily("exchange_entries", "Live entries held, by visibility and origin",
                                labels=["visibility", "origin"])
    for r in rows:
        entries.add_metric([str(r["visibility"]), "own" if r["own"] else "received"], int(r["n"]))
    seq = GaugeMetricFamily("exchange_change_sequence", "The change feed's newest sequence number")
    seq.add_metric([], await latest_seq())
    now = datetime.now(UTC)
    pending = await pending_counts()
    behind = GaugeMetricFamily("exchange_peer_entries_behind", "Entries a peer said it still holds for us",
                               labels=["peer"])
    since = GaugeMetricFamily("exchange_peer_seconds_since_success", "Seconds since the last successful pull",
                              labels=["peer"])
    failures = GaugeMetricFamily("exchange_peer_failures", "Failed pulls in a row", labels=["peer"])
    applied = CounterMetricFamily("exchange_peer_applied_entries", "Entry versions applied from a peer in all",
                                  labels=["peer"])
    held = GaugeMetricFamily("exchange_peer_pending_envelopes", "Envelopes from a peer held back",
                             labels=["peer"])
    for peer in await Peer.all().order_by("url"):
        behind.add_metric([peer.url], peer.entries_behind or 0)
        if peer.last_success is not None:
            since.add_metric([peer.url], (now - peer.last_success).total_seconds())
        failures.add_metric([peer.url], peer.failures)
        applied.add_metric([peer.url], peer.applied_total)
        held.add_metric([peer.url], pending.get(peer.url, 0))
    metrics: list[Metric] = [entries, seq, behind, since, failures, applied, held]
    follower = node.extra.get("follower")
    if follower is not None and follower.seq is not None:
        metrics.extend(await follower_metrics(follower, now))
    pool = getattr(node.database.connection(), "_pool", None)
    if pool is not None:
        connections = GaugeMetricFamily("exchange_database_pool_connections",
                                        "PostgreSQL connections of the answering process's pool",
                                        labels=["state"])
        connections.add_metric(["open"], pool.get_size())
        connections.add_metric(["idle"], pool.get_idle_size())
        connections.add_metric(["max"], pool.get_max_size())
        metrics.append(connections)
    return metrics


async def follower_metrics(follower: Any, now: datetime) -> list[Metric]:
    """How far the answering process's indexes trail the change feed (exchange.follow)."""
    conn = current_connection()
    p = "$1" if dialect_of(conn) == "postgres" else "?"
    rows = await conn.execute_query_dict(
        f"SELECT count(*) AS n, min(created_at) AS oldest FROM change WHERE seq > {p}", [follower.seq])
    oldest = rows[0]["oldest"] if rows else None
    if isinstance(oldest, str):  # SQLite hands back text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    behind = GaugeMetricFamily("exchange_follower_changes_behind",
                               "Changes in the feed the answering process has not yet handed to its indexes")
    behind.add_metric([], int(rows[0]["n"]) if rows else 0)
    lag = GaugeMetricFamily("exchange_follower_lag_seconds",
                            "Age of the oldest change the answering process has not yet followed (0: none)")
    lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
    metrics: list[Metric] = [behind, lag]
    if follower.looked_at is not None:
        looked = GaugeMetricFamily("exchange_follower_seconds_since_look",
                                   "Seconds since the answering process last read the change feed")
        looked.add_metric([], max(0.0, time.time() - follower.looked_at))
        metrics.append(looked)
    return metrics


def metrics_routes(node: Any) -> list[BaseRoute]:
    settings = node.settings
    if not settings.metrics:
        return []
    networks = allowed_networks(settings.metrics_allow)

    async def metrics(request: Request) -> Response:
        if not may_read(request, settings.metrics_token, networks):
            message = ("send the metrics token as Authorization: Bearer <token>" if settings.metrics_token
                       else "/metrics answers only the addresses in EXCHANGE_METRICS_ALLOW")
            return JSONResponse({"errors": [{"message": message, "extensions": {"code": "FORBIDDEN"}}]},
                                status_code=403)
        fresh = CollectorRegistry()
        fresh.register(_Fixed(await database_metrics(node)))
        body = generate_latest(process_registry()) + generate_latest(fresh)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return [Route("/metrics", metrics, methods=["GET"])]
