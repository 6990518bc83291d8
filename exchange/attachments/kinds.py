"""What a file is, decided from its bytes: the allowed kinds and the checks each must pass.

The name a file came with and the type a client declared count for nothing.
`puremagic` (signatures of the file's first bytes) names the family; then the
family's own check decides: an image must decode completely (Pillow) and is
re-encoded without its metadata (`images`), a PDF must parse (pypdf) and end
as a PDF ends, an office document must be a ZIP archive of the right members
within size and ratio limits read from its directory before anything is
unpacked (`documents`), a CSV must be UTF-8 text with rows of equal width.
A file that is two things at once (a PDF that is also a ZIP archive or an
HTML page: a polyglot) is refused, and so are SVG (it can carry scripts) and
HTML whatever its name.

`exchange.attachments.checks.inspect_file` runs these checks in a worker
thread on a file already on disk: plain synchronous code, tested with
hostile files.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import puremagic

from exchange.errors import InvalidInputError

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"

# media type -> (file extension, what a person calls it)
KINDS: dict[str, tuple[str, str]] = {
    PDF: (".pdf", "PDF"),
    PNG: (".png", "PNG"),
    JPEG: (".jpg", "JPEG"),
    WEBP: (".webp", "WebP"),
    ODT: (".odt", "ODT"),
    ODS: (".ods", "ODS"),
    DOCX: (".docx", "DOCX"),
    XLSX: (".xlsx", "XLSX"),
    CSV: (".csv", "CSV"),
}
IMAGES = frozenset({PNG, JPEG, WEBP})
INLINE = IMAGES | {PDF}  # shown in the browser; everything else is downloaded
ALLOWED_NAMES = ", ".join(label for _, label in KINDS.values())

HEAD = 8192
MARKUP = (b"<html", b"<script", b"<body", b"<head>", b"<iframe", b"<!doctype html", b"<svg")


class RefusedFileError(InvalidInputError):
    """A file that is not what an attachment may be; the message says why, `reason` names the kind
    of problem for a page to say in its reader's language ("svg", "html", "polyglot", "type",
    "damaged", "zip_bomb", "macros", "csv", "empty", "too_many_pixels")."""

    def __init__(self, message: str, reason: str = "damaged") -> None:
        super().__init__(message)
        self.reason = reason


class FileTooLargeError(InvalidInputError):
    """An upload over the limit of a file or of an entry's attachments."""

    code = "TOO_LARGE"


@dataclass(frozen=True)
class Limits:
    """How large what a file holds may be."""

    file_bytes: int = 20 * 1024 * 1024
    entry_bytes: int = 100 * 1024 * 1024
    unpacked_bytes: int = 200 * 1024 * 1024  # all members of an office document together
    unpacked_ratio: int = 100  # uncompressed / compressed, per member and in all
    members: int = 5000
    image_pixels: int = 40_000_000
    text_chars: int = 1_000_000  # kept for search


@dataclass
class Inspected:
    """What a file turned out to be; `path` is the file to store (re-encoded for images)."""

    media_type: str
    path: Path
    text: str = ""
    notes: list[dict[str, Any]] = field(default_factory=list)


def label(media_type: str) -> str:
    return KINDS.get(media_type, ("", media_type))[1]


def extension(media_type: str) -> str:
    return KINDS.get(media_type, (".bin", ""))[0]


def read_ends(path: Path) -> tuple[bytes, bytes]:
    with path.open("rb") as handle:
        head = handle.read(HEAD)
        size = handle.seek(0, 2)
        handle.seek(max(0, size - HEAD))
        tail = handle.read(HEAD)
    return head, tail


def _markup(head: bytes) -> bytes | None:
    """The first markup sign in the first kilobyte (what browsers sniff), lower case."""
    start = head[:1024].lower()
    return next((m for m in MARKUP if m in start), None)


def family(head: bytes) -> str:
    """The family a file's first bytes name: 'pdf', 'png', 'jpeg', 'webp', 'zip', 'svg', 'html',
    'text' or what puremagic called it ('gif', 'exe', ...); 'unknown' when nothing matches."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith(b"<"):
        if b"<svg" in stripped[:4096]:
            return "svg"
        if _markup(stripped):
            return "html"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    for m in matches:
        ext = str(m.extension).lstrip(".").lower()
        if ext in ("png", "webp", "pdf", "svg", "html"):
            return ext
        if ext in ("jpg", "jpeg", "jfif", "jpe"):
            return "jpeg"
    if matches:
        return str(matches[0].extension).lstrip(".").lower() or str(matches[0].name)
    if b"%PDF-" in head[:1024]:
        return "pdf-late"  # PDF readers accept junk before the header; we do not
    return "text" if _is_text(head) else "unknown"


def _is_text(head: bytes) -> bool:
    """Text in some 8-bit encoding or UTF-8: no control characters but tab and line ends."""
    return not any(b < 32 and b not in (9, 10, 13) or b == 127 for b in head)


def signatures(path: Path, head: bytes) -> list[str]:
    """Every kind of file these bytes open as: more than one is a polyglot."""
    found = []
    if b"%PDF-" in head[:1024]:
        found.append("PDF")
    if head.startswith(b"PK\x03\x04") or zipfile.is_zipfile(path):
        found.append("ZIP archive")
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        found.append("image")
    if _markup(head):
        found.append("HTML page")
    return found


def check_csv(path: Path) -> Inspected:
    """UTF-8 text whose rows all have as many fields as the first (a trailing empty line aside)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(HEAD)
            if any(ord(c) < 32 and c not in "\t\r\n" for c in sample):
                raise RefusedFileError("the text holds control characters; it is not a CSV file", "csv")
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                raise RefusedFileError(
                    "the text is not a CSV table: no comma, semicolon or tab separates its columns", "csv") from None
            handle.seek(0)
            width = None
            for number, row in enumerate(csv.reader(handle, dialect), start=1):
                if not row:
                    continue
                if any("\x00" in cell for cell in row):
                    raise RefusedFileError(f"line {number} holds a NUL character; it is not a CSV file")
                if width is None:
                    width = len(row)
                elif len(row) != width:
                    raise RefusedFileError(
                        f"row {number} has {len(row)} columns, the first row {width}: not a CSV table", "csv")
    except UnicodeDecodeError as exc:
        raise RefusedFileError(f"the text is not UTF-8 (byte {exc.start}); please save the CSV as UTF-8", "csv") from None
    except csv.Error as exc:
        raise RefusedFileError(f"the CSV file cannot be read: {exc}") from None
    if width is None:
        raise RefusedFileError("the CSV file holds no rows")
    return Inspected(CSV, path)
