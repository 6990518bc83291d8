"""Answers between three nodes as real processes: a call on A, B answers, C (a peer of both) never sees it.

The answer reaches A through B's hint and A's pull within 5 s; B's withdrawal
travels the same way; A closes the call and B shows it closed after syncing.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.federation.test_processes import ProcNode, nodes  # noqa: F401 - the fixture

CALLER, ANSWERER = "010010000000", "097800146146"  # Flensburg on A, Wiggensbach on B


def gql(node: ProcNode, token: str | None, query: str, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.post(node.url + "/graphql", headers=headers, timeout=30, json={"query": query, "variables": variables})
    body = r.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def wait_for(check: Any, seconds: float) -> float:
    """Seconds until `check()` is true; fails after `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


@pytest.mark.slow
def test_an_answer_goes_from_b_to_a_only(nodes: dict[str, ProcNode]) -> None:  # noqa: F811
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    for x, y in ((a, b), (a, c), (b, c)):
        x.cli("peers", "add", y.url)
        y.cli("peers", "add", x.url)
    caller = a.cli("tokens", "create", "--publisher", CALLER).stdout.strip()
    answerer = b.cli("tokens", "create", "--publisher", ANSWERER).stdout.strip()
    call = gql(a, caller, """mutation($input: PublishEntryInput!) { publishEntry(input: $input) { entry { id } } }""",
               input={"kind": "CALL", "title": "Gemeinsame Beschaffung", "summary": "Partner gesucht.",
                      "call": {"form": "JOINT_PROCUREMENT", "deadline": "2099-12-31"}})["publishEntry"]["entry"]["id"]
    b.cli("sync", "--peer", a.url)
    c.cli("sync", "--peer", a.url)

    answer = gql(b, answerer, """mutation($id: ID!) { answerCall(callId: $id, message: "Wir sind dabei.",
        contactRole: "Hauptamt") { answer { id } } }""", id=call)["answerCall"]["answer"]["id"]
    took = wait_for(lambda: a.rows(f"SELECT state FROM call_answer WHERE uid = '{answer}'") == [("active",)], 5.0)
    seen = gql(a, caller, """query($id: ID!) { entry(id: $id) { ... on Call { answers { id message withdrawn
        publisherKey delivered } } } }""", id=call)["entry"]["answers"]
    assert seen == [{"id": answer, "message": "Wir sind dabei.", "withdrawn": False, "publisherKey": ANSWERER,
                     "delivered": True}]
    wait_for(lambda: b.rows(f"SELECT confirmed_version FROM call_answer WHERE uid = '{answer}'") == [(1,)], 5.0)

    gql(b, answerer, """mutation($id: ID!) { withdrawAnswer(id: $id) { answer { version } } }""", id=answer)
    wait_for(lambda: a.rows(f"SELECT state, version FROM call_answer WHERE uid = '{answer}'") == [("withdrawn", 2)],
             5.0)

    # C, a peer of both, pulls everything it may: no answer reaches it, not even relayed
    c.cli("sync")
    assert c.rows("SELECT uid FROM call_answer") == []
    assert a.rows("SELECT count(*) FROM call_refusal") == [(0,)]

    gql(a, caller, """mutation($id: ID!) { closeCall(id: $id, state: FILLED, reason: "Gefunden.") {
        entry { version } } }""", id=call)
    b.cli("sync", "--peer", a.url)
    state = gql(b, None, """query($id: ID!) { entry(id: $id) { ... on Call { state closeReason } } }""", id=call)
    assert state["entry"] == {"state": "FILLED", "closeReason": "Gefunden."}
    print(f"answer delivered in {took:.2f} s")
