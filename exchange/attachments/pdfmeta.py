"""PDFs without the people and programs in their metadata.

A PDF says who wrote it and with what in two places: the document
information dictionary (the trailer's `/Info`: Author, Creator, Producer,
dates, keywords and any key a program likes) and an XMP stream (the
catalogue's `/Metadata`), which repeats the same and often more. `scrub`
writes the PDF anew with pypdf: every object reachable from the catalogue is
copied, `/Info` keeps only the title (what the report calls itself, shown by
readers in their title bar), and the XMP stream is left out. The new file
must parse again with as many pages as before, else the PDF is stored as
uploaded and its author reported, as before. What was removed is reported
(`removed` notes, with the values).

A PDF with nothing to remove is stored as it came, byte for byte.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pypdf import PdfReader

log = logging.getLogger("exchange.attachments")

KEPT = ("/Title",)
SOFTWARE = ("/Creator", "/Producer")


class Unsafe(Exception):
    """The PDF cannot be written anew safely; it is kept as it is."""


def to_remove(reader: PdfReader) -> list[dict[str, Any]]:
    """The notes of what `scrub` would take out of this PDF (empty: nothing)."""
    info: dict[str, Any] = dict(reader.metadata or {})
    notes: list[dict[str, Any]] = []
    author = _text(info.get("/Author"))
    if author:
        notes.append({"removed": "creator", "value": author})
    software = [t for t in (_text(info.get(k)) for k in SOFTWARE) if t]
    if software:
        notes.append({"removed": "software", "value": "; ".join(software)[:200]})
    other = sorted(str(k).lstrip("/") for k in info if k not in (*KEPT, "/Author", *SOFTWARE))
    if other:
        notes.append({"removed": "properties", "value": ", ".join(other)[:200]})
    if "/Metadata" in reader.root_object:
        notes.append({"removed": "xmp"})
    return notes


def scrub(reader: PdfReader, workdir: Path) -> tuple[Path, list[dict[str, Any]]] | None:
    """The PDF anew without its metadata (a new file in `workdir`) and the notes of what was
    removed; None when there is nothing to remove. Raises Unsafe when it cannot be done.
    The reader is spent afterwards: its catalogue has lost its XMP stream."""
    try:
        notes = to_remove(reader)
    except Exception as exc:  # noqa: BLE001 - a damaged information dictionary: kept as uploaded
        raise Unsafe(str(exc)) from None
    if not notes:
        return None
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    handle = tempfile.NamedTemporaryFile(dir=workdir, prefix="scrubbed-", suffix=".pdf", delete=False)  # noqa: SIM115
    target = Path(handle.name)
    try:
        title = _text(dict(reader.metadata or {}).get("/Title"))
        pages = len(reader.pages)
        catalogue = reader.root_object
        if NameObject("/Metadata") in catalogue:  # before copying: only what is referenced is copied
            del catalogue[NameObject("/Metadata")]
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        if title:
            writer.add_metadata({"/Title": title})
        with handle:
            writer.write(handle)
        with target.open("rb") as written:
            again = PdfReader(written, strict=False)
            if len(again.pages) != pages or to_remove(again):
                raise Unsafe("the PDF written anew differs from the uploaded one")
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds; any of them keeps the upload
        target.unlink(missing_ok=True)
        log.info("PDF metadata not removed (kept as uploaded): %s", exc)
        raise Unsafe(str(exc)) from None
    return target, notes


def _text(value: Any) -> str:
    if value is None:
        return ""
    try:
        value = value.get_object()
    except AttributeError:
        pass
    return str(value).strip()[:200]
