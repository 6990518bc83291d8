"""Rendering pages: the Jinja2 environments (one per language), filters, error pages.

Each language has its own environment with its gettext catalogue installed, so
rendering never switches a shared catalogue between requests. `Renderer.page`
turns a template and its values into a response with the language cookie
set; `Renderer.error` is the one place where errors become pages: 404 for
unknown things, 400 for bad parameters, 403 for refused writes, and a plain
"something went wrong" page (logged with its traceback) for everything else.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from exchange.errors import (
    ExchangeError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from exchange.logs import request_id
from exchange.placenames import display_name
from exchange.web.i18n import (
    COOKIE,
    LANGUAGE_NAMES,
    LOCALES,
    requested_locale,
    role_name,
    translations,
)

log = logging.getLogger("exchange.web")
TEMPLATES = Path(__file__).parent / "templates"
STATUS_OF: dict[type[ExchangeError], int] = {
    NotFoundError: 404,
    InvalidInputError: 400,
    UnauthenticatedError: 401,
    PermissionDeniedError: 403,
}


def status_of(error: ExchangeError) -> int:
    for kind, status in STATUS_OF.items():
        if isinstance(error, kind):
            return status
    return 409 if error.code == "CONFLICT" else 400


def _number(locale: str) -> Callable[[Any], str]:
    def number(value: Any, digits: int = 2) -> str:
        if value is None or value == "":
            return "–"
        value = float(value)
        if value == int(value):
            return format_decimal(int(value), locale=locale)
        return format_decimal(round(value, digits), locale=locale)

    return number


def _date(locale: str) -> Callable[[Any], str]:
    def date(value: Any, with_time: bool = False) -> str:
        if not isinstance(value, datetime):
            return str(value or "")
        if with_time:
            return format_datetime(value, "medium", locale=locale, tzinfo=value.tzinfo)
        return format_date(value, "long", locale=locale)

    return date


def make_environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters["number"] = _number(locale)
    env.filters["date"] = _date(locale)
    env.filters["place"] = display_name
    env.filters["role"] = lambda role: role_name(str(role), locale)
    env.globals["locale"] = locale
    return env


class Renderer:
    """Templates of every language, and the page shell's shared values."""

    def __init__(self, node_name: str) -> None:
        self.node_name = node_name
        self.envs = {locale: make_environment(locale) for locale in LOCALES}

    def locale(self, request: Request) -> str:
        return requested_locale(request.query_params, request.cookies, request.headers)

    def gettext(self, request: Request) -> Callable[[str], str]:
        return translations(self.locale(request)).gettext

    def page(
        self, request: Request, template: str, values: dict[str, Any], *, status: int = 200
    ) -> Response:
        locale = self.locale(request)
        env = self.envs[locale]
        context = {
            "request": request,
            "node_name": self.node_name,
            "lang_links": self._lang_links(request, locale),
            "path": request.url.path,
            "signed_in": request.scope.get("exchange.signed_in"),
            "person": request.scope.get("exchange.person"),
            **values,
        }
        html = env.get_template(template).render(context)
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Language"] = locale
        response.headers["Vary"] = "Accept-Language, Cookie"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
        if request.query_params.get("lang") in LOCALES:
            response.set_cookie(COOKIE, locale, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    def _lang_links(self, request: Request, current: str) -> list[dict[str, Any]]:
        links = []
        for locale in LOCALES:
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
            params.append(("lang", locale))
            links.append({
                "locale": locale,
                "name": LANGUAGE_NAMES[locale],
                "href": f"{request.url.path}?{urlencode(params)}",
                "current": locale == current,
            })
        return links

    def error(self, request: Request, error: Exception) -> Response:
        """The error page for `error`; unexpected errors are logged with a reference."""
        reference = request_id() or uuid.uuid4().hex[:12]  # the request's id, as in the log
        if isinstance(error, ExchangeError):
            status = status_of(error)
            message = error.message
        else:
            status = 500
            message = ""
            log.error("web page %s failed (reference %s)", request.url.path, reference, exc_info=error)
        try:
            return self.page(
                request, "error.html", {"status": status, "message": message, "reference": reference},
                status=status,
            )
        except Exception:  # the error page itself failed: plain text, never a traceback
            log.exception("rendering the error page failed")
            return Response(f"Error {status}", status_code=status, media_type="text/plain")


_HEADING = re.compile(r"<(/?)h([1-6])\b")
_TAG = re.compile(r"<[a-zA-Z][^<>]*>")
_ID = re.compile(r'\sid="([^"]*)"')
_FRAGMENT = re.compile(r'\shref="#([^"]*)"')


def _prefix_ids(tag: re.Match[str]) -> str:
    text = _ID.sub(lambda m: f' id="body-{m.group(1)}"', tag.group(0))
    return _FRAGMENT.sub(lambda m: f' href="#body-{m.group(1)}"', text)


def body_html(html: str) -> Markup:
    """An entry's sanitised HTML fitted into a page: headings below the page's h1,
    ids prefixed so that they never clash with the page's own (skip link, labels)."""
    if "<h1" in html:
        html = _HEADING.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + 1, 6)}", html)
    return Markup(_TAG.sub(_prefix_ids, html))


def safe(markup: str) -> Markup:
    """Mark markup made by our own code (SVG, sanitised entry HTML) as safe for templates."""
    return Markup(markup)
