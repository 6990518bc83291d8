"""Full-text search index: SQLite FTS5 table, or a PostgreSQL GIN index.

Both index the same stemmed terms (`entry.search_terms`), made by
`content.search_document`; the ORM cannot express either, hence raw SQL per
dialect.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


async def create_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if "postgres" in client.capabilities.dialect:
        await client.execute_script(
            "CREATE INDEX IF NOT EXISTS entry_search_gin ON entry "
            "USING GIN (to_tsvector('simple', search_terms))"
        )
    else:
        await client.execute_script(
            "CREATE VIRTUAL TABLE IF NOT EXISTS entry_fts USING fts5("
            "terms, tokenize = 'unicode61 remove_diacritics 0')"
        )


async def drop_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if "postgres" in client.capabilities.dialect:
        await client.execute_script("DROP INDEX IF EXISTS entry_search_gin")
    else:
        await client.execute_script("DROP TABLE IF EXISTS entry_fts")


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(create_index, drop_index)]
