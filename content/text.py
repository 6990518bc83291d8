"""Plain text and stemmed terms: what search and matching see of an entry.

Markdown becomes plain text by walking the markdown-it token stream (so link
targets, code fences markers and table pipes never become words). Text becomes
tokens (lowercase Unicode words, NFC, umlauts kept; ``E-Government`` yields
``egovernment``, ``e`` and ``government``; ``3.000`` yields ``3000``), tokens
become terms (stopwords, single characters and short pure numbers dropped,
Snowball stems for German and English, identity for other languages). A stored
document holds the stems of its own language; a query does not know its
language, so each query word becomes the set of its German and English stems,
and the database matches ``(a_de OR a_en) AND (b_de OR b_en)``. `fts5_match`
and `tsquery` turn that into SQLite FTS5 and PostgreSQL ``to_tsquery('simple',
…)`` expressions in which every term is a quoted or character-restricted
literal: no operator, column filter or syntax error can come from user input.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import snowballstemmer
from markdown_it.token import Token

from content.markdown import parse_tokens, render_tokens

__all__ = [
    "STOPWORDS",
    "Rendered",
    "fts5_match",
    "plain_text",
    "query_alternatives",
    "render",
    "search_document",
    "search_document_of_text",
    "stem",
    "terms",
    "tokenize",
    "tsquery",
]


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS: dict[str, frozenset[str]] = {
    "de": _word_set(
        """aber alle allem allen aller alles als also am an ander andere anderen auch auf aus
        bei beim bin bis bist da damit dann das dass dein deine dem den denn der des dessen
        dich die dies diese diesem diesen dieser dieses dir doch dort du durch ein eine einem
        einen einer eines er es etwa euch euer für gegen hab habe haben hat hatte hatten hier
        hin hinter ich ihm ihn ihnen ihr ihre im in indem ins ist ja jede jedem jeden jeder
        jedes jetzt kann kein keine können könnte man manche mehr mein meine mich mir mit muss
        müssen nach nicht nichts noch nun nur ob oder ohne sehr sein seine sich sie sind so
        solche soll sollte sondern sowie über um und uns unser unter vom von vor wann war waren
        warum was weil welche welchem welchen welcher wenn wer werde werden wie wieder will
        wir wird wo wollen worden wurde wurden zu zum zur zwar zwischen"""
    ),
    "en": _word_set(
        """a about above after again all also am an and any are as at be because been before
        being below between both but by can could did do does doing down during each few for
        from further had has have having he her here hers him his how i if in into is it its
        itself just me more most my no nor not now of off on once only or other our ours out
        over own same she should so some such than that the their theirs them then there these
        they this those through to too under until up very was we were what when where which
        while who whom why will with would you your yours"""
    ),
}
_ALL_STOPWORDS = STOPWORDS["de"] | STOPWORDS["en"]
_STEMMER_NAMES = {"de": "german", "en": "english"}
# A word: letters/digits, inner apostrophes split it, hyphens join compounds,
# dots and commas between digits group numbers (3.000, 2,5).
_WORD_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_NUMBER_GROUP_RE = re.compile(r"(?<=\d)[.,](?=\d)")
_SAFE_TSQUERY_RE = re.compile(r"^[a-z0-9äöüß]+$")
_MIN_PREFIX = 3


def _words(text: str) -> list[list[str]]:
    """Each word of `text` as [whole] or, for a compound, [joined, part, part, …]."""
    normal = unicodedata.normalize("NFC", text).lower()
    normal = _NUMBER_GROUP_RE.sub("", normal)
    words: list[list[str]] = []
    for match in _WORD_RE.finditer(normal):
        parts = match.group(0).split("-")
        words.append(["".join(parts), *parts] if len(parts) > 1 else parts)
    return words


def tokenize(text: str) -> list[str]:
    """Lowercase Unicode word tokens; a hyphenated compound yields itself joined and its parts."""
    return [token for word in _words(text) for token in word]


def _is_term(token: str) -> bool:
    """Single characters and pure numbers under four digits (list counters, amounts) are noise."""
    if len(token) < 2:
        return False
    return not (token.isdigit() and len(token) < 4)


class _Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...


_local = threading.local()


def _stemmer(language: str) -> _Stemmer | None:
    """This thread's stemmer for `language`: a Snowball stemmer keeps the word it works on
    in itself, so two threads stemming with one object corrupt each other's stems (writes
    render and stem in a worker thread while the event loop stems queries)."""
    stemmers: dict[str, _Stemmer | None] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    if language not in stemmers:
        name = _STEMMER_NAMES.get(language)
        stemmers[language] = snowballstemmer.stemmer(name) if name is not None else None
    return stemmers[language]


@lru_cache(maxsize=65536)
def stem(word: str, language: str) -> str:
    """The Snowball stem of a lowercase `word`; unknown languages are left unstemmed."""
    if word.isascii() and word.isdigit():
        return word  # no suffix rule matches digits; asking costs 20-25 µs per new number
    stemmer = _stemmer(language)
    return stemmer.stemWord(word) if stemmer is not None else word


def terms(text: str, language: str) -> list[str]:
    """The stems of `text` in document order, without stopwords of `language`."""
    stopwords = STOPWORDS.get(language, frozenset())
    return [
        stem(token, language)
        for token in tokenize(text)
        if _is_term(token) and token not in stopwords
    ]


def _inline_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_inline_text(child.children or []))
    return "".join(parts)


def plain_text(markdown: str) -> str:
    """The readable text of a Markdown document: one line per block, no markup, no URLs."""
    return _plain_text_of(parse_tokens(markdown))


def _plain_text_of(tokens: Sequence[Token]) -> str:
    lines: list[str] = []
    row: list[str] | None = None  # the cells of the table row being read
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            if any(row):
                lines.append(" ".join(cell for cell in row if cell))
            row = None
        elif token.type == "inline":
            text = " ".join(_inline_text(token.children or []).split())
            if row is not None:
                row.append(text)
            elif text:
                lines.append(text)
        elif token.type in ("fence", "code_block") and token.content.strip():
            lines.append(token.content.rstrip("\n"))
    return "\n".join(lines)


@dataclass(frozen=True)
class Rendered:
    """A Markdown body read once: its page HTML and the plain text search sees."""

    html: str
    text: str


def render(markdown: str, more: Sequence[str] = ()) -> Rendered:
    """`render_markdown(markdown)` and a plain text, sharing one parse where they can.

    The text is `plain_text` of `markdown` and the non-empty parts of `more`
    joined by blank lines, the document an entry's search terms are built from.
    Without further parts that is the very document rendered, so one token
    stream serves both; otherwise the joined document is parsed on its own,
    since a part can change how the next one reads (an unclosed fence, a list
    continued, a link reference defined elsewhere).
    """
    html, tokens = render_tokens(markdown)
    extra = [part for part in more if part]
    if not extra:
        return Rendered(html, _plain_text_of(tokens))
    joined = "\n\n".join(part for part in (markdown, *extra) if part)
    return Rendered(html, plain_text(joined))


def search_document(
    title: str,
    summary: str,
    body_markdown: str,
    keywords: Iterable[str],
    language: str,
) -> str:
    """Space-separated stems for a full-text index; title ×3, keywords and summary ×2."""
    return search_document_of_text(title, summary, plain_text(body_markdown), keywords, language)


def search_document_of_text(
    title: str,
    summary: str,
    body_text: str,
    keywords: Iterable[str],
    language: str,
) -> str:
    """`search_document` for a body already turned into plain text (see `render`)."""
    title_terms = terms(title, language)
    keyword_terms = terms(" ".join(keywords), language)
    summary_terms = terms(summary, language)
    body_terms = terms(body_text, language)
    weighted = title_terms * 3 + keyword_terms * 2 + summary_terms * 2 + body_terms
    return " ".join(weighted)


def query_alternatives(query: str) -> list[list[str]]:
    """Per query word, its distinct German and English stems (German first).

    A word that is a stopword in either language is dropped, because a document
    in that language has no term for it; if that leaves nothing, stopwords stay.
    A hyphenated compound counts as one word (its joined form), which every
    document that contains the compound also holds.
    """
    words = [word[0] for word in _words(query) if _is_term(word[0])]
    kept = [word for word in words if word not in _ALL_STOPWORDS] or words
    groups: list[list[str]] = []
    for word in kept:
        group = list(dict.fromkeys((stem(word, "de"), stem(word, "en"))))
        if group not in groups:
            groups.append(group)
    return groups


def _prefixed(groups: list[list[str]], query: str, prefix: bool) -> list[list[tuple[str, bool]]]:
    """Mark the last group's terms as prefixes when the query does not end in a space."""
    marked = [[(term, False) for term in group] for group in groups]
    if prefix and marked and query[-1:].isalnum():
        last = marked[-1]
        marked[-1] = [(term, len(term) >= _MIN_PREFIX) for term, _ in last]
    return marked


