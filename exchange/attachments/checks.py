"""The check of an uploaded file: what it is (`kinds`), then the check of its kind.

`inspect_file` runs in a worker thread on a file already on disk, before
anything is stored; it raises `RefusedFileError` with a message that names
the problem, or returns what to store: the media type, the file (re-encoded
for images), the text for search and what the file said about people.
"""

from __future__ import annotations

from pathlib import Path

from exchange.attachments import documents, images
from exchange.attachments.kinds import (
    ALLOWED_NAMES,
    Inspected,
    Limits,
    RefusedFileError,
    check_csv,
    family,
    read_ends,
    signatures,
)


def inspect_file(path: Path, workdir: Path, limits: Limits, *, rewrite: bool = True) -> Inspected:
    """Decide what the file at `path` is and check it; raises RefusedFileError naming the problem.
    Without `rewrite` (a peer's file, kept as signed), PDFs and office documents are not written anew."""
    size = path.stat().st_size
    if size == 0:
        raise RefusedFileError("the file is empty", "empty")
    head, tail = read_ends(path)
    kind = family(head)
    if kind == "svg":
        raise RefusedFileError("SVG images are refused: they can carry scripts. Please upload a PNG instead", "svg")
    if kind == "html":
        raise RefusedFileError("the file is an HTML page, which is not allowed as an attachment "
                               f"(allowed: {ALLOWED_NAMES})", "html")
    found = signatures(path, head)
    if len(found) > 1:
        raise RefusedFileError(f"the file is at once a {' and a '.join(found)} (a polyglot file); "
                               "such files are refused", "polyglot")
    if kind in ("png", "jpeg", "webp"):
        return images.reencode(path, workdir, kind, limits)
    if kind == "pdf":
        return documents.check_pdf(path, tail, limits, workdir if rewrite else None)
    if kind == "pdf-late":
        raise RefusedFileError("the file does not begin as a PDF does (%PDF-): something precedes the header")
    if kind == "zip":
        return documents.check_office(path, limits, workdir if rewrite else None)
    if kind == "text":
        return check_csv(path)
    named = {"gif": "a GIF image", "exe": "a program", "bmp": "a BMP image", "tif": "a TIFF image",
             "doc": "an old Word document (.doc)", "xls": "an old Excel workbook (.xls)"}.get(kind)
    what = named or (f"of type {kind}" if kind != "unknown" else "of no type we recognise")
    raise RefusedFileError(f"the file is {what}; allowed are {ALLOWED_NAMES}", "type")
