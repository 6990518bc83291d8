"""Query parameters of the search and list pages, read into plain values (pure).

`parse_search` turns the parameters of `/search` into an `EntryQuery`, a page
size and a cursor; anything it cannot use is an `InvalidInputError`, which the
page answers with 400 and a sentence that names the parameter. The UI language
parameter is `lang`; the entry-language facet is `language`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from exchange.errors import InvalidInputError
from exchange.search import EntryQuery, land_code

PAGE_SIZE = 20
MAX_QUERY = 200


@dataclass(frozen=True)
class SearchParams:
    """What a search page asks for."""

    query: EntryQuery
    first: int
    after: str | None
    publisher: str | None


def _multi(items: Sequence[tuple[str, str]], name: str) -> tuple[str, ...]:
    values: list[str] = []
    for key, value in items:
        if key == name:
            values.extend(v.strip() for v in value.split(",") if v.strip())
    return tuple(dict.fromkeys(values))


def _single(items: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in items if k == name and v.strip()]
    if len(values) > 1:
        raise InvalidInputError(f"the parameter {name!r} was given {len(values)} times; give it once")
    return values[0].strip() if values else None


def parse_search(items: Sequence[tuple[str, str]]) -> SearchParams:
    """Read `/search` parameters: q, kind, topic, land, size, status, language, order, first, after."""
    text = _single(items, "q")
    if text is not None and len(text) > MAX_QUERY:
        raise InvalidInputError(f"the search text is longer than {MAX_QUERY} characters")
    first_raw = _single(items, "first")
    first = PAGE_SIZE
    if first_raw is not None:
        if not first_raw.isdigit() or not 1 <= int(first_raw) <= 100:
            raise InvalidInputError("first must be a number from 1 to 100")
        first = int(first_raw)
    land = _single(items, "land")
    if land is not None:
        land = land_code(land)
    order = _single(items, "order") or ("relevance" if text else "newest")
    topics = _multi(items, "topic")
    if len(topics) > 20:
        raise InvalidInputError("at most 20 topics can be chosen at once")
    query = EntryQuery(
        kinds=_multi(items, "kind"),
        topics=topics,
        land=land,
        size_classes=_multi(items, "size"),
        statuses=_multi(items, "status"),
        languages=_multi(items, "language"),
        text=text,
        order=order,
    ).validated()
    return SearchParams(query=query, first=first, after=_single(items, "after"),
                        publisher=_single(items, "publisher"))


def search_items(p: SearchParams) -> list[tuple[str, str]]:
    """The parameters that reproduce a search (without cursor), for links."""
    q = p.query
    items: list[tuple[str, str]] = []
    if q.text:
        items.append(("q", q.text))
    items += [("kind", v) for v in q.kinds] + [("topic", v) for v in q.topics]
    if q.land:
        items.append(("land", q.land))
    items += [("size", v) for v in q.size_classes] + [("status", v) for v in q.statuses]
    items += [("language", v) for v in q.languages]
    if p.publisher:
        items.append(("publisher", p.publisher))
    if q.order != ("relevance" if q.text else "newest"):
        items.append(("order", q.order))
    if p.first != PAGE_SIZE:
        items.append(("first", str(p.first)))
    return items


def href(path: str, items: Sequence[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(list(items))}" if items else path


def without(items: Sequence[tuple[str, str]], name: str, value: str | None = None) -> list[tuple[str, str]]:
    """`items` less one parameter (or one value of it): the link that removes a filter."""
    return [(k, v) for k, v in items if not (k == name and (value is None or v == value))]
