"""Withdrawn content is gone: empty what entries withdrawn before this release still hold.

Until now a withdrawn entry kept its content hidden: the row's texts, its topics,
every earlier version, and a tombstone carrying the whole entry. This empties
the rows' content columns and topics (and the SQLite search index), turns the
earlier versions into stubs (`exchange.withdrawal.revision_stub`) and each
tombstone into its bare form without a signature. The node signs its own bare
tombstones again when it starts (`Catalogue.seal_tombstones`); a peer's stays
unsigned here and is not relayed (the origin's feed still serves it). Nothing to
undo: the content is not kept anywhere.
"""

import json

from tortoise import migrations
from tortoise.migrations import operations as ops

from exchange.withdrawal import CONTENT_BLANK, bare_tombstone, is_bare, revision_stub

# Content columns that later migrations add (0014: a budget's currency, 0013: a call's terms): not there yet when this runs.
LATER_COLUMNS = frozenset({"budget_currency", "call"})


async def purge_withdrawn(client) -> int:  # type: ignore[no-untyped-def]
    """Empty the content of every withdrawn entry; returns how many there were."""
    postgres = "postgres" in client.capabilities.dialect

    def mark(n: int) -> str:
        return f"${n}" if postgres else "?"

    true = "true" if postgres else "1"
    _, rows = await client.execute_query(f"SELECT id, version FROM entry WHERE deleted = {true}")
    current = {int(dict(r)["id"]): int(dict(r)["version"]) for r in rows}
    if not current:
        return 0
    blank = []
    for name, value in CONTENT_BLANK.items():
        if name in LATER_COLUMNS:
            continue
        if isinstance(value, list):
            blank.append(f"{name} = '[]'")
        elif value is None:
            blank.append(f"{name} = NULL")
        else:
            blank.append(f"{name} = ''")
    await client.execute_script(
        f"UPDATE entry SET {', '.join(blank)} WHERE deleted = {true}; "
        f"DELETE FROM entry_topic WHERE entry_id IN (SELECT id FROM entry WHERE deleted = {true})"
    )
    if not postgres:
        await client.execute_script(
            f"DELETE FROM entry_fts WHERE rowid IN (SELECT id FROM entry WHERE deleted = {true})"
        )
    _, revisions = await client.execute_query(
        f"SELECT r.id, r.entry_id, r.version, r.envelope FROM revision r JOIN entry e ON e.id = r.entry_id "
        f"WHERE e.deleted = {true}"
    )
    for row in map(dict, revisions):
        envelope = row["envelope"]
        envelope = json.loads(envelope) if isinstance(envelope, (str, bytes)) else dict(envelope)
        if int(row["version"]) < current[int(row["entry_id"])]:
            kept = revision_stub(envelope)
        elif envelope.get("type") == "tombstone" and not is_bare(envelope):
            kept = bare_tombstone(envelope)
        else:
            continue
        if kept != envelope:
            await client.execute_query(
                f"UPDATE revision SET envelope = {mark(1)}, signature = '' WHERE id = {mark(2)}",
                [json.dumps(kept, separators=(",", ":")), int(row["id"])],
            )
    return len(current)


async def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await purge_withdrawn(schema_editor.client)


async def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    return None  # the content is gone; nothing to restore


class Migration(migrations.Migration):
    dependencies = [("models", "0010_accounts")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
