from exchange.db import Database
from exchange.models import Municipality


async def test_migrated_database_stores_and_counts(db: Database) -> None:
    await Municipality.create(official_key="010010000000", name="Flensburg, Stadt")
    assert await Municipality.filter(official_key="010010000000").count() == 1
    assert await db.pending_migrations() == []
