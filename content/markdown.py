"""Safe Markdown rendering: the one parser of the exchange and its link policy.

Every piece of user Markdown that reaches a page goes through `render_markdown`
(block content) or `render_inline` (a one-line summary). The parser is
CommonMark with raw HTML switched off, plus tables, strikethrough, task lists
(checkboxes always disabled) and heading anchors with ASCII slugs
(``Bürgerbeteiligung`` → ``buergerbeteiligung``). Links are checked on the token
stream, not on the HTML: only http, https, mailto, relative and fragment
links keep their ``href``; anything else (``javascript:``, ``data:``, ``file:``,
also when hidden behind case, whitespace, control characters, entities or
percent-encoding) loses its link but keeps its text. Images are kept only for
http, https and relative sources, otherwise their alt text remains. External
links get ``rel="nofollow noopener"``. The HTML is then sanitised once more by
nh3 with an allowlist of exactly what the renderer produces, so a future bug
in a plugin cannot turn into script on a page. The parser and the cleaner are
built once at import time; rendering is a pure function of the source.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

__all__ = [
    "parse_tokens",
    "render_inline",
    "render_markdown",
    "render_tokens",
    "slugify",
    "url_is_safe",
]

_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_IMAGE_SCHEMES = frozenset({"http", "https"})
_EXTERNAL_SCHEMES = frozenset({"http", "https"})
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# Browsers ignore ASCII tab and newline anywhere in a URL and strip leading
# C0 controls and spaces; removing every control and whitespace character
# before looking for the scheme is stricter than any of them.
_INVISIBLE_RE = re.compile(r"[\x00-\x20\x7f-\x9f\s\u200b-\u200f\u2028\u2029\ufeff]+")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _scheme(url: str) -> str | None:
    """The scheme a browser could see in `url`, after undoing every obfuscation we know."""
    text = url
    for _ in range(3):  # entities and percent-escapes may be nested
        decoded = unquote(html.unescape(text))
        if decoded == text:
            break
        text = decoded
    text = unicodedata.normalize("NFKC", _INVISIBLE_RE.sub("", text)).lower()
    if text.startswith(("//", "\\\\", "/\\", "\\/")):
        return "https"  # protocol-relative: external, http(s) on the page's scheme
    match = _SCHEME_RE.match(text)
    if match:
        return match.group(1)
    # "java\x00script:" style tricks are gone after _INVISIBLE_RE; whatever still
    # has a colon before the first path character is not a plain relative URL.
    head = re.split(r"[/?#]", text, maxsplit=1)[0]
    return "" if ":" not in head else "invalid"


def url_is_safe(url: str, *, image: bool = False) -> bool:
    """Whether `url` may appear as a link target (or, with `image`, as an image source)."""
    scheme = _scheme(url)
    if scheme is None or scheme == "":
        return True  # relative, root-relative or fragment
    return scheme in (_IMAGE_SCHEMES if image else _LINK_SCHEMES)


def _is_external(url: str) -> bool:
    return _scheme(url) in _EXTERNAL_SCHEMES


def slugify(title: str) -> str:
    """An ASCII anchor slug: German umlauts transliterated, other accents dropped."""
    text = unicodedata.normalize("NFC", title).lower().translate(_UMLAUTS)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:80].rstrip("-")
    return slug or "abschnitt"


def _text_of(tokens: list[Token] | None) -> str:
    return "".join(t.content for t in tokens or [] if t.type in ("text", "code_inline"))


def _apply_link_policy(children: list[Token]) -> list[Token]:
    """Drop unsafe links (keeping their text) and unsafe images (keeping their alt)."""
    result: list[Token] = []
    dropped: list[bool] = []  # one flag per open link, so the matching close follows it
    for token in children:
        if token.type == "link_open":
            href = str(token.attrGet("href") or "")
            safe = url_is_safe(href)
            dropped.append(not safe)
            if not safe:
                continue
            if _is_external(href):
                token.attrSet("rel", "nofollow noopener")
        elif token.type == "link_close":
            if dropped and dropped.pop():
                continue
        elif token.type == "image":
            src = str(token.attrGet("src") or "")
            if not url_is_safe(src, image=True):
                result.append(Token("text", "", 0, content=_text_of(token.children)))
                continue
        result.append(token)
    return result


def _link_policy_rule(state: StateCore) -> None:
    for token in state.tokens:
        if token.type == "inline" and token.children:
            token.children = _apply_link_policy(token.children)


class _Parser(MarkdownIt):
    """MarkdownIt that parses every destination as a link; `_link_policy_rule` judges them.

    markdown-it's own validator leaves a rejected link as literal Markdown text
    (``[x](javascript:…)``); judging after parsing lets us keep just the label.
    """

    def validateLink(self, url: str) -> bool:
        return True


def _build_parser() -> MarkdownIt:
    md = _Parser("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(tasklists_plugin, enabled=False)
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=slugify, permalink=False)
    md.core.ruler.push("link_policy", _link_policy_rule)
    return md


_MD = _build_parser()

_CLASS_RE = re.compile(
    r"^(language-[A-Za-z0-9_+#.\-]{1,40}|task-list-item|contains-task-list"
    r"|task-list-item-checkbox)$"
)
_ID_RE = re.compile(r"^[a-z0-9\-]{1,200}$")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        return value if _CLASS_RE.match(value) else None
    if attribute == "id":
        return value if _ID_RE.match(value) else None
    if attribute == "rel":
        return "nofollow noopener" if value == "nofollow noopener" else None
    if attribute in ("href", "src"):
        return value if url_is_safe(value, image=attribute == "src") else None
    return value


_BLOCK_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote",
    "pre", "code", "em", "strong", "s", "a", "img", "input",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_INLINE_TAGS = {"a", "br", "code", "em", "strong", "s"}
_ATTRIBUTES = {
    "a": {"href", "title", "rel"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "li": {"class"},
    "ul": {"class"},
    "ol": {"start"},
    "input": {"class"},
    "th": {"style"},
    "td": {"style"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
_INPUT_VALUES = {
    "input": {"type": {"checkbox"}, "checked": {"checked", ""}, "disabled": {"disabled", ""}}
}
_SCHEMES = set(_LINK_SCHEMES)


def _cleaner(tags: set[str]) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=tags,
        clean_content_tags={"script", "style"},
        attributes={tag: attrs for tag, attrs in _ATTRIBUTES.items() if tag in tags},
        attribute_filter=_filter_attribute,
        link_rel=None,  # rel is set per link by the renderer (external links only)
        tag_attribute_values=_INPUT_VALUES if "input" in tags else None,
        set_tag_attribute_values={"input": {"disabled": "disabled"}} if "input" in tags else None,
        url_schemes=_SCHEMES,
        filter_style_properties={"text-align"},
    )


_BLOCK_CLEANER = _cleaner(_BLOCK_TAGS)
_INLINE_CLEANER = _cleaner(_INLINE_TAGS)


def parse_tokens(source: str) -> list[Token]:
    """The token stream of `source` as `render_markdown` sees it (links already judged)."""
    return _MD.parse(source)


def render_markdown(source: str) -> str:
    """Render Markdown to sanitised HTML, safe to insert into a page as is."""
    return _BLOCK_CLEANER.clean(_MD.render(source))


def render_tokens(source: str) -> tuple[str, list[Token]]:
    """`render_markdown(source)` and the token stream it was rendered from, from one parse.

    Rendering only ever sets the ``alt`` attribute of image tokens; their text,
    children and every other token are as `parse_tokens` returns them.
    """
    env: dict[str, object] = {}
    tokens = _MD.parse(source, env)
    return _BLOCK_CLEANER.clean(_MD.renderer.render(tokens, _MD.options, env)), tokens


def render_inline(text: str) -> str:
    """Render one line of Markdown (a summary, a checklist item) without block elements."""
    one_line = " ".join(text.split())
    return _INLINE_CLEANER.clean(_MD.renderInline(one_line))
