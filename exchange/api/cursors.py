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
from collections import OrderedDict
from typing import Any

import orjson

from exchange.errors import InvalidInputError


class CursorCodec:
    def __init__(self, secret: bytes, remember: int = 8192) -> None:
        self._secret = secret
        # the keyed state once; each MAC continues a copy of it (a page makes up to 100 cursors)
        self._keyed = hmac.new(secret, digestmod=hashlib.sha256)
        # cursors made lately: the first pages of a list are asked for again and again
        self._made: OrderedDict[tuple[str, type, Any, int], str] = OrderedDict()
        self._remember = remember

    def _mac(self, payload: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(payload)
        return mac.digest()[:12]

    def encode(self, what: str, value: Any, ident: int) -> str:
        key = (what, type(value), value, ident) if isinstance(value, (str, int, float)) else None
        made = self._made.get(key) if key is not None else None
        if made is not None:
            return made
        # the MAC covers the payload's bytes as sent, so any JSON spelling of it decodes
        payload = orjson.dumps([1, what, value, ident])
        made = base64.urlsafe_b64encode(self._mac(payload) + payload).decode("ascii").rstrip("=")
        if key is not None:
            self._made[key] = made
            if len(self._made) > self._remember:
                self._made.popitem(last=False)
        return made

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
