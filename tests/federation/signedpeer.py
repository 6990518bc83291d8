"""Feed answers of a faked peer, signed as a real node signs them (protocol 2).

A `httpx.MockTransport` handler that plays a peer returns `signed(request,
body, key, now)`: the body with the peer's RFC 9421 response signature bound
to the request it answers, so that what a test checks is the content, not a
missing signature.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx

from federation.httpsig import sign_response
from federation.identity import NodeKey


def signed(request: httpx.Request, body: Any, key: NodeKey, now: datetime, status: int = 200) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = sign_response(status, raw, request.method, str(request.url), request.headers, key, now)
    return httpx.Response(status, content=raw, headers={"Content-Type": "application/json", **headers})
