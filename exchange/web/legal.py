"""The legal notice (Impressum) and the privacy statement (Datenschutzerklärung).

German law asks a public site for both. Their text is the operator's: Markdown
files in the node's legal folder (`EXCHANGE_LEGAL_DIR`, by default beside the
SQLite database), `impressum.de.md` and `impressum.en.md`, `datenschutz.de.md`
and `datenschutz.en.md`. A page in one language shows the file of the other
when its own is missing, and says so; without any file it says that the
operator has not written it yet. The privacy page adds what the node itself
knows to be true: what it stores about persons and that none of it leaves the
node (a template, translated like every page). The files are read at each
request, so an operator's edit shows at once; they are rendered like entry
texts (no raw HTML, safe links).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from content import render_markdown
from exchange.web.render import body_html
from exchange.web.site import Web

__all__ = ["LEGAL_PAGES", "OperatorText", "legal_routes", "operator_text"]

LEGAL_PAGES = ("impressum", "datenschutz")
_MOST_BYTES = 200_000


@dataclass(frozen=True)
class OperatorText:
    """The operator's text for a page: its HTML and the language it is written in."""

    html: str
    language: str


def operator_text(folder: Path, page: str, locale: str) -> OperatorText | None:
    """The operator's text of `page` in `locale`, else in the other language; None if neither exists."""
    for language in dict.fromkeys((locale, "de", "en")):
        path = folder / f"{page}.{language}.md"
        try:
            raw = path.read_bytes()[:_MOST_BYTES]
        except OSError:  # missing or unreadable: the page says the text is not there
            continue
        text = raw.decode("utf-8", errors="replace").strip()
        if text:
            return OperatorText(body_html(render_markdown(text)), language)
    return None


async def impressum(web: Web, request: Request) -> Response:
    return _page(web, request, "impressum")


async def datenschutz(web: Web, request: Request) -> Response:
    return _page(web, request, "datenschutz")


def _page(web: Web, request: Request, page: str) -> Response:
    locale = web.renderer.locale(request)
    text = operator_text(web.node.settings.resolved_legal_dir, page, locale)
    return web.page(request, f"{page}.html", {"text": text, "other_language": text is not None
                                              and text.language != locale})


def legal_routes(web: Web) -> list[BaseRoute]:
    """The routes of the legal notice and the privacy statement."""
    return [Route("/impressum", web.handle(impressum)), Route("/datenschutz", web.handle(datenschutz))]
