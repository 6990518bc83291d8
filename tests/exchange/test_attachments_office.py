"""Office documents lose the people in their properties; made and reopened by real office libraries.

The documents are written by python-docx, openpyxl and odfpy as they write
them for everyone (full property parts, namespaces as Word and LibreOffice
use them), with an author, a last editor and a revision count. What the node
stores must name none of them anywhere in its members, must still open in
the same library with its text, and the uploader is told what was removed.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import docx
import openpyxl
import pytest
from odf import dc, meta, table, text
from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText, load

from exchange.attachments import AttachmentInput, Attachments, FileStore, Limits
from exchange.attachments.checks import inspect_file
from exchange.attachments.kinds import DOCX, ODS, ODT, XLSX
from exchange.auth import Actor, find_publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from federation.identity import NodeKey
from tests.helpers import seed
from tests.web.webkit import KISSELBACH

AUTHOR, EDITOR = "Erika Mustermann", "Max Muster"


def real_docx(words: str, *, comment: bool = False) -> bytes:
    document = docx.Document()
    paragraph = document.add_paragraph(words)
    props = document.core_properties
    props.author, props.last_modified_by, props.revision = AUTHOR, EDITOR, 7
    if comment:
        document.add_comment(paragraph.runs, text="Bitte prüfen", author="Karla Kollegin", initials="KK")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def real_xlsx(words: str) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = words  # type: ignore[index]
    workbook.properties.creator, workbook.properties.lastModifiedBy = AUTHOR, EDITOR
    workbook.properties.revision = "4"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _odf_meta(document: OpenDocumentText | OpenDocumentSpreadsheet) -> None:
    document.meta.addElement(meta.InitialCreator(text=AUTHOR))
    document.meta.addElement(dc.Creator(text=EDITOR))
    document.meta.addElement(meta.EditingCycles(text="5"))
    document.meta.addElement(meta.EditingDuration(text="PT3H12M"))


def _odf_bytes(document: OpenDocumentText | OpenDocumentSpreadsheet) -> bytes:
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def real_odt(words: str) -> bytes:
    document = OpenDocumentText()
    _odf_meta(document)
    document.text.addElement(text.P(text=words))
    return _odf_bytes(document)


def real_ods(words: str) -> bytes:
    document = OpenDocumentSpreadsheet()
    _odf_meta(document)
    sheet = table.Table(name="Haushalt")
    row = table.TableRow()
    cell = table.TableCell(valuetype="string")
    cell.addElement(text.P(text=words))
    row.addElement(cell)
    sheet.addElement(row)
    document.spreadsheet.addElement(sheet)
    return _odf_bytes(document)


def reopened_text(path: Path, media_type: str) -> str:
    """The document's text as its own library reads it back."""
    if media_type == DOCX:
        return " ".join(p.text for p in docx.Document(str(path)).paragraphs)
    if media_type == XLSX:
        return str(openpyxl.load_workbook(io.BytesIO(path.read_bytes())).active["A1"].value)  # type: ignore[index]
    return " ".join(str(p) for p in load(str(path)).getElementsByType(text.P))


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {m.filename: archive.read(m) for m in archive.infolist()}


KINDS: list[tuple[Callable[[str], bytes], str, set[str]]] = [
    (real_docx, DOCX, {"creator", "last_modified_by", "revision"}),
    (real_xlsx, XLSX, {"creator", "last_modified_by", "revision"}),
    (real_odt, ODT, {"creator", "last_modified_by", "revision"}),
    (real_ods, ODS, {"creator", "last_modified_by", "revision"}),
]


