"""How fresh the public state of this node is, in one short string.

Everything an anonymous reader can see changes only through a few kinds of
write: an entry version or a curation record stored (each adds a row to the
change feed), a review decision (a review event), or a new municipality
register (`node_state.register_date`). `state_tag` reads the newest of each in
one statement; equal tags mean equal public data, so a reader's copy made
under a tag is still right while the tag stands. The conditional GET
(`exchange.conditional`) builds its ETags on it.

Personal state (sessions, tokens, checklists, who signed in) is not covered:
answers for signed-in people are never tagged.
"""

from __future__ import annotations

from exchange.db import current_connection

__all__ = ["state_tag"]

_STATE_SQL = (
    "SELECT (SELECT max(seq) FROM change) AS c, (SELECT max(id) FROM review_event) AS r, "
    "(SELECT max(value) FROM node_state WHERE key = 'register_date') AS g"
)


async def state_tag() -> str:
    """'<newest change>.<newest review event>.<register date>' of the current database."""
    _, rows = await current_connection().execute_query(_STATE_SQL)
    row = dict(rows[0]) if rows else {}
    return f"{row.get('c') or 0}.{row.get('r') or 0}.{row.get('g') or ''}"
