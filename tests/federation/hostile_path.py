"""A tampering proxy on the path to one node, for hostile-path tests.

`TamperingProxy(net, "a.test")` puts itself between the in-process network
(`fednodes.Net`) and node A: every request to A passes through it, and it
tells who asks by the `keyid` of the request's signature. Descriptors, hints
and requests of other nodes pass untouched; feed pages (`Changes`) asked by
a node in `victims` are recorded per requester and cursor, and answered
according to `mode`:

- integrity: `flip` (change a title inside an envelope), `drop` (remove an
  item), `reorder` (reverse the items), `origin` (rewrite an envelope's
  origin), `vouched` (vouch a forged key for the relayed origins), `skip`
  (answer with a page recorded for a later cursor of the same requester),
  `replay` (answer with the oldest page recorded for the same requester),
  `cross` (answer with a page recorded for another requester);
- robustness: `oversized` (a body that never ends, in 1 MiB chunks), `deep`
  (JSON nested 100,000 levels), `trickle` (one byte every 0.2 s), `hang` (no
  answer at all).

`tampered` counts the answers it changed, so a test knows an attack was
made (a mode that needs two items or a recorded page passes an answer on
unchanged when it has none); it changes at most `times` answers (1 unless
set), so that a replayed page that claims more to come cannot keep a pull
going round. `honest` mode changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from federation.identity import NodeKey
from tests.federation.fednodes import Net

INTEGRITY = ("flip", "drop", "skip", "replay", "cross", "reorder", "origin", "vouched")
ROBUSTNESS = ("oversized", "deep", "trickle", "hang")
MODES = ("honest", *INTEGRITY, *ROBUSTNESS)
KEYID = re.compile(r'keyid="([^"]+)"')


@dataclass
class Recorded:
    """One answer as it came from the node: status, headers, body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def response(self, body: bytes | None = None) -> httpx.Response:
        headers = [(k, v) for k, v in self.headers if k.lower() not in ("content-length", "transfer-encoding")]
        return httpx.Response(self.status, headers=headers, content=self.body if body is None else body)


def requester(request: httpx.Request) -> str:
    found = KEYID.search(request.headers.get("signature-input", ""))
    return found.group(1) if found else ""


def cursor(request: httpx.Request) -> str | None:
    try:
        after = json.loads(request.url.params.get("variables", "{}")).get("after")
    except ValueError:
        return None
    return after if isinstance(after, str) else None


def is_feed(request: httpx.Request) -> bool:
    return request.url.path == "/graphql" and request.url.params.get("operationName") == "Changes"


async def _endless(prefix: bytes, chunk: bytes, pause: float) -> AsyncIterator[bytes]:
    yield prefix
    while True:
        if pause:
            await asyncio.sleep(pause)
        yield chunk


@dataclass
class TamperingProxy(httpx.AsyncBaseTransport):
    """Sits in `net` in front of the node at `host`; tampers with the feed pages of `victims`."""

    net: Net
    host: str
    victims: set[str] = field(default_factory=set)
    mode: str = "honest"
    tampered: int = 0
    times: int = 1
    # requester -> [(cursor asked, answer)], in the order they came
    pages: dict[str, list[tuple[str | None, Recorded]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inner: httpx.AsyncBaseTransport = self.net.apps[self.host]
        self.net.apps[self.host] = self  # type: ignore[assignment]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        who = requester(request)
        if not is_feed(request) or who not in self.victims:
            return await self.inner.handle_async_request(request)
        attack = self.mode != "honest" and self.tampered < self.times
        if attack and self.mode == "hang":
            self.tampered += 1
            await asyncio.Event().wait()
        response = await self.inner.handle_async_request(request)
        answer = Recorded(response.status_code, list(response.headers.multi_items()), await response.aread())
        asked = cursor(request)
        mine = self.pages.setdefault(who, [])
        mine.append((asked, answer))
        changed = self._tamper(who, asked, answer) if attack else None
        if changed is None:
            return answer.response()
        self.tampered += 1
        return changed

    def _tamper(self, who: str, asked: str | None, answer: Recorded) -> httpx.Response | None:
        mode = self.mode
        if mode == "oversized":
            return httpx.Response(answer.status, headers=[("content-type", "application/json")],
                                  content=_endless(b'{"data": ', b" " * (1 << 20), 0.0))
        if mode == "deep":
            return answer.response(b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
        if mode == "trickle":
            return httpx.Response(answer.status, headers=[("content-type", "application/json")],
                                  content=_endless(b"{", b" ", 0.2))
        if mode in ("skip", "replay", "cross"):
            other = self._recorded(mode, who, asked)
            return None if other is None else other.response()
        if mode in ("flip", "drop", "reorder", "origin", "vouched"):
            page = _page(answer.body)
            if page is None or not _edit(mode, page, f"http://{self.host}"):
                return None
            return answer.response(json.dumps(page).encode())
        return None

    def _recorded(self, mode: str, who: str, asked: str | None) -> Recorded | None:
        if mode == "cross":
            others = [p for w, pages in self.pages.items() if w != who for p in pages]
            return others[0][1] if others else None
        mine = self.pages.get(who, [])[:-1]  # not the answer just recorded
        if mode == "replay":
            old = [answer for at, answer in mine if at != asked]
            return old[0] if old else None
        cursors = [at for at, _ in mine]
        if asked not in cursors:
            return None
        later = [answer for at, answer in mine[cursors.index(asked) + 1:] if at != asked]
        return later[0] if later else None


def _page(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
        changes = data["data"]["changes"]
    except (ValueError, KeyError, TypeError):
        return None
    return data if isinstance(changes, dict) and isinstance(changes.get("items"), list) else None


FORGER = NodeKey.generate("http://forger.test")


def _edit(mode: str, data: dict[str, Any], own: str) -> bool:
    """Change the page in place as `mode` says; False when there is nothing to change."""
    changes = data["data"]["changes"]
    items: list[dict[str, Any]] = changes["items"]
    if not items:
        return False
    envelope = items[0]["envelope"]
    if mode == "flip":
        entry = envelope.get("entry") or {}
        if "title" not in entry:
            return False
        entry["title"] = str(entry["title"]) + " (changed on the way)"
    elif mode == "drop":
        if len(items) < 2:
            return False
        del items[len(items) // 2]
    elif mode == "reorder":
        if len(items) < 2:
            return False
        items.reverse()
    elif mode == "origin":
        envelope["origin"] = "http://elsewhere.test"
    elif mode == "vouched":
        origins = {item["envelope"]["origin"] for item in items} - {own}
        if not origins:
            return False
        changes["vouchedKeys"] = [{"origin": o, "publicKey": FORGER.public_key_b64} for o in sorted(origins)]
    return True
