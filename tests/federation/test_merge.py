"""Merge rules: one table per rule set, and convergence as a property."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.merge import Action, Held, decide, merge_batch
from federation.protocol import SignedEnvelope

OWN = "https://own.example"
PEER = "https://peer.example"
THIRD = "https://third.example"


def env(
    version: int,
    tomb: bool = False,
    origin: str = PEER,
    entry_id: str = "e-1",
    text: str = "",
) -> SignedEnvelope:
    """An envelope (unsigned: merge only sees verified ones); content follows the rank."""
    envelope: dict[str, Any] = {
        "type": "tombstone" if tomb else "entry",
        "id": entry_id,
        "origin": origin,
        "version": version,
        "visibility": "public",
        "updatedAt": f"2025-01-01T00:00:{version % 60:02d}+00:00",
        "entry": {} if tomb else {"title": text or f"v{version}"},
    }
    return SignedEnvelope(envelope, "signature")


def held(version: int, tomb: bool = False, origin: str = PEER, text: str = "") -> Held:
    return Held.of(env(version, tomb, origin, text=text))


def withdrawal(version: int, origin: str = PEER) -> SignedEnvelope:
    """What non-members get when a public entry becomes `network` at `version`."""
    signed = env(version, True, origin)
    return SignedEnvelope({**signed.envelope, "visibility": "network",
                           "entry": {"kind": "project", "withdrawn": True}}, "signature")


A = Action
CASES = [
    # what we hold, what arrives, decision
    pytest.param(None, env(1), A.APPLY, id="new-entry"),
    pytest.param(None, env(4, tomb=True), A.APPLY, id="new-tombstone"),
    pytest.param(held(1), env(2), A.APPLY, id="newer-wins"),
    pytest.param(held(1), env(5), A.APPLY, id="newer-with-gap-wins"),
    pytest.param(held(2), env(1), A.SKIP_OLDER, id="older-never-overwrites"),
    pytest.param(held(2), env(2), A.SKIP_SAME, id="duplicate"),
    pytest.param(
        held(2), env(2, text="forged"), A.REFUSE_CONFLICT, id="same-version-other-content"
    ),
    pytest.param(held(2), env(3, tomb=True), A.APPLY, id="tombstone-beats-older"),
    pytest.param(held(2), env(2, tomb=True), A.APPLY, id="tombstone-beats-same-version"),
    pytest.param(held(3), env(2, tomb=True), A.SKIP_OLDER, id="older-tombstone-skipped"),
    pytest.param(held(2, tomb=True), env(1), A.SKIP_OLDER, id="entry-below-tombstone"),
    pytest.param(held(2, tomb=True), env(2), A.SKIP_OLDER, id="entry-at-tombstone-version"),
    pytest.param(held(2, tomb=True), env(3), A.APPLY, id="resurrection-by-origin"),
    pytest.param(held(2, tomb=True), env(2, tomb=True), A.SKIP_SAME, id="duplicate-tombstone"),
    pytest.param(held(2, tomb=True), env(1, tomb=True), A.SKIP_OLDER, id="older-tombstone"),
    pytest.param(held(1), withdrawal(2), A.APPLY, id="withdrawal-removes-older-public-copy"),
    pytest.param(held(2), withdrawal(2), A.SKIP_OLDER, id="withdrawal-below-live-version"),
    pytest.param(Held.of(withdrawal(2)), env(2), A.APPLY, id="live-version-beats-withdrawal"),
    pytest.param(Held.of(withdrawal(2)), env(2, tomb=True), A.APPLY, id="tombstone-beats-withdrawal"),
    pytest.param(held(2, tomb=True), withdrawal(2), A.SKIP_OLDER, id="withdrawal-below-tombstone"),
    pytest.param(Held.of(withdrawal(2)), withdrawal(2), A.SKIP_SAME, id="duplicate-withdrawal"),
    pytest.param(Held.of(withdrawal(2)), env(3), A.APPLY, id="newer-version-after-withdrawal"),
    pytest.param(held(1, origin=THIRD), env(2), A.REFUSE_ORIGIN_MISMATCH, id="origin-changes"),
    pytest.param(held(3, origin=THIRD), env(1), A.REFUSE_ORIGIN_MISMATCH, id="origin-changes-old"),
    pytest.param(held(1, origin=OWN), env(2), A.REFUSE_ORIGIN_MISMATCH, id="peer-claims-ours"),
    pytest.param(held(1), env(2, origin=OWN), A.REFUSE_ORIGIN_MISMATCH, id="ours-claims-peers"),
    pytest.param(held(2, origin=OWN), env(2, origin=OWN), A.SKIP_SAME, id="own-identical"),
    pytest.param(held(2, True, OWN), env(2, True, OWN), A.SKIP_SAME, id="own-identical-tombstone"),
    pytest.param(held(2, origin=OWN), env(3, origin=OWN), A.REFUSE_OWN, id="own-newer"),
    pytest.param(held(2, origin=OWN), env(1, origin=OWN), A.REFUSE_OWN, id="own-older"),
    pytest.param(held(2, origin=OWN), env(2, origin=OWN, text="x"), A.REFUSE_OWN, id="own-changed"),
    pytest.param(held(2, origin=OWN), env(3, True, OWN), A.REFUSE_OWN, id="own-tombstoned"),
    pytest.param(None, env(1, origin=OWN), A.REFUSE_OWN, id="own-unknown-to-us"),
]


@pytest.mark.parametrize(("current", "incoming", "action"), CASES)
def test_decide(current: Held | None, incoming: SignedEnvelope, action: Action) -> None:
    decision = decide(current, incoming, OWN)
    assert decision.action is action
    assert decision.envelope is incoming
    assert decision.entry_id == "e-1"
    assert decision.reason
    assert decision.action.is_refusal == action.name.startswith("REFUSE")


@pytest.mark.parametrize(
    ("batch", "actions"),
    [
        pytest.param([env(2), env(3)], [A.SKIP_OLDER, A.APPLY], id="only-newest-applies"),
        pytest.param([env(3), env(2)], [A.APPLY, A.SKIP_OLDER], id="newest-first"),
        pytest.param(
            [env(2), env(3), env(4)], [A.SKIP_OLDER, A.SKIP_OLDER, A.APPLY], id="three-versions"
        ),
        pytest.param([env(2), env(2)], [A.APPLY, A.SKIP_SAME], id="duplicate-in-batch"),
        pytest.param(
            [env(2), env(2, text="x")], [A.APPLY, A.REFUSE_CONFLICT], id="conflict-in-batch"
        ),
        pytest.param([env(3), env(3, tomb=True)], [A.SKIP_OLDER, A.APPLY], id="tombstone-in-batch"),
        pytest.param([env(1)], [A.SKIP_SAME], id="already-held"),
        pytest.param([env(2, entry_id="e-2"), env(3)], [A.APPLY, A.APPLY], id="two-ids"),
        pytest.param([env(1, origin=OWN, entry_id="e-9")], [A.REFUSE_OWN], id="own"),
    ],
)
def test_merge_batch(batch: list[SignedEnvelope], actions: list[Action]) -> None:
    decisions = merge_batch({"e-1": held(1)}, batch, OWN)
    assert [d.action for d in decisions] == actions
    assert [d.envelope for d in decisions] == batch


def test_superseded_reason_is_explained() -> None:
    first, _ = merge_batch({}, [env(2), env(3)], OWN)
    assert "superseded in the same batch" in first.reason


def _apply(state: dict[str, Held], batch: list[SignedEnvelope]) -> int:
    applied = 0
    for decision in merge_batch(state, batch, OWN):
        assert not decision.action.is_refusal, decision.reason
        if decision.action is Action.APPLY:
            state[decision.entry_id] = Held.of(decision.envelope)
            applied += 1
    return applied


versions = st.lists(
    st.tuples(st.sampled_from(["e-1", "e-2", "e-3"]), st.integers(1, 6), st.sampled_from([0, 1, 2])),
    min_size=1,
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(items=versions, data=st.data())
def test_any_order_converges_and_batches_are_idempotent(
    items: list[tuple[str, int, int]], data: st.DataObject
) -> None:
    def make(entry_id: str, version: int, kind: int) -> SignedEnvelope:
        """kind 0: a withdrawal for non-members, 1: the entry, 2: a tombstone"""
        if kind == 0:
            signed = withdrawal(version)
            return SignedEnvelope({**signed.envelope, "id": entry_id}, "signature")
        return env(version, kind == 2, entry_id=entry_id)
    envelopes = [make(entry_id, v, kind) for entry_id, v, kind in items]
    expected = {
        entry_id: max(
            (Held.of(e) for e in envelopes if e.entry_id == entry_id), key=lambda h: h.rank
        )
        for entry_id in {e.entry_id for e in envelopes}
    }
    order = data.draw(st.permutations(envelopes))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=4)))
    batches = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    state: dict[str, Held] = {}
    for batch in batches:
        _apply(state, batch)
    assert state == expected
    for batch in batches:  # applying any batch again changes nothing
        assert _apply(state, batch) == 0
    assert state == expected
    # one id is written at most once per batch
    for batch in batches:
        applied = [d.entry_id for d in merge_batch({}, batch, OWN) if d.action is Action.APPLY]
        assert len(applied) == len(set(applied))
