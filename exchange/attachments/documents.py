"""PDFs and office documents: their checks, their text for search, what they say about people.

A PDF must begin with its header, end with `%%EOF` (else it was cut off) and
parse with pypdf; its text (pypdf's extraction) is kept for the full-text
search, and its metadata is taken out (`pdfmeta`). An office document (ODT, ODS, DOCX, XLSX) is a ZIP archive: its
central directory is read first and the archive refused when its members
would unpack to more than `Limits.unpacked_bytes`, when any member or the
whole unpacks more than `Limits.unpacked_ratio` times its packed size (a ZIP
bomb), when it has too many members, is encrypted, or holds macros. Only
then are its few XML parts read (zipfile never unpacks past a member's
declared size), without DTDs: none of these formats uses one, and an entity
declaration is how XML bombs work. The author, the last editor and the
revision count are then taken out of the document's properties (`scrub`)
and the uploader is told what was removed (`notes`); a document that cannot
be written anew safely is stored as uploaded, and what it names is reported.
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from exchange.attachments import pdfmeta, scrub
from exchange.attachments.kinds import (
    DOCX,
    ODS,
    ODT,
    PDF,
    XLSX,
    Inspected,
    Limits,
    RefusedFileError,
)

if TYPE_CHECKING:
    from pypdf import PdfReader

log = logging.getLogger("exchange.attachments")

ODF_TYPES = {ODT.encode(): ODT, ODS.encode(): ODS}
XML_PART_BYTES = 50 * 1024 * 1024  # one XML part read for its text
TEXT_PARTS = {ODT: ("content.xml",), ODS: ("content.xml",), DOCX: ("word/document.xml",),
              XLSX: ("xl/sharedStrings.xml",)}
META = {
    "creator": ("{http://purl.org/dc/elements/1.1/}creator",
                "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}initial-creator"),
    "last_modified_by": ("{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}lastModifiedBy",),
    "revision": ("{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}revision",
                 "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}editing-cycles"),
}
TEXT_TAGS = {"t", "p", "h", "span", "s", "tab"}


def check_pdf(path: Path, tail: bytes, limits: Limits, workdir: Path | None = None) -> Inspected:
    """Check a PDF; with a `workdir`, the file to store is one without its metadata (`pdfmeta`)."""
    if b"%%EOF" not in tail[-1024:]:
        raise RefusedFileError("the PDF ends before its end marker (%%EOF): it is truncated")
    from pypdf import PdfReader  # here: the command line need not load it (0.2-0.4 s)
    from pypdf.errors import PdfReadError, PyPdfError

    # An open file, not a path: given a path, pypdf first reads the whole file into memory.
    with path.open("rb") as handle:
        try:
            reader = PdfReader(handle, strict=False)
            if reader.is_encrypted:
                return Inspected(PDF, path, notes=[{"found": "encrypted"}])
            pages = len(reader.pages)
        except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
            raise RefusedFileError(f"the PDF cannot be read: {exc}") from None
        if pages == 0:
            raise RefusedFileError("the PDF has no pages")
        text = _pdf_text(reader, limits)
        info: dict[str, Any] = dict(reader.metadata or {})
        if workdir is not None:
            try:
                cleaned = pdfmeta.scrub(reader, workdir)
            except pdfmeta.Unsafe:
                cleaned = None
            else:
                if cleaned is None:
                    return Inspected(PDF, path, text=text)
                return Inspected(PDF, cleaned[0], text=text, notes=cleaned[1])
    notes = []
    author = info.get("/Author")
    if author:
        notes.append({"found": "creator", "value": str(author)[:200]})
    return Inspected(PDF, path, text=text, notes=notes)


def _pdf_text(reader: PdfReader, limits: Limits) -> str:
    parts: list[str] = []
    length = 0
    for page in reader.pages:
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - a page whose text cannot be read is kept without text
            log.info("text of a PDF page not extracted: %s", exc)
            continue
        parts.append(text)
        length += len(text)
        if length >= limits.text_chars:
            break
    return _clean("\n".join(parts))[: limits.text_chars]


def _clean(text: str) -> str:
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", text)


def check_office(path: Path, limits: Limits, workdir: Path | None = None) -> Inspected:
    """Check an office document; with a `workdir`, the file to store is one without its people."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise RefusedFileError(f"the file looks like a ZIP archive but cannot be read: {exc}") from None
    with archive:
        members = archive.infolist()
        _check_sizes(members, path.stat().st_size, limits)
        media_type = _office_type(archive, members)
        try:
            notes = _metadata(archive, media_type)
            text = _text(archive, media_type, limits)
        except zipfile.BadZipFile as exc:
            raise RefusedFileError(f"the {_name(media_type)} document is damaged: {exc}") from None
    if workdir is None:
        return Inspected(media_type, path, text=text, notes=notes)
    try:
        cleaned, removed = scrub.scrub(path, workdir, media_type)
    except scrub.Unsafe:
        return Inspected(media_type, path, text=text, notes=notes)
    return Inspected(media_type, cleaned, text=text, notes=removed)


