"""The HTTP server's own guard against slow clients: read timeouts for headers and body.

uvicorn closes idle keep-alive connections, but it waits for ever on a client
that sends its request line and headers, or its body, a byte at a time
(slowloris), and on one that connects and sends nothing. `GuardedProtocol`
is uvicorn's httptools protocol with one timer per connection: armed when the
connection opens and when a request's first byte arrives, it must see the
headers complete within `read_timeout` seconds; armed again when they are, it
must see the body complete within as long again. When it fires, a client
that sent part of a request gets `408 Request Timeout` and the connection is
closed; the application waiting for the rest of the body hears a disconnect,
and `quiet_disconnects` lets it end there without a logged traceback (there
is nobody left to answer). Handed to uvicorn as `http=GuardedProtocol`
(`exchange serve` does so); the timeout is `EXCHANGE_READ_TIMEOUT`, set on
the class by whoever builds the app from settings (`exchange serve`, and
`exchange.asgi` in each worker).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["GuardedProtocol", "quiet_disconnects"]

Phase = Literal["headers", "body"]


def _timeout_response(phase: Phase, seconds: float) -> bytes:
    body = json.dumps({"errors": [{
        "message": f"the request's {phase} did not arrive within {seconds:g} s",
        "extensions": {"code": "REQUEST_TIMEOUT"},
    }]}).encode()
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body read timeouts."""

    read_timeout: float = 20.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._received = False  # any byte of the current request yet

    def _arm(self, phase: Phase) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(self.read_timeout, self._timed_out, phase)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _timed_out(self, phase: Phase) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle if phase == "body" else None
        if cycle is not None and not cycle.response_complete:
            if not cycle.response_started:
                self.transport.write(_timeout_response(phase, self.read_timeout))
            cycle.disconnected = True  # what the application sends from now on goes nowhere
            cycle.message_event.set()  # and its receive() hears the disconnect
        elif phase == "headers" and self._received:
            self.transport.write(_timeout_response(phase, self.read_timeout))
        self.logger.info("closed a connection whose request %s did not arrive within %g s",
                         phase, self.read_timeout)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._received = False
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._received = True
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._read_timer is None:  # a later request on a kept-alive connection
            self._arm("headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm("body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def quiet_disconnects(app: ASGIApp) -> ASGIApp:
    """`app`, except that a request whose client went away (or timed out) while
    sending its body just ends: there is nobody to answer and nothing to log."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except ClientDisconnect:
            pass

    return guarded