@pytest.mark.parametrize(("make", "media_type", "removed"), KINDS, ids=["docx", "xlsx", "odt", "ods"])
def test_the_names_and_revisions_leave_the_document_and_it_still_opens(
        tmp_path: Path, make: Callable[[str], bytes], media_type: str, removed: set[str]) -> None:
    upload = tmp_path / "upload"
    upload.write_bytes(make("Zuwendungsbescheid Dorfladen"))
    before = members(upload)
    assert any(AUTHOR.encode() in data for data in before.values()), "the library wrote the author"
    checked = inspect_file(upload, tmp_path, Limits())

    assert checked.media_type == media_type and checked.path != upload
    after = members(checked.path)
    for name, data in after.items():
        assert AUTHOR.encode() not in data and EDITOR.encode() not in data, name
    assert list(after) == list(before), "every member stays, in its order"
    changed = {n for n in before if before[n] != after[n]}
    assert changed and changed <= {"meta.xml", "docProps/core.xml", "docProps/app.xml"}, changed
    notes = {n["removed"]: n["value"] for n in checked.notes}
    assert set(notes) == removed and notes["creator"] == AUTHOR and notes["last_modified_by"] == EDITOR
    assert notes["revision"] in {"7", "4", "5"}
    assert "Zuwendungsbescheid Dorfladen" in reopened_text(checked.path, media_type)
    assert "Zuwendungsbescheid" in checked.text
    if media_type in (ODT, ODS):
        with zipfile.ZipFile(checked.path) as archive:
            first = archive.infolist()[0]
            assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert b"editing-duration" not in after["meta.xml"]
    else:
        assert b"<cp:coreProperties" in after["docProps/core.xml"], "the prefixes stay as the library wrote them"


def test_a_document_without_names_is_stored_as_it_came(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.properties.creator = None  # type: ignore[assignment]
    workbook.active["A1"] = "Kassenkredite"  # type: ignore[index]
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = tmp_path / "upload"
    upload.write_bytes(buffer.getvalue())
    checked = inspect_file(upload, tmp_path, Limits())
    assert checked.path == upload and checked.notes == []


def test_comments_keep_their_authors_and_the_uploader_is_told(tmp_path: Path) -> None:
    upload = tmp_path / "upload"
    upload.write_bytes(real_docx("Antrag", comment=True))
    checked = inspect_file(upload, tmp_path, Limits())
    assert {"found": "comments"} in checked.notes
    assert any(b"Karla Kollegin" in data for data in members(checked.path).values()), "content is not edited"
    assert not any(AUTHOR.encode() in data for data in members(checked.path).values())


def test_a_document_that_cannot_be_written_anew_is_kept_and_its_names_reported(tmp_path: Path) -> None:
    original = real_docx("Antrag")
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(buffer, "w") as out:
        for member in source.infolist():
            data = source.read(member)
            out.writestr(member, b"<Properties><Manager>" if member.filename == "docProps/app.xml" else data)
    upload = tmp_path / "upload"
    upload.write_bytes(buffer.getvalue())
    checked = inspect_file(upload, tmp_path, Limits())
    assert checked.path == upload
    assert {"found": "creator", "value": AUTHOR} in checked.notes


@pytest.fixture
async def entry(db: Database, tmp_path: Path) -> tuple[Actor, str]:
    await seed(db)
    me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
    cat = Catalogue(signer=NodeKey.load_or_create(tmp_path / "node.key", "http://node-a.test"))
    row = await cat.publish(me, EntryInput(kind="guide", title="Vorlagen", summary="s", language="de"))
    return me, str(row.uid)


async def test_the_stored_file_is_the_one_without_names(entry: tuple[Actor, str], tmp_path: Path, db: Database) -> None:
    me, uid = entry
    root = tmp_path / "blobs"
    service = Attachments(FileStore(root), Limits(), "http://node-a.test")
    upload = real_odt("Leitfaden Dorfladen")

    async def chunks() -> AsyncIterator[bytes]:
        yield upload

    added = await service.add(me, uid, AttachmentInput(title="Vorlage"), chunks())
    stored = root / added.digest[:2] / added.digest[2:4] / added.digest
    assert added.digest != hashlib.sha256(upload).hexdigest()
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == added.digest and added.size == stored.stat().st_size
    assert AUTHOR.encode() not in b"".join(members(stored).values())
    assert {"removed": "creator", "value": AUTHOR} in added.notes
    assert not list((root / "incoming").iterdir()), "no temporary file is left"
