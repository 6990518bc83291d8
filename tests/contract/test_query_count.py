"""No N+1: the Catalogue operation costs a constant number of SQL queries.

Every query the ORM or the search module sends passes through tortoise's
`tortoise.db_client` logger at DEBUG level; a handler counts them while the
operation runs. The count at 50 entries must equal the count at 10, and stay
a small constant (page, change seq, count, topics, publishers).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.db import Database
from exchange.models import Topic
from tests.contract.conftest import operation
from tests.helpers import MUNICIPALITIES, client_for, seed, settings_for

MAX_QUERIES = 6


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.lstrip().split(" ", 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            self.queries.append(message)


@contextmanager
def counting() -> Iterator[_Counter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)


async def _publish_many(db: Database, tmp_path: Path, n: int) -> None:
    from exchange.app import build_node

    catalogue = build_node(settings_for(db, tmp_path), database=db).catalogue
    slugs = [t.slug for t in await Topic.all().order_by("id").limit(12)]
    publishers = [m["official_key"] for m in MUNICIPALITIES] + ["kompetenzzentrum"]
    for i in range(n):
        publisher = await find_publisher(publishers[i % len(publishers)])
        actor = Actor(publisher=publisher, scopes=frozenset({"publish"}))
        kind = ("project", "guide", "lesson")[i % 3] if publisher.kind == "organisation" else ("project", "lesson")[i % 2]
        await catalogue.publish(actor, EntryInput(
            kind=kind, title=f"Eintrag {i}", summary="Kurz.", body_markdown=f"Text {i}",
            language="de", topics=[slugs[i % 12], slugs[(i * 5 + 1) % 12]], visibility="public",
        ))


async def _count(db: Database, tmp_path: Path, first: int) -> tuple[int, int, list[str]]:
    """Queries of a cold request (fresh node caches) and of the same request again."""
    async with client_for(db, tmp_path) as client:
        body = {"query": operation("Catalogue"), "variables": {"first": first}}
        with counting() as cold:
            r = await client.post("/graphql", json=body)
        data = r.json()
        assert "errors" not in data, data
        assert len(data["data"]["entries"]["edges"]) == first
        assert all(e["node"]["publisher"] and e["node"]["topics"] for e in data["data"]["entries"]["edges"])
        with counting() as warm:
            await client.post("/graphql", json=body)
    return len(cold.queries), len(warm.queries), cold.queries


async def test_catalogue_query_count_is_constant(db: Database, tmp_path: Path) -> None:
    await seed(db)
    await _publish_many(db, tmp_path, 60)
    cold10, warm10, _ = await _count(db, tmp_path, 10)
    cold50, warm50, queries = await _count(db, tmp_path, 50)
    assert cold50 == cold10, f"query count grows with the page: {cold10} at 10, {cold50} at 50"
    assert warm50 == warm10
    assert cold50 <= MAX_QUERIES, "\n".join(queries)
    # totalCount comes from the per-change-seq cache on the second request
    assert warm50 < cold50, "totalCount was counted again although nothing changed"
