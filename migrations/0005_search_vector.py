"""PostgreSQL: the search terms' tsvector as a stored generated column with its GIN index.

Ranking with `ts_rank(to_tsvector('simple', search_terms), …)` parsed the terms
of every matching entry on every search (over a second for a common word at
100,000 entries); a stored `search_vector` is parsed once per write, and the
GIN index moves from the expression to the column. Same vector, same matches,
same ranks. SQLite keeps its FTS5 table: nothing to do there.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


async def add_vector(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if "postgres" in client.capabilities.dialect:
        await client.execute_script(
            "ALTER TABLE entry ADD COLUMN IF NOT EXISTS search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_terms)) STORED; "
            "CREATE INDEX IF NOT EXISTS entry_search_vector_gin ON entry USING GIN (search_vector); "
            "DROP INDEX IF EXISTS entry_search_gin"
        )


async def drop_vector(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if "postgres" in client.capabilities.dialect:
        await client.execute_script(
            "CREATE INDEX IF NOT EXISTS entry_search_gin ON entry USING GIN (to_tsvector('simple', search_terms)); "
            "DROP INDEX IF EXISTS entry_search_vector_gin; "
            "ALTER TABLE entry DROP COLUMN IF EXISTS search_vector"
        )


class Migration(migrations.Migration):
    dependencies = [("models", "0004_curation")]

    operations = [ops.RunPython(add_vector, drop_vector)]
