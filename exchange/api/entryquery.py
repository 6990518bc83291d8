"""Which entries a list asks for: the `first` bound of a page and the search query a
GraphQL `EntryFilter` stands for (shared by the resolvers and the query plans)."""

from __future__ import annotations

from exchange.api.enums import EntryOrder
from exchange.api.inputs import EntryFilter
from exchange.auth import find_publisher
from exchange.errors import InvalidInputError
from exchange.search import MAX_PAGE, EntryQuery

__all__ = ["check_first", "entry_query"]


def check_first(first: int) -> None:
    if not 0 <= first <= MAX_PAGE:
        raise InvalidInputError(f"first must be between 0 and {MAX_PAGE}, not {first}")


async def entry_query(filter: EntryFilter | None, order: EntryOrder, publisher: tuple[str, int] | None) -> EntryQuery:
    f = filter or EntryFilter()
    if f.publisher:
        p = await find_publisher(f.publisher)
        key = (p.kind, p.id)
        if publisher is not None and key != publisher:
            key = (p.kind, -1)  # two different publishers: nothing matches
        publisher = key
    return EntryQuery(
        kinds=tuple(k.value for k in f.kinds or ()),
        topics=tuple(f.topics or ()),
        publisher=publisher,
        land=f.state or None,
        size_classes=tuple(f.size_classes or ()),
        statuses=tuple(s.value for s in f.statuses or ()),
        languages=tuple(f.languages or ()),
        text=f.text,
        origin=f.origin_node,
        endorsed_by=f.endorsed_by or None,
        order=str(order.value),
    ).validated()
