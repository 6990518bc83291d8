"""Markdown in and out: safe rendering, plain text and stemmed terms, guide bundles.

A leaf package: it imports nothing of the exchange, only markdown-it-py,
mdit-py-plugins, nh3, snowballstemmer and PyYAML. Other packages import from
here, never from the modules directly.
"""

from content.characters import ForbiddenCharacter, forbidden_character
from content.guides import (
    Bundle,
    BundleError,
    BundleInvalidError,
    GuideDoc,
    checklist_from_markdown,
    load_bundle,
)
from content.markdown import render_inline, render_markdown, slugify, url_is_safe
from content.text import (
    Rendered,
    fts5_match,
    plain_text,
    query_alternatives,
    render,
    search_document,
    search_document_of_text,
    stem,
    terms,
    tokenize,
    tsquery,
)

__all__ = [
    "Bundle",
    "BundleError",
    "BundleInvalidError",
    "ForbiddenCharacter",
    "GuideDoc",
    "Rendered",
    "checklist_from_markdown",
    "forbidden_character",
    "fts5_match",
    "load_bundle",
    "plain_text",
    "query_alternatives",
    "render",
    "render_inline",
    "render_markdown",
    "search_document",
    "search_document_of_text",
    "slugify",
    "stem",
    "terms",
    "tokenize",
    "tsquery",
    "url_is_safe",
]
