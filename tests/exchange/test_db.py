from exchange.db import Database
from exchange.models import Municipality


async def test_migrated_database_stores_and_counts(db: Database) -> None:
    await Municipality.create(official_key="010010000000", name="Flensburg, Stadt")
    assert await Municipality.filter(official_key="010010000000").count() == 1
    assert await db.pending_migrations() == []


async def test_pending_migrations_kept_only_while_empty_and_fresh(db: Database) -> None:
    conn = db.connection()
    # the one applied last (the newest by number may come before another: 0013 follows 0014)
    rows = await conn.execute_query_dict('SELECT app, name FROM tortoise_migrations ORDER BY id DESC LIMIT 1')
    last = rows[0]
    assert await db.pending_migrations() == []
    await conn.execute_query(f"DELETE FROM tortoise_migrations WHERE name = '{last['name']}'")
    try:
        # an empty plan seen a moment ago is trusted for max_age seconds ...
        assert await db.pending_migrations(max_age=60) == []
        # ... read again without max_age (and whenever it is older): the missing one shows
        pending = await db.pending_migrations()
        assert pending == [f"{last['app']}.{last['name']}"]
        # a plan that is not empty is never kept
        assert await db.pending_migrations(max_age=60) == pending
    finally:
        await conn.execute_query(
            "INSERT INTO tortoise_migrations (app, name, applied_at)"
            f" VALUES ('{last['app']}', '{last['name']}', CURRENT_TIMESTAMP)")
    # the plan was last seen pending: it is read again, and now it is empty
    assert await db.pending_migrations(max_age=60) == []
