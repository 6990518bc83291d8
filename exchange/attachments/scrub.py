"""Office documents without the people in their properties.

An ODT, ODS, DOCX or XLSX document names its author, its last editor and how
often it was revised in one small XML part: `meta.xml` (OpenDocument) or
`docProps/core.xml` and `docProps/app.xml` (Office Open XML). `scrub` writes
the archive anew with those elements taken out of those parts and every
other member copied unchanged (same names, order and compression, so an
OpenDocument's uncompressed `mimetype` stays first). The parts are edited
with minidom, which keeps their namespace prefixes as they were; nothing of
the document's content is touched. What was removed is reported (`removed`
notes, with the value); what stays because removing it would mean editing
the content (comments and tracked changes, which carry their authors'
names) is reported as `found`.

When the archive cannot be written anew safely (a compression zipfile
cannot read, a part that is not plain XML), the document is stored as it
was uploaded and its properties are reported as `found`, as before.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from xml.dom import minidom
from xml.parsers.expat import ExpatError

from exchange.attachments.kinds import DOCX, ODS, ODT, XLSX

log = logging.getLogger("exchange.attachments")

DC = "http://purl.org/dc/elements/1.1/"
ODF_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
CORE = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
APP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"

# part -> (namespace, local name) -> the note's name ("" : removed without a note of its own)
PEOPLE: dict[str, dict[tuple[str, str], str]] = {
    "meta.xml": {(DC, "creator"): "last_modified_by", (ODF_META, "initial-creator"): "creator",
                 (ODF_META, "printed-by"): "printed_by", (ODF_META, "editing-cycles"): "revision",
                 (ODF_META, "editing-duration"): ""},
    "docProps/core.xml": {(DC, "creator"): "creator", (CORE, "lastModifiedBy"): "last_modified_by",
                          (CORE, "revision"): "revision"},
    "docProps/app.xml": {(APP, "Manager"): "manager", (APP, "TotalTime"): ""},
}
PARTS = {ODT: ("meta.xml",), ODS: ("meta.xml",), DOCX: ("docProps/core.xml", "docProps/app.xml"),
         XLSX: ("docProps/core.xml", "docProps/app.xml")}
PART_BYTES = 1024 * 1024  # a properties part larger than this is no ordinary one: left alone


class Unsafe(Exception):
    """The document cannot be written anew safely; it is kept as it is."""


def scrub(path: Path, workdir: Path, media_type: str) -> tuple[Path, list[dict[str, Any]]]:
    """The document without the people in its properties (a new file in `workdir`, or `path` when
    nothing was there to remove), and the notes saying what was removed and what stays."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            edited: dict[str, bytes] = {}
            notes: list[dict[str, Any]] = []
            for part in PARTS[media_type]:
                if part in names:
                    data, removed = _without_people(archive, part)
                    if data is not None:
                        edited[part] = data
                        notes.extend(removed)
            notes.extend(_people_in_content(archive, names, media_type))
            if not edited:
                return path, notes
            target = _rewrite(archive, edited, workdir)
    except (Unsafe, zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
        log.info("document properties not removed (kept as uploaded): %s", exc)
        raise Unsafe(str(exc)) from None
    return target, notes


def _without_people(archive: zipfile.ZipFile, part: str) -> tuple[bytes | None, list[dict[str, Any]]]:
    """The part without its people (None: nothing to take out), and the notes of what was taken."""
    info = archive.getinfo(part)
    if info.file_size > PART_BYTES:
        raise Unsafe(f"the part {part} is {info.file_size:,} bytes")
    data = archive.read(info)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise Unsafe(f"the part {part} declares a DTD")
    try:
        document = minidom.parseString(data)
    except ExpatError as exc:
        raise Unsafe(f"the part {part} is not well-formed XML: {exc}") from None
    wanted = PEOPLE[part]
    removed: list[dict[str, Any]] = []
    changed = False
    for element in list(document.getElementsByTagName("*")):
        note = wanted.get((element.namespaceURI or "", element.localName or ""))
        if note is None:
            continue
        value = "".join(n.data for n in element.childNodes if n.nodeType == n.TEXT_NODE).strip()
        parent = element.parentNode
        if not isinstance(parent, minidom.Element):  # the part's root: not a property
            continue
        previous = element.previousSibling
        if previous is not None and previous.nodeType == previous.TEXT_NODE and not previous.data.strip():
            parent.removeChild(previous)  # the line break and indentation before it
        parent.removeChild(element)
        element.unlink()
        changed = True
        if note and value:
            removed.append({"removed": note, "value": value[:200]})
    if not changed:
        return None, []
    standalone = True if b'standalone="yes"' in data[:200] else None
    return document.toxml(encoding="UTF-8", standalone=standalone), removed


def _people_in_content(archive: zipfile.ZipFile, names: set[str], media_type: str) -> list[dict[str, Any]]:
    """Comments and tracked changes name their authors inside the content: reported, left as they are."""
    if media_type in (DOCX, XLSX):
        if any(n.startswith(("word/comments", "xl/comments", "xl/threadedComments")) for n in names):
            return [{"found": "comments"}]
        if "word/document.xml" in names and b"w:author=" in _bounded(archive, "word/document.xml"):
            return [{"found": "comments"}]
        return []
    if "content.xml" in names and b"creator>" in _bounded(archive, "content.xml"):
        return [{"found": "comments"}]
    return []


def _bounded(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    return archive.read(info) if info.file_size <= 50 * 1024 * 1024 else b""


def _rewrite(archive: zipfile.ZipFile, edited: dict[str, bytes], workdir: Path) -> Path:
    """The archive anew: every member in its order and with its compression, the edited parts replaced."""
    handle = tempfile.NamedTemporaryFile(dir=workdir, prefix="scrubbed-", suffix=".zip", delete=False)  # noqa: SIM115
    target = Path(handle.name)
    try:
        with handle, zipfile.ZipFile(handle, "w") as out:
            for member in archive.infolist():
                info = zipfile.ZipInfo(member.filename, member.date_time)
                info.compress_type = member.compress_type
                info.external_attr = member.external_attr
                info.create_system = member.create_system
                if member.filename in edited:
                    out.writestr(info, edited[member.filename])
                elif member.is_dir():
                    out.writestr(info, b"")
                else:
                    with archive.open(member) as source, out.open(info, "w", force_zip64=member.file_size > 2**31) as sink:
                        shutil.copyfileobj(source, sink, 256 * 1024)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target
