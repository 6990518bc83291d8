"""Search: finding entries by filters and full text, a page at a time.

`query` turns what a reader asks for (an `EntryQuery`) into SQL for SQLite or
PostgreSQL and returns keyset pages and cached counts; `index` keeps the
full-text index in step with every write; `facets` counts what the search
page shows beside its results, in memory, following the change feed.
"""

from exchange.search.facets import FacetIndex
from exchange.search.query import (
    LAENDER,
    LONG_TEXTS,
    MAX_PAGE,
    SIZE_CLASSES,
    CountCache,
    EntryQuery,
    Page,
    count_entries,
    find_entries,
    land_code,
    latest_seq,
    matching_ids,
)

__all__ = [
    "LAENDER",
    "LONG_TEXTS",
    "MAX_PAGE",
    "SIZE_CLASSES",
    "CountCache",
    "EntryQuery",
    "FacetIndex",
    "Page",
    "count_entries",
    "find_entries",
    "land_code",
    "latest_seq",
    "matching_ids",
]
