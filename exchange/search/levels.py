"""PostgreSQL relevance: an entry's *level*, and the SQL that reads one level at a time.

Relevance differs per dialect. SQLite ranks by FTS5's bm25 over the weighted
terms (title three times, keywords and summary twice, then the text). On
PostgreSQL an entry's relevance is its *level*: how prominently it uses the
least prominent of the searched words, counting the same weighted terms —
3: at least three times (in the title, or in the summary or keywords and the
text, or often in the text), 2: twice (in the summary or keywords), 1: once;
newest first within a level. Sorting every match by `ts_rank` cost 150–600 ms
for a common word at 100,000 entries (it reads and decompresses each match's
whole vector); a level is read from small stored vectors (entry_match, 0006):
a few candidates sorted, or a common word's newest entries, never every
match (`build_level_query`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from content import tsquery
from exchange.auth import Actor
from exchange.search.filters import EntryQuery, _entry_columns, _Params, _where

# PostgreSQL relevance levels: entry_match.levels holds the lexemes of search_terms occurring
# at least twice, those at least three times with weight A (0006); search_vector all (0005)
LEVELS = (3, 2, 1)
TOP_LEVEL = 3
LEVEL_WINDOW = 2000  # ... of this many entries, before all its matches are gathered


def _levelled(q: EntryQuery) -> bool:
    """Whether a query is ordered by relevance levels (on PostgreSQL): relevance with searchable terms."""
    return q.effective_order == "relevance" and tsquery(q.text or "") is not None


def weighted(expr: str) -> str:
    """A `content.tsquery` expression with every term restricted to weight A (level 3).

    The expression holds only terms of ``[a-z0-9äöüß]``, ``:*``, operators,
    parentheses and spaces (see `content.tsquery`).
    """
    return re.sub(r"([a-z0-9äöüß]+)(:\*)?", lambda m: m.group(1) + (":*A" if m.group(2) else ":A"), expr)


class _LevelText:
    """The placeholders of a text search by level, added to the parameters when first used.

    PostgreSQL cannot type a placeholder that the SQL never mentions.
    """

    def __init__(self, expr: str, p: _Params) -> None:
        self.expr, self.p = expr, p
        self.placeholders: dict[bool, str] = {}

    def query(self, *, weighted_a: bool) -> str:
        if weighted_a not in self.placeholders:
            self.placeholders[weighted_a] = self.p.add(weighted(self.expr) if weighted_a else self.expr)
        return f"to_tsquery('simple', {self.placeholders[weighted_a]})"

    def at_least(self, level: int) -> str:
        """Whether `entry e` (with its `entry_match m`) is of `level` or above."""
        if level == 1:
            return f"e.search_vector @@ {self.query(weighted_a=False)}"
        return f"m.levels @@ {self.query(weighted_a=level == TOP_LEVEL)}"

    def exactly(self, level: int, *, base: bool = True) -> str:
        """Whether `entry e` is of exactly `level`; without `base`, only that it is not above.

        The test of the higher level comes first: AND stops at the first false,
        and m.levels is small, unlike search_vector.
        """
        parts = [] if level == TOP_LEVEL else [f"NOT {self.at_least(level + 1)}"]
        if base:
            parts.append(self.at_least(level))
        return " AND ".join(parts) or "true"


def build_level_ids(text: str, level: int, limit: int | None) -> tuple[str, list[Any]] | None:
    """PostgreSQL: SQL for the ids of up to `limit` entries (all with None) at `level` or above.

    Through the level's GIN index, unordered and unfiltered (`entry_ids_at_level`,
    migration 0006); None when the text has no searchable terms.
    """
    expr = tsquery(text)
    if expr is None:
        return None
    return "SELECT entry_ids_at_level(to_tsquery('simple', $1), $2, $3) AS ids", [
        weighted(expr) if level == TOP_LEVEL else expr, level, limit]


def build_level_query(
    q: EntryQuery,
    actor: Actor | None,
    *,
    level: int,
    limit: int,
    after: tuple[Any, int] | None = None,
    ids: list[int] | None = None,
    window: bool = False,
    leave_out: frozenset[str] = frozenset(),
) -> tuple[str, list[Any]]:
    """PostgreSQL: SQL for the newest `limit` entries of one relevance level, after a cursor.

    The cursor is ((level, updated_at), id); rows carry `updated_at` as their
    sort key. The planner is not left to choose between walking the date index
    and gathering the matches through a GIN index: its estimates of a level's
    share are poor (a lower level excludes the higher ones with `NOT … @@`,
    which it takes to be independent of its own matches, and a word absent
    from a level is still guessed at 0.5 %), and a wrong walk reads the whole
    table (70–300 ms at 100,000 entries). Instead:

    - by default, the candidates are the ids at the level or above, `ids` when
      the caller fetched them already (`build_level_ids`), else all of them;
      they are filtered and sorted behind an `OFFSET 0` fence, so that no walk
      of the date index is planned around them;
    - with `window`, only the `LEVEL_WINDOW` newest entries after the cursor
      that pass the filters are looked at: cheap for a common word, and exact
      when it yields `limit` rows (the level's entries outside the window are
      older than all inside).
    """
    expr = tsquery(q.text or "")
    if expr is None:
        raise ValueError("a relevance level needs a text with searchable terms")
    p = _Params("postgres")
    text = _LevelText(expr, p)
    conds, _ = _where(replace(q, text=None), actor, p)
    if after is not None:
        (_, when), last_id = after
        conds.append(f"(e.updated_at, e.id) < ({p.add(when)}, {p.add(last_id)})")
    columns = f"{_entry_columns(leave_out)}, e.updated_at AS sort_key"
    if window:
        inner = (
            f"SELECT e.id, e.updated_at, {text.exactly(level)} AS hit FROM entry e "
            f"JOIN entry_match m ON m.id = e.id WHERE {' AND '.join(conds)} "
            f"ORDER BY e.updated_at DESC, e.id DESC LIMIT {p.add(LEVEL_WINDOW)}"
        )
        return (
            f"SELECT {columns} FROM ({inner}) w JOIN entry e ON e.id = w.id WHERE w.hit "
            f"ORDER BY w.updated_at DESC, w.id DESC LIMIT {p.add(limit)}"
        ), p.values
    if ids is None:
        candidates = f"entry_ids_at_level({text.query(weighted_a=level == TOP_LEVEL)}, {p.add(level)}, NULL)"
    else:
        candidates = f"{p.add(ids)}::integer[]"
    where = " AND ".join([text.exactly(level, base=False), *conds])
    return (
        f"SELECT * FROM (SELECT {columns} FROM unnest({candidates}) AS c(id) JOIN entry e ON e.id = c.id "
        f"JOIN entry_match m ON m.id = c.id WHERE {where} OFFSET 0) s "
        f"ORDER BY s.sort_key DESC, s.id DESC LIMIT {p.add(limit)}"
    ), p.values
