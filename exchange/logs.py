"""The server's log: plain lines or JSON lines, every line of a request with its request id.

`RequestIds` (ASGI middleware) gives every HTTP request an id: the client's
or the proxy's `X-Request-ID` when it is sane (1 to 128 letters, digits and
`._:-`), else a new one; it is returned in the `X-Request-ID` header of the
answer, shown on error pages (as the reference for the operator), and, while
the request runs, put in every log line (`RequestIdFilter`), uvicorn's access
line included. `log_config(settings)` is the `logging.dictConfig` that
`exchange serve` hands uvicorn (each worker applies it): with
`EXCHANGE_LOG_FORMAT=json` every line is one JSON object (`time`, `level`,
`logger`, `message`, `request_id`; an access line adds `client`, `method`,
`path` and `status`; an error adds `error` with its traceback), otherwise
the plain `time level logger [request id]: message`.
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_current: ContextVar[str | None] = ContextVar("exchange_request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s"


def request_id() -> str | None:
    """The id of the request being answered (None outside a request)."""
    return _current.get()


def take_or_make(sent: str | None) -> str:
    """The id a request goes by: the one sent when sane, else a new one (pure but for the random)."""
    if sent is not None and _SANE.fullmatch(sent):
        return sent
    return secrets.token_hex(8)


class RequestIds:
    """ASGI middleware: every HTTP request gets an id, returned in `X-Request-ID`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-request-id"), None)
        rid = take_or_make(sent)
        token = _current.set(rid)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (`request_id`, `request_tag`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = _current.get()
        record.request_id = rid
        record.request_tag = f" [{rid}]" if rid else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _, status = record.args
            line.update(client=client, method=method, path=path, status=status)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class LogLines(io.TextIOBase):
    """A text stream that writes each line it gets as a log record (the serve command's own
    messages, so that a JSON log holds nothing but JSON lines)."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.logger = logger
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            if line.strip():
                self.logger.info(line.rstrip())
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            self.logger.info(self._pending.rstrip())
        self._pending = ""


def log_config(log_format: str, level: str) -> dict[str, Any]:
    """The `logging.dictConfig` of the server: one handler on stderr for ours and uvicorn's loggers."""
    formatter: dict[str, Any] = ({"()": "exchange.logs.JsonFormatter"} if log_format == "json"
                                 else {"format": TEXT_FORMAT})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "exchange.logs.RequestIdFilter"}},
        "formatters": {"line": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "line", "filters": ["request_id"]}},
        "loggers": {name: {"handlers": ["stderr"], "level": level, "propagate": False}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
        "root": {"handlers": ["stderr"], "level": level},
    }
