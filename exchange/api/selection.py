"""What a request selected: the fields below a field, through fragments.

A page of entries reads only what the query shows: `unselected_texts` names
the long texts no selected field needs (`LONG_TEXTS` of the search), and
`selected_fields` walks the selection sets of the request's document.
"""

from __future__ import annotations

from strawberry import Info

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

# The GraphQL fields that show each long text of an entry (search_terms none: it is internal)
_TEXT_FIELDS = {"body_markdown": "bodyMarkdown", "body_html": "bodyHtml", "what_worked": "whatWorked",
                "what_did_not": "whatDidNot", "transfer_preconditions": "transferPreconditions",
                "costs_staffing": "costsStaffing", "search_terms": None}


def unselected_texts(wanted: set[str]) -> frozenset[str]:
    """The long texts of entries a page need not read: those whose field is not selected."""
    return frozenset(column for column, field in _TEXT_FIELDS.items() if field not in wanted)


def selected_fields(info: Info, *path: str) -> set[str]:
    """Names of the fields selected below this field along `path` (through fragments)."""
    raw = info._raw_info
    level: list[SelectionSetNode] = [n.selection_set for n in raw.field_nodes if n.selection_set]
    for step in (*path, None):
        found: dict[str, list[FieldNode]] = {}
        stack = list(level)
        while stack:
            for sel in stack.pop().selections:
                if isinstance(sel, FieldNode):
                    found.setdefault(sel.name.value, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    stack.append(sel.selection_set)
                elif isinstance(sel, FragmentSpreadNode) and sel.name.value in raw.fragments:
                    stack.append(raw.fragments[sel.name.value].selection_set)
        if step is None:
            return set(found)
        level = [f.selection_set for f in found.get(step, []) if f.selection_set]
    return set()
