"""Withdrawal across three real nodes: A publishes, B pulls A, C pulls B (trusting B's relays).
Once A withdraws the entry and the others sync, no node gives its text back: not through
GraphQL, the pages, search, feeds or exports, and no table of any node's database holds it
(only what a tombstone needs stays: id, origin, version, publisher, kind, time)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.federation.test_processes import KEY, ProcNode, nodes  # noqa: F401 - the fixture

MARK = "Zebrafinkenprojekt"
PUBLISH = """mutation P($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id version } } }"""
UNPUBLISH = """mutation U($id: ID!) { unpublishEntry(id: $id) { entry { id deleted } } }"""
ENTRY = """query E($id: ID!) { entry(id: $id) { id deleted title summary bodyMarkdown
  ... on ProjectDescription { fundingProgramme partners goals { goal indicators { name measurements { value } } } }
  contact { role email } } }"""
SEARCH = """query S($text: String!) { entries(filter: {text: $text}) { totalCount edges { node { id title } } } }"""


def _graphql(node: ProcNode, query: str, variables: dict[str, object], token: str | None = None) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.post(node.url + "/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def _readable(node: ProcNode, uid: str) -> list[str]:
    """Every place of `node` that still shows the mark: answers and database tables."""
    found = []
    answers = {
        "graphql entry": json.dumps(_graphql(node, ENTRY, {"id": uid}), ensure_ascii=False),
        "graphql search": json.dumps(_graphql(node, SEARCH, {"text": MARK}), ensure_ascii=False),
    }
    for path in (f"/entries/{uid}", f"/search?q={MARK}", "/search", "/feeds/all.atom",
                 f"/feeds/publishers/{KEY}.atom", "/catalog", "/catalog.csv", "/catalog.jsonl",
                 f"/entries/{uid}.md", f"/entries/{uid}.html", f"/entries/{uid}/versions",
                 f"/municipalities/{KEY}"):
        r = httpx.get(node.url + path, headers={"Accept": "text/html"}, timeout=30)
        assert r.status_code in (200, 404, 410), (node.name, path, r.status_code)
        answers[path] = r.text
    for where, text in answers.items():
        if "search" in where:  # the search page repeats what was asked; a result would show title or summary
            text = text.replace(MARK, "")
        if any(mark.lower() in text.lower() for mark in (MARK, "im Dorf", "zählt Vögel")):
            found.append(f"{node.name}: {where}")
    tables = [str(r[0]) for r in node.rows("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in node.rows(f'SELECT * FROM "{table}"'):
            text = " ".join(c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c) for c in row)
            if MARK.lower()[:8] in text.lower():
                found.append(f"{node.name}: table {table}")
                break
    return found


@pytest.mark.slow
def test_a_withdrawn_entry_is_gone_from_three_nodes(nodes: dict[str, ProcNode]) -> None:  # noqa: F811
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    b.cli("peers", "add", a.url)
    a.cli("peers", "add", b.url)
    c.cli("peers", "add", b.url, "--trust-relayed")
    b.cli("peers", "add", c.url)
    token = a.cli("tokens", "create", "--publisher", KEY).stdout.strip()
    made = _graphql(a, PUBLISH, {"input": {
        "kind": "PROJECT", "title": f"{MARK} im Dorf", "summary": f"Das {MARK} zählt Vögel.",
        "bodyMarkdown": f"## Ablauf\n\nDas {MARK} begann 2024.", "language": "de", "visibility": "PUBLIC",
        "status": "RUNNING", "periodStart": "2024-01", "fundingProgramme": f"{MARK}-Förderung",
        "partners": [f"{MARK} e. V."], "contactRole": f"Stabsstelle {MARK}",
        "contactEmail": "vogel@example.org",
        "goals": [{"goal": f"{MARK}: mehr Vögel", "indicators": [
            {"name": f"Vögel im {MARK}", "unit": "Anzahl", "baseline": 10, "target": 20,
             "measurements": [{"date": "2024-06-01", "value": 14}]}]}],
    }}, token)
    uid = str(made["publishEntry"]["entry"]["id"])  # type: ignore[index]
    b.cli("sync", "--peer", a.url)
    c.cli("sync", "--peer", b.url)
    for node in (a, b, c):  # the test can fail: before the withdrawal every node shows the text
        shown = json.dumps(_graphql(node, ENTRY, {"id": uid}), ensure_ascii=False)
        assert f"{MARK} im Dorf" in shown and f"Vögel im {MARK}" in shown, (node.name, shown)
    assert _graphql(c, SEARCH, {"text": MARK})["entries"]["totalCount"] == 1  # type: ignore[index]

    _graphql(a, UNPUBLISH, {"id": uid}, token)
    b.cli("sync", "--peer", a.url)
    c.cli("sync", "--peer", b.url)

    for node in (a, b, c):
        entry = _graphql(node, ENTRY, {"id": uid})["entry"]
        assert entry is None or entry["deleted"] is True, (node.name, entry)  # type: ignore[index]
        kept = node.rows(f"SELECT origin_node, version, kind, deleted FROM entry WHERE uid = '{uid}'"
                         if node.database_url.startswith("sqlite") else
                         f"SELECT origin_node, version, kind, deleted FROM entry WHERE uid = '{uid}'::uuid")
        assert [tuple(r) for r in kept] == [(a.url, 2, "project", 1)], (node.name, kept)  # the tombstone
    leaks = [place for node in (a, b, c) for place in _readable(node, uid)]
    assert not leaks, leaks
