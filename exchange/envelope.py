"""Canonical JSON: the exact bytes that an origin node signs.

Keys sorted, no insignificant white space, UTF-8, no NaN. Two nodes that hold
the same envelope produce the same bytes, so a signature made at the origin
can be checked anywhere the envelope travels.
"""

from __future__ import annotations

import json
from typing import Any, Protocol


class Signer(Protocol):
    """What the catalogue needs to sign what it publishes (passed in from outside)."""

    @property
    def node_url(self) -> str: ...

    def sign(self, data: bytes) -> str: ...


def canonical_json(value: Any) -> bytes:
    """The canonical byte form of a JSON value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
