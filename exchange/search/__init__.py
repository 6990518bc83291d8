"""Search: finding entries by filters and full text, a page at a time.

`filters` turns what a reader asks for (an `EntryQuery`) into SQL conditions
for SQLite or PostgreSQL, `query` returns keyset pages of results and cached
counts, `levels` reads PostgreSQL's relevance levels; `index` keeps the
full-text index in step with every write; `facets` counts what the search
page shows beside its results, in memory, following the change feed.
"""

from exchange.search.facets import FacetIndex
from exchange.search.filters import LAENDER, LONG_TEXTS, SIZE_CLASSES, EntryQuery, land_code
from exchange.search.query import (
    MAX_PAGE,
    CountCache,
    Page,
    count_entries,
    find_entries,
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