def _name(media_type: str) -> str:
    return {ODT: "ODT", ODS: "ODS", DOCX: "DOCX", XLSX: "XLSX"}[media_type]


def _check_sizes(members: list[zipfile.ZipInfo], packed: int, limits: Limits) -> None:
    if len(members) > limits.members:
        raise RefusedFileError(f"the archive has {len(members)} members, more than {limits.members}")
    total = sum(m.file_size for m in members)
    if total > limits.unpacked_bytes:
        raise RefusedFileError(
            f"the archive would unpack to {total:,} bytes, more than {limits.unpacked_bytes:,} "
            "(a ZIP bomb?)", "zip_bomb")
    if total > limits.unpacked_ratio * max(packed, 1) and total > 1024 * 1024:
        raise RefusedFileError(
            f"the archive would unpack to {total // max(packed, 1)} times its size (a ZIP bomb?)", "zip_bomb")
    for m in members:
        if m.flag_bits & 0x1:
            raise RefusedFileError(f"the archive member {m.filename!r} is encrypted")
        if m.file_size > 1024 * 1024 and m.file_size > limits.unpacked_ratio * max(m.compress_size, 1):
            raise RefusedFileError(
                f"the archive member {m.filename!r} would unpack to "
                f"{m.file_size // max(m.compress_size, 1)} times its size (a ZIP bomb?)", "zip_bomb")


def _office_type(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> str:
    names = {m.filename for m in members}
    if any(n.lower().endswith("vbaproject.bin") or n.startswith("Basic/") for n in names):
        raise RefusedFileError("the document contains macros; please save it without them", "macros")
    if members and members[0].filename == "mimetype" and members[0].file_size <= 100:
        declared = archive.read(members[0]).strip()
        if declared in ODF_TYPES and "content.xml" in names:
            return ODF_TYPES[declared]
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
    raise RefusedFileError("the file is a ZIP archive, but not an ODT, ODS, DOCX or XLSX document", "type")


def _parse(archive: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > XML_PART_BYTES:
        raise RefusedFileError(f"the part {name!r} of the document is larger than {XML_PART_BYTES:,} bytes")
    data = archive.read(info)
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise RefusedFileError(f"the part {name!r} of the document declares a DTD, which these formats never do")
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise RefusedFileError(f"the part {name!r} of the document is not well-formed XML: {exc}") from None


def _metadata(archive: zipfile.ZipFile, media_type: str) -> list[dict[str, Any]]:
    """Who the document names as its author and editor, and how often it was revised."""
    root = _parse(archive, "meta.xml" if media_type in (ODT, ODS) else "docProps/core.xml")
    if root is None:
        return []
    notes = []
    for name, tags in META.items():
        for tag in tags:
            found = root.find(f".//{tag}")
            if found is not None and (found.text or "").strip():
                notes.append({"found": name, "value": found.text.strip()[:200]})  # type: ignore[union-attr]
                break
    return notes


def _text(archive: zipfile.ZipFile, media_type: str, limits: Limits) -> str:
    parts: list[str] = []
    length = 0
    names = list(TEXT_PARTS[media_type])
    if media_type == XLSX:  # cells may hold their text inline (openpyxl writes them so), not in sharedStrings
        names += sorted(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet") and n.endswith(".xml"))
    for name in names:
        root = _parse(archive, name)
        if root is None:
            continue
        for element in root.iter():
            local = element.tag.rpartition("}")[2]
            if local in TEXT_TAGS and element.text and element.text.strip():
                parts.append(element.text.strip())
                length += len(parts[-1])
                if length >= limits.text_chars:
                    return " ".join(parts)[: limits.text_chars]
    return _clean(" ".join(parts))
