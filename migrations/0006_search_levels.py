"""PostgreSQL: a narrow match table with each entry's lexemes and relevance levels.

Relevance on PostgreSQL used to sort every match by `ts_rank` over its whole
`search_vector`; a common word (or a short prefix) matches half the
catalogue, and ranking means reading and decompressing every matching
vector: 150–600 ms at 100,000 entries, whatever the page size. Relevance is
now a *level*: how prominently an entry uses the least prominent of the
searched words, counted in `search_terms`, where the title is written three
times and the keywords and summary twice (`content.search_document`). Level 3:
every word at least three times (in the title, or in the summary or keywords
and the text, or often in the text); level 2: at least twice (in the summary
or keywords); level 1: mentioned. `entry_match`, a narrow table that
triggers keep in step with `entry`, holds each entry's lexemes and `levels`:
those of the upper levels, level 3 with weight A (small, so they stay
inline). `entry_ids_at_level` gathers a level's ids through a GIN index, so
that a page sorts a rare word's few candidates, or reads a common word's
newest entries and stops (`exchange.search.levels.build_level_query`); the ids of
every match (facet counts) come from the same table. SQLite keeps FTS5's
bm25: nothing to do there.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


async def add_levels(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if "postgres" in client.capabilities.dialect:
        script = [
            # the lexemes of a vector that occur at least twice, those at least three times
            # weighted A (positions counted; a vector keeps up to 256 per lexeme)
            (
                "CREATE OR REPLACE FUNCTION entry_levels(v tsvector) RETURNS tsvector "
                "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT setweight(ts_delete(v, "
                "coalesce(array_agg(t.lexeme) FILTER (WHERE cardinality(t.positions) < 2), '{}')), 'A', "
                "coalesce(array_agg(t.lexeme) FILTER (WHERE cardinality(t.positions) >= 3), '{}')) "
                "FROM unnest(v) AS t $$"
            ),
            # entry_match, beside each entry's id: its lexemes (no positions; long ones out of
            # line), so that gathering the ids of a common word's matches reads a narrow table,
            # not the entries (65,000 of 100,000 in 30 ms instead of 60-170 at the web bench), and
            # its levels. Kept in step by triggers, from the search_vector PostgreSQL has parsed
            # already (a generated column would parse search_terms once more: +0.13 ms per entry),
            # since writers set search_terms only (federation stores batches itself).
            (
                "CREATE TABLE IF NOT EXISTS entry_match (id integer PRIMARY KEY REFERENCES entry (id) "
                "ON DELETE CASCADE, terms tsvector NOT NULL, levels tsvector NOT NULL)"
            ),
            "ALTER TABLE entry_match ALTER COLUMN terms SET STORAGE EXTERNAL",
            "CREATE INDEX IF NOT EXISTS entry_match_terms_gin ON entry_match USING GIN (terms)",
            "CREATE INDEX IF NOT EXISTS entry_match_levels_gin ON entry_match USING GIN (levels)",
            (
                "CREATE OR REPLACE FUNCTION entry_match_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF TG_OP = 'INSERT' THEN "
                "INSERT INTO entry_match (id, terms, levels) "
                "SELECT n.id, strip(n.search_vector), entry_levels(n.search_vector) FROM new_rows n "
                "ON CONFLICT (id) DO UPDATE SET terms = EXCLUDED.terms, levels = EXCLUDED.levels; "
                "ELSE "
                "INSERT INTO entry_match (id, terms, levels) "
                "SELECT n.id, strip(n.search_vector), entry_levels(n.search_vector) FROM new_rows n "
                "JOIN old_rows o ON o.id = n.id WHERE o.search_terms IS DISTINCT FROM n.search_terms "
                "ON CONFLICT (id) DO UPDATE SET terms = EXCLUDED.terms, levels = EXCLUDED.levels; "
                "END IF; RETURN NULL; END $$"
            ),
            "DROP TRIGGER IF EXISTS entry_match_insert ON entry",
            (
                "CREATE TRIGGER entry_match_insert AFTER INSERT ON entry REFERENCING NEW TABLE AS new_rows "
                "FOR EACH STATEMENT EXECUTE FUNCTION entry_match_rows()"
            ),
            "DROP TRIGGER IF EXISTS entry_match_update ON entry",
            (
                "CREATE TRIGGER entry_match_update AFTER UPDATE ON entry REFERENCING OLD TABLE AS old_rows "
                "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION entry_match_rows()"
            ),
            (
                "INSERT INTO entry_match (id, terms, levels) SELECT id, strip(search_vector), "
                "entry_levels(search_vector) FROM entry ON CONFLICT (id) DO NOTHING"
            ),
            # the ids of (up to `cap`, NULL: all) entries at `level` or above, through GIN indexes
            # (level 3 asks `q` with weight A): the planner would rather scan a table for a common
            # word, not knowing that each row's vector must then be read and decompressed
            (
                "CREATE OR REPLACE FUNCTION entry_ids_at_level(q tsquery, level integer, cap integer) "
                "RETURNS integer[] LANGUAGE plpgsql STABLE PARALLEL SAFE SET enable_seqscan = off AS $$ BEGIN "
                "IF level >= 2 THEN RETURN ARRAY(SELECT id FROM entry_match WHERE levels @@ q LIMIT cap); END IF; "
                "RETURN ARRAY(SELECT id FROM entry_match WHERE terms @@ q LIMIT cap); END $$"
            ),
            "ANALYZE entry_match",
        ]
        await client.execute_script("; ".join(script))


async def drop_levels(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if "postgres" in client.capabilities.dialect:
        await client.execute_script(
            "DROP TABLE IF EXISTS entry_match; "
            "DROP TRIGGER IF EXISTS entry_match_insert ON entry; "
            "DROP TRIGGER IF EXISTS entry_match_update ON entry; "
            "DROP FUNCTION IF EXISTS entry_match_rows(); "
            "DROP FUNCTION IF EXISTS entry_ids_at_level(tsquery, integer, integer); "
            "DROP FUNCTION IF EXISTS entry_levels(tsvector)"
        )


class Migration(migrations.Migration):
    dependencies = [("models", "0005_search_vector")]

    operations = [ops.RunPython(add_levels, drop_levels)]
