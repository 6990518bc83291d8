"""A browser's file upload, read as it streams: the form's fields, then the file's chunks.

Starlette's `request.form()` spools a whole upload to disk before a handler
sees it, so a 2 GB upload would be written out before it could be refused.
`UploadStream` instead feeds the request body to python-multipart's parser
chunk by chunk: the text fields that precede the file in the form are
collected (each at most `FIELD_BYTES`), then the file's bytes are handed on
as they arrive, to a consumer that counts them and stops at its limit.
Fields after the file are ignored; the form puts the file last.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import Message

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from exchange.errors import InvalidInputError

FIELD_BYTES = 10_000


def _disposition(value: bytes) -> tuple[str, str | None]:
    """The name and file name of a part's Content-Disposition (RFC 7578; filename* too)."""
    message = Message()
    message["content-disposition"] = value.decode("utf-8", "replace")
    name = message.get_param("name", header="content-disposition")
    filename = message.get_filename()
    return (str(name) if isinstance(name, str) else ""), filename


class UploadStream:
    """One multipart/form-data request body: fields first, then one file."""

    def __init__(self, request: Request) -> None:
        kind, options = parse_options_header(request.headers.get("content-type", ""))
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise InvalidInputError("the upload must be sent as multipart/form-data")
        self.fields: dict[str, str] = {}
        self.file_field = ""
        self.filename: str | None = None
        self._body = request.stream().__aiter__()
        self._header_name = b""
        self._headers: dict[bytes, bytes] = {}
        self._part: str | None = None  # the field being read
        self._in_file = False
        self._file_done = False
        self._ended = False
        self._value = bytearray()
        self._out: list[bytes] = []
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._header_field(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": lambda d, s, e: self._data(d[s:e]),
            "on_part_end": self._part_end,
            "on_end": self._end,
        })

    def _part_begin(self) -> None:
        self._headers, self._header_name, self._value = {}, b"", bytearray()

    def _header_field(self, data: bytes) -> None:
        self._header_name += data

    def _header_value(self, data: bytes) -> None:
        name = self._header_name.lower()
        self._headers[name] = self._headers.get(name, b"") + data

    def _header_end(self) -> None:
        self._header_name = b""

    def _headers_finished(self) -> None:
        name, filename = _disposition(self._headers.get(b"content-disposition", b""))
        self._part = name
        if filename is not None and not self._file_done and not self._in_file:
            self._in_file, self.file_field, self.filename = True, name, filename

    def _data(self, data: bytes) -> None:
        if self._in_file:
            self._out.append(bytes(data))
        elif not self._file_done:
            self._value += data
            if len(self._value) > FIELD_BYTES:
                raise InvalidInputError(f"the form field {self._part!r} is longer than {FIELD_BYTES:,} bytes")

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file, self._file_done = False, True
        elif not self._file_done and self._part:
            try:
                self.fields[self._part] = self._value.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInputError(f"the form field {self._part!r} is not UTF-8 text") from None
        self._header_name = b""

    def _end(self) -> None:
        self._ended = True

    def _feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise InvalidInputError(f"the upload is not a well-formed form: {exc}") from None

    async def _next(self) -> bool:
        """Feed the next body chunk to the parser; False at the end of the body."""
        try:
            chunk = await self._body.__anext__()
        except StopAsyncIteration:
            return False
        if chunk:
            self._feed(chunk)
        return True

    async def read_fields(self) -> bool:
        """Read up to the start of the file; True when a file part began."""
        while not (self._in_file or self._file_done) and not self._ended:
            if not await self._next():
                break
        return self._in_file or self._file_done

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive."""
        while True:
            while self._out:
                yield self._out.pop(0)
            if self._file_done or self._ended:
                return
            if not await self._next():
                if not self._file_done:
                    raise InvalidInputError("the upload ended before the file did")
                return
