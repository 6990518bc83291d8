"""Opaque Relay cursors: a keyset position, tagged with what it belongs to.

A cursor encodes (what, ordering, sort value, id) and an HMAC over them with
the node's secret, so a cursor that this node never issued (or one made for
another ordering) is refused with a clear error instead of a wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from exchange.errors import InvalidInputError


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]

    def encode(self, what: str, value: Any, ident: int) -> str:
        payload = json.dumps([1, what, value, ident], separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(self._mac(payload) + payload).decode("ascii").rstrip("=")

    def decode(self, cursor: str, what: str) -> tuple[Any, int]:
        problem = f"the cursor {cursor[:40]!r} was not issued by this node for this list"
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, TypeError):
            raise InvalidInputError(problem) from None
        mac, payload = raw[:12], raw[12:]
        if len(raw) <= 12 or not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidInputError(problem)
        try:
            version, kind, value, ident = json.loads(payload)
        except (ValueError, TypeError):
            raise InvalidInputError(problem) from None
        if version != 1 or kind != what or not isinstance(ident, int):
            raise InvalidInputError(problem)
        return value, ident
