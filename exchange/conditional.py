"""Conditional GET for readers: an ETag on public answers, 304 without running anything.

An anonymous GET of a page, an open-data export or a GraphQL query gets an
ETag made of the node's public state (`exchange.freshness.state_tag`: the
newest change, review event and register), the build of the code and the
request's variant headers (Accept, Accept-Language, the language cookie),
and `Cache-Control: no-cache` (keep it, but ask again). When the reader sends
that tag back in `If-None-Match` and the state has not moved, the answer is
`304 Not Modified` after one small query, or none where PostgreSQL's
NOTIFY lets the process keep the tag (`exchange.freshness.StateCache`): no
GraphQL execution, no template, no export. Harvesters re-reading DCAT daily
and readers paging back cost next to nothing.

Answers that depend on who asks are never tagged: requests with an
`Authorization` header, a session cookie, or a peer's HTTP signature, and the
personal and write paths (sign-in, account, publish, people, operator pages,
federation, health and metrics). Only 200 answers without `Set-Cookie` get a
tag. The tag is taken before the answer is made, so a write racing the
request can only make the reader's next revalidation a full answer. Where
the tag is read each time, or kept while SQLite's files stand unchanged, the
next request after a commit sees it. Where it is kept on PostgreSQL, a write
of this process forgets it before committing; a commit of
another process (or a tag read here while this process's write was not yet
committed) is seen once the commit's NOTIFY has arrived, as a rule a few
milliseconds later. Until then a revalidation may still be answered 304 for
the state just before that commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange import __version__
from exchange.freshness import state_tag

__all__ = ["ConditionalGet", "build_tag", "etag_matches"]

# Paths whose answers are personal, writes, or about the node's operation; and static
# files, which carry validators of their own.
UNTAGGED_PREFIXES = (
    "/signin", "/signout", "/account", "/publish", "/operator", "/invitations", "/federation",
    "/healthz", "/metrics", "/.well-known", "/my", "/static", "/graphql/assets",
)
PERSONAL_COOKIES = ("exchange_session",)
CACHE_CONTROL = "no-cache"


def build_tag(root: Path | None = None) -> str:
    """The code's version and the newest modification of its files (templates and catalogues included).

    Every worker of a deployment computes the same value; a new release or
    an edited template changes it, so no reader keeps a page the old code made.
    """
    root = root or Path(__file__).parent
    newest = max((p.stat().st_mtime_ns for p in root.rglob("*") if p.suffix in {".py", ".html", ".po"}), default=0)
    return f"{__version__}-{newest}"


def etag_matches(header: str | None, tag: str) -> bool:
    """Whether an If-None-Match header names `tag` (weak comparison, as RFC 9110 asks for GET)."""
    if not header:
        return False
    bare = tag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False


def _public(scope: Scope, headers: Headers) -> bool:
    path: str = scope.get("path", "")
    if path.startswith(UNTAGGED_PREFIXES) or path.endswith("/people"):
        return False
    if "authorization" in headers or "signature" in headers or "signature-input" in headers:
        return False
    cookie = headers.get("cookie", "")
    return not any(f"{name}=" in cookie for name in PERSONAL_COOKIES)


def _variant(headers: Headers) -> str:
    cookie = headers.get("cookie", "")
    lang = next((part.strip() for part in cookie.split(";") if part.strip().startswith("lang=")), "")
    return "|".join((headers.get("accept", ""), headers.get("accept-language", ""), lang))


class ConditionalGet:
    """ASGI middleware; runs inside the database binding (it reads the state tag)."""

    def __init__(self, app: ASGIApp, build: str, position: Callable[[], object] = lambda: None) -> None:
        self.app = app
        self.build = build
        # How far this process's in-memory indexes (the matching profiles) have followed the
        # change feed: while another worker's write has not reached them, the tag differs
        # from the one they will give once it has, so no answer made before is confirmed.
        self.position = position

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _public(scope, headers):
            await self.app(scope, receive, send)
            return
        state = await state_tag()
        digest = hashlib.blake2b(f"{state}|{self.position()}|{self.build}|{_variant(headers)}".encode(), digest_size=12).hexdigest()
        tag = f'W/"{digest}"'
        if etag_matches(headers.get("if-none-match"), tag):
            await send({"type": "http.response.start", "status": 304, "headers": [
                (b"etag", tag.encode()), (b"cache-control", CACHE_CONTROL.encode()),
                (b"vary", b"Accept, Accept-Language, Cookie"),
            ]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                out = MutableHeaders(scope=message)
                if "set-cookie" not in out and "etag" not in out:
                    out["ETag"] = tag
                    if "cache-control" not in out:
                        out["Cache-Control"] = CACHE_CONTROL
                    out.add_vary_header("Accept")
                    out.add_vary_header("Accept-Language")
                    out.add_vary_header("Cookie")
            await send(message)

        await self.app(scope, receive, tagged)
