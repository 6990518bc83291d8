"""Merge rules: what a node does with an incoming, already verified entry version.

The decision depends only on what we hold for the entry id (`Held`, or None),
the incoming `SignedEnvelope` and our own node URL. Versions are ordered per
entry by the pair (version, kind): a higher version always wins (a
tombstone deletes, an entry after a tombstone is a resurrection by the origin),
and at the same version a tombstone beats an entry, so a tombstone at v beats
an entry at v or below; a withdrawal for non-members (a version that became
`network`) ranks below the entry of its version, so it removes an older
public copy but never the live copy members hold, whatever order they get
both in. A rank equal to what we hold with equal content is a
duplicate (SKIP_SAME, which makes re-applying a batch a no-op); equal rank with
different content means the origin (or a thief of its key) signed two
different things under one version: REFUSE_CONFLICT. An entry id never changes
origin (REFUSE_ORIGIN_MISMATCH), and a node never takes a changed copy of its
own entries from others (REFUSE_OWN). Whether a refusal spoils a whole batch is
the caller's policy (`federation/sync.py`); these functions only decide.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from exchange.withdrawal import bare_tombstone
from federation.protocol import SignedEnvelope, envelope_digest

__all__ = ["Action", "Decision", "Held", "decide", "is_network_withdrawal", "merge_batch"]


class Action(enum.Enum):
    APPLY = "apply"
    SKIP_OLDER = "skip_older"
    SKIP_SAME = "skip_same"
    REFUSE_OWN = "refuse_own"
    REFUSE_ORIGIN_MISMATCH = "refuse_origin_mismatch"
    REFUSE_CONFLICT = "refuse_conflict"

    @property
    def is_refusal(self) -> bool:
        return self.name.startswith("REFUSE_")


def is_network_withdrawal(envelope: Mapping[str, Any]) -> bool:
    """A withdrawal meant for non-members only (members hold the live version): a bare
    tombstone marked `withdrawn`, with visibility `network`."""
    body = envelope.get("entry")
    return (envelope.get("type") == "tombstone" and envelope.get("visibility") == "network"
            and isinstance(body, dict) and body.get("withdrawn") is True)


class Held(NamedTuple):
    """What we store for an entry id: its origin, version, kind and content digest.

    `kind` orders what can stand at one version: 0 a withdrawal for non-members
    (members hold the live version), 1 the entry, 2 a tombstone.
    """

    origin: str
    version: int
    kind: int
    digest: str

    @classmethod
    def of(cls, signed: SignedEnvelope) -> Held:
        kind = 0 if is_network_withdrawal(signed.envelope) else 2 if signed.is_tombstone else 1
        # A tombstone is compared without content: nodes keep it bare (exchange.withdrawal),
        # and one that still carries content withdraws the same version all the same.
        digest = envelope_digest(bare_tombstone(signed.envelope)) if kind == 2 else signed.digest
        return cls(signed.origin, signed.version, kind, digest)

    @property
    def is_tombstone(self) -> bool:
        return self.kind != 1

    @property
    def rank(self) -> tuple[int, int]:
        return (self.version, self.kind)


@dataclass(frozen=True)
class Decision:
    """The action for one incoming envelope, with a reason meant for logs and operators."""

    action: Action
    envelope: SignedEnvelope
    reason: str

    @property
    def entry_id(self) -> str:
        return self.envelope.entry_id


def _describe(rank: tuple[int, int]) -> str:
    return f"{('withdrawal for non-members', 'version', 'tombstone')[rank[1]]} {rank[0]}"


def decide(held: Held | None, incoming: SignedEnvelope, own_url: str) -> Decision:
    """The merge decision for one verified envelope against what we hold."""
    new = Held.of(incoming)
    if held is not None and held.origin != new.origin:
        return Decision(
            Action.REFUSE_ORIGIN_MISMATCH,
            incoming,
            f"entry {incoming.entry_id} belongs to {held.origin}, "
            f"but arrived claiming origin {new.origin}",
        )
    if new.origin == own_url:
        if held is not None and held == new:
            return Decision(Action.SKIP_SAME, incoming, "an identical copy of our own entry")
        return Decision(
            Action.REFUSE_OWN,
            incoming,
            f"entry {incoming.entry_id} is ours; we accept no changed copy of it "
            f"({_describe(new.rank)}) from others",
        )
    if held is None:
        return Decision(Action.APPLY, incoming, f"new entry at {_describe(new.rank)}")
    if new.rank > held.rank:
        return Decision(
            Action.APPLY, incoming, f"{_describe(new.rank)} replaces {_describe(held.rank)}"
        )
    if new.rank < held.rank:
        return Decision(
            Action.SKIP_OLDER,
            incoming,
            f"{_describe(new.rank)} is older than {_describe(held.rank)}",
        )
    if new.digest == held.digest:
        return Decision(Action.SKIP_SAME, incoming, f"already hold {_describe(new.rank)}")
    return Decision(
        Action.REFUSE_CONFLICT,
        incoming,
        f"entry {incoming.entry_id} {_describe(new.rank)} differs from the copy we hold "
        f"under the same version: {new.origin} signed two different contents",
    )


def merge_batch(
    held: Mapping[str, Held], incoming: Sequence[SignedEnvelope], own_url: str
) -> list[Decision]:
    """Decisions for a batch, one per incoming envelope, in the batch's order.

    Envelopes are decided in order against what we hold updated by the batch
    so far, so a conflict inside the batch is found too. When one id is applied
    several times, only its last (newest) application stays APPLY; the earlier
    ones become SKIP_OLDER, so the store writes each id at most once.
    """
    state: dict[str, Held] = {}
    decisions: list[Decision] = []
    last_apply: dict[str, int] = {}
    for signed in incoming:
        entry_id = signed.entry_id
        current = state.get(entry_id, held.get(entry_id))
        decision = decide(current, signed, own_url)
        if decision.action is Action.APPLY:
            state[entry_id] = Held.of(signed)
            earlier = last_apply.get(entry_id)
            if earlier is not None:
                superseded = decisions[earlier]
                decisions[earlier] = Decision(
                    Action.SKIP_OLDER,
                    superseded.envelope,
                    f"superseded in the same batch by {_describe(state[entry_id].rank)}",
                )
            last_apply[entry_id] = len(decisions)
        decisions.append(decision)
    return decisions
