"""Who may read which entry, and which of its versions, on this node.

Public entries to all; network and local entries to signed-in members; drafts to
their publisher's own people only. `search.filters.visibility_clause` is the same
rule in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from exchange.auth import Actor
from exchange.models import Entry, Revision

__all__ = ["may_see", "may_see_version", "visible_revisions"]


def may_see(entry: Entry, actor: Actor | None) -> bool:
    """Who sees what on this node: public to all, network and local to signed-in members,
    drafts to their publisher only (`search.visibility_clause` is the same rule in SQL)."""
    return may_see_version(entry, entry.visibility, actor)


def may_see_version(entry: Entry, visibility: object, actor: Actor | None) -> bool:
    """Whether the actor may see a version of `entry` that was stored with `visibility`:
    the rule of `may_see`, judged for that version (an entry once local and now public
    keeps its local versions from anonymous readers)."""
    if visibility == "public":
        return True
    if actor is None or actor.publisher is None:
        return False
    if visibility in ("network", "local"):
        return True
    p = actor.publisher
    return (p.kind == "municipality" and entry.municipality_id == p.id) or (
        p.kind == "organisation" and entry.organisation_id == p.id
    )


def visible_revisions(entry: Entry, revisions: Sequence[Revision], actor: Actor | None) -> list[Revision]:
    """The stored versions of `entry` the actor may see, each judged by its own visibility."""
    return [r for r in revisions if may_see_version(entry, r.envelope.get("visibility"), actor)]
