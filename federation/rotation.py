"""Key rotation: a node's new key, announced with the signature of its old one.

`exchange keys rotate` makes a new key and a statement `{node, oldKey,
newKey, at}` signed by the old key; the node serves it in its descriptor
(`keyRotation`). A peer that has the old key pinned and sees the new key
accepts it without `--confirm-key-change` when the statement names this node,
the pinned key as old and the presented key as new, and the pinned key signed
it. Anything else (no statement, one signed by another key, one for another
key or node) is refused as before: a new key then needs its operator's word.
A compromised key is revoked by rotating without an announcement
(`--compromised`): the old key signs nothing, so peers re-pin only after
asking, and from then on refuse what the old key signs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exchange.envelope import canonical_json
from exchange.errors import ConflictError
from federation.identity import NodeKey, verify

FIELDS = ("node", "oldKey", "newKey", "at")


def statement_path(key_file: Path) -> Path:
    """Where the rotation statement lives: beside the key file."""
    return key_file.with_name(key_file.name + ".rotation.json")


def current_statement(key_file: Path, key: NodeKey) -> dict[str, Any] | None:
    """The stored statement, if it announces `key` (a stale one of an earlier rotation is not served)."""
    path = statement_path(key_file)
    try:
        statement = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return statement if isinstance(statement, dict) and statement.get("newKey") == key.public_key_b64 else None


def announce(old: NodeKey, new: NodeKey, at: str) -> dict[str, Any]:
    """The statement that `new` follows `old`, signed by `old`."""
    body = {"node": old.node_url, "oldKey": old.public_key_b64, "newKey": new.public_key_b64, "at": at}
    return {**body, "signature": old.sign(canonical_json(body))}


def accepts(statement: object, *, node: str, pinned_key: str, presented_key: str) -> bool:
    """Whether `statement` moves `node` from its pinned key to the presented one, signed by the pinned key."""
    if not isinstance(statement, dict) or not all(isinstance(statement.get(f), str) for f in (*FIELDS, "signature")):
        return False
    body = {f: statement[f] for f in FIELDS}
    if (body["node"], body["oldKey"], body["newKey"]) != (node, pinned_key, presented_key):
        return False
    return verify(pinned_key, canonical_json(body), str(statement["signature"]))


def check_key_change(statement: object, *, node: str, pinned_key: str, pinned_id: str,
                     presented_key: str, presented_id: str) -> None:
    """Raise ConflictError unless a rotation statement vouches for the new key."""
    if accepts(statement, node=node, pinned_key=pinned_key, presented_key=presented_key):
        return
    why = ("announces a key rotation that key {old} did not sign" if statement is not None
           else "presents key {new} without an announcement signed by key {old}")
    raise ConflictError(
        f"{node} " + why.format(old=pinned_id, new=presented_id) + f" (key {pinned_id} is pinned, it now presents "
        f"{presented_id}); if its operator confirms the change, run the command again with --confirm-key-change")
