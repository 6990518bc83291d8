"""Languages of the web pages: which one a request wants, and its gettext catalogue.

German comes first, English second. A request names its language with
`?lang=` (which the page stores in a cookie, so the switch works without
JavaScript), else by that cookie, else by `Accept-Language`; German when
nothing matches. Catalogues are the committed `.po` files under `locale/`,
compiled in memory on first use (a few milliseconds), so a fresh
`pip install -e .` needs no build step and a stale `.mo` can never win.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("de", "en")
DEFAULT_LOCALE = "de"
LOCALE_DIR = Path(__file__).parent / "locale"
COOKIE = "lang"
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


# What a person reads for a role (the roles table's names are identifiers, never shown).
ROLE_NAMES = {
    "editor": N_("editor"),
    "publisher-admin": N_("administrator"),
    "curator": N_("curator"),
    "operator": N_("operator"),
}


def role_name(role: str, locale: str) -> str:
    """A role in the reader's language ('publisher-admin' -> 'Administrator·in')."""
    return translations(locale).gettext(ROLE_NAMES.get(role, role))


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def choose_locale(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: query parameter, then cookie, then Accept-Language, then German."""
    for explicit in (query, cookie):
        if explicit and explicit.lower() in LOCALES:
            return explicit.lower()
    for tag in parse_accept_language(accept_language or ""):
        primary = tag.split("-", 1)[0]
        if primary in LOCALES:
            return primary
        if tag == "*":
            return DEFAULT_LOCALE
    return DEFAULT_LOCALE


def requested_locale(params: Mapping[str, str], cookies: Mapping[str, str], headers: Mapping[str, str]) -> str:
    return choose_locale(params.get("lang"), cookies.get(COOKIE), headers.get("accept-language"))


@cache
def translations(locale: str) -> NullTranslations:
    """The catalogue of `locale`, compiled from its committed .po file."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain="messages")
