"""PostgreSQL: every write to the tables of the public state sends a NOTIFY on `exchange_state`.

The conditional GET's state tag (`exchange.freshness.state_tag`: the newest
change, review event and register date) is kept in each process while its
change follower LISTENs on `exchange_state`. So that no writer can forget to
say so (another worker, the command line, a bulk insert, psql), statement-level
triggers on `change`, `review_event` and `node_state` send the notification
themselves, after every INSERT, UPDATE, DELETE or TRUNCATE. PostgreSQL
delivers it when the transaction commits, drops it on rollback and sends one
per transaction however many statements wrote. SQLite needs nothing here: its
processes keep the tag while the database file and its log stand unchanged.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

TABLES = ("change", "review_event", "node_state")


async def add_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if "postgres" in client.capabilities.dialect:
        script = [
            (
                "CREATE OR REPLACE FUNCTION exchange_state_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "PERFORM pg_notify('exchange_state', ''); RETURN NULL; END $$"
            ),
        ]
        for table in TABLES:
            script += [
                f"DROP TRIGGER IF EXISTS {table}_state_notify ON {table}",
                (
                    f"CREATE TRIGGER {table}_state_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION exchange_state_notify()"
                ),
            ]
        await client.execute_script("; ".join(script))


async def drop_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if "postgres" in client.capabilities.dialect:
        await client.execute_script("; ".join(
            [f"DROP TRIGGER IF EXISTS {table}_state_notify ON {table}" for table in TABLES]
            + ["DROP FUNCTION IF EXISTS exchange_state_notify()"]))


class Migration(migrations.Migration):
    dependencies = [("models", "0013_calls")]

    operations = [ops.RunPython(add_triggers, drop_triggers)]