def fts5_match(query: str, *, prefix: bool = True) -> str | None:
    """A safe SQLite FTS5 MATCH expression for `query`, or None when no term remains.

    Every term is a double-quoted string (quotes doubled), so ``NEAR``, ``AND``,
    ``*``, ``^``, ``:`` and parentheses in the input are only ever searched for
    as text. With `prefix`, the last word also matches as a prefix (``"term" *``).
    """
    groups = _prefixed(query_alternatives(query), query, prefix)
    clauses: list[str] = []
    for group in groups:
        literals = [
            '"' + term.replace('"', '""') + '"' + (" *" if is_prefix else "")
            for term, is_prefix in group
        ]
        clauses.append(literals[0] if len(literals) == 1 else "(" + " OR ".join(literals) + ")")
    return " AND ".join(clauses) if clauses else None


def tsquery(query: str, *, prefix: bool = True) -> str | None:
    """A safe ``to_tsquery('simple', …)`` expression for `query`, or None when no term remains.

    Terms are restricted to ``[a-z0-9äöüß]``; a term with any other character is
    left out (a word with no term left is dropped), so the expression can only
    consist of those characters, ``|``, ``&``, ``:*``, parentheses and spaces.
    """
    groups = _prefixed(query_alternatives(query), query, prefix)
    clauses: list[str] = []
    for group in groups:
        literals = [
            term + (":*" if is_prefix else "")
            for term, is_prefix in group
            if _SAFE_TSQUERY_RE.match(term)
        ]
        if literals:
            clauses.append(literals[0] if len(literals) == 1 else "(" + " | ".join(literals) + ")")
    return " & ".join(clauses) if clauses else None
