"""Attachments: what a file is, the hostile files refused, metadata removed, storage by digest."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from exchange.attachments import (
    Attachment,
    AttachmentBlob,
    AttachmentInput,
    Attachments,
    FileStore,
    FileTooLargeError,
    Limits,
    RefusedFileError,
)
from exchange.attachments.checks import inspect_file
from exchange.attachments.kinds import CSV, DOCX, JPEG, ODT, PDF, PNG, WEBP, XLSX
from exchange.auth import Actor, find_publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from exchange.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from federation.identity import NodeKey
from tests.exchange import attachment_files as files
from tests.helpers import MUNICIPALITIES, seed
from tests.web.webkit import KISSELBACH

NODE = "http://node-a.test"


def check(tmp_path: Path, data: bytes, limits: Limits | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "upload"
    path.write_bytes(data)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return inspect_file(path, work, limits or Limits())


@pytest.mark.parametrize(("make", "media_type"), [
    (files.pdf, PDF), (files.docx, DOCX), (files.xlsx, XLSX), (files.odt, ODT),
    (lambda: files.photo("JPEG"), JPEG), (lambda: files.photo("WEBP"), WEBP), (files.png, PNG),
    (lambda: "Jahr;Ausgaben €\n2024;1200\n2025;1350\n".encode(), CSV),
])
def test_the_type_comes_from_the_bytes(tmp_path: Path, make, media_type: str) -> None:  # type: ignore[no-untyped-def]
    assert check(tmp_path, make()).media_type == media_type


def test_the_text_of_pdfs_and_office_documents_is_kept_for_search(tmp_path: Path) -> None:
    assert "Wirkungsmessung" in check(tmp_path, files.pdf("Wirkungsmessung im Quartier")).text
    assert "Zuwendungsbescheid" in check(tmp_path, files.docx("Zuwendungsbescheid")).text
    assert "Kassenkredite" in check(tmp_path, files.xlsx("Kassenkredite")).text
    assert "Dorfladen" in check(tmp_path, files.odt("Dorfladen")).text


def test_office_documents_lose_and_report_who_they_name(tmp_path: Path) -> None:
    notes = check(tmp_path, files.docx()).notes
    assert {"removed": "creator", "value": "Erika Mustermann"} in notes
    assert {"removed": "last_modified_by", "value": "Max Muster"} in notes
    assert {"removed": "revision", "value": "7"} in notes
    assert {"removed": "creator", "value": "Erika Mustermann"} in check(tmp_path, files.odt()).notes


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_a_photo_loses_its_gps_position_and_camera_serial(tmp_path: Path, fmt: str) -> None:
    original = files.photo(fmt)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(files.GPS_IFD)  # the fixture has them
    checked = check(tmp_path, original)
    stored = checked.path.read_bytes()
    image = Image.open(io.BytesIO(stored))
    exif = image.getexif()
    assert not exif.get_ifd(files.GPS_IFD) and not exif.get_ifd(files.EXIF_IFD) and not exif.get(0x010F)
    assert b"SN-12345678" not in stored and b"PhoneMaker" not in stored
    assert image.size == (64, 48)
    assert {"removed": "gps"} in checked.notes and {"removed": "serial", "what": "camera serial number"} in checked.notes


HTML_AS_PDF = b"<!DOCTYPE html><html><body><script>alert(1)</script>Bericht</body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("SVG", SVG, "SVG images are refused"),
    ("SVG without declaration", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>', "SVG"),
    ("HTML named .pdf", HTML_AS_PDF, "HTML page"),
    ("HTML after a BOM", b"\xef\xbb\xbf  <html><body>x</body></html>", "HTML page"),
    ("PDF with a ZIP appended", files.pdf() + files.docx(), "polyglot"),
    ("PDF that is also an HTML page", b"%PDF-1.4\n<html><script>alert(1)</script>\n" + files.pdf()[9:], "polyglot"),
    ("JPEG with a ZIP appended", files.photo() + files.docx(), "polyglot"),
    ("PDF header after junk", b"junk before the header\n" + files.pdf(), "does not begin as a PDF"),
    ("truncated PDF", files.pdf()[:-200], "truncated"),
    ("PDF that does not parse", b"%PDF-1.4\nnothing here\n%%EOF\n", "cannot be read"),
    ("truncated JPEG", files.photo(size=(400, 300))[:-900], "truncated"),
    ("truncated PNG", files.png((300, 300))[:-60], "cannot be decoded"),
    ("GIF", b"GIF89a" + bytes(40), "GIF"),
    ("a program", b"MZ\x90\x00" + bytes(200), "allowed are"),
    ("plain ZIP", files._zip([("a.txt", b"hello")]), "not an ODT, ODS, DOCX or XLSX"),
    ("DOCX with macros", files.docx(extra=[("word/vbaProject.bin", b"\x00" * 10)]), "macros"),
    ("DOCX with an XML bomb", files._zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml",
        b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><w>&b;</w>')]),
     "DTD"),
    ("CSV in Latin-1", "Straße;Kosten\nA;1\n".encode("latin-1"), "not UTF-8"),
    ("CSV with ragged rows", b"a;b;c\n1;2;3\n4;5\n", "columns"),
    ("text without columns", b"just one line of prose without separators\n", "not a CSV table"),
    ("empty file", b"", "empty"),
])
def test_hostile_and_wrong_files_are_refused_with_a_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    with pytest.raises(RefusedFileError) as refused:
        check(tmp_path, data)
    assert reason in refused.value.message, f"{name}: {refused.value.message}"


def test_a_zip_bomb_disguised_as_docx_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    bomb = files.zip_bomb_docx(24 * 1024 * 1024)
    assert len(bomb) < 200_000
    with pytest.raises(RefusedFileError, match=r"unpack to \d+ times its size \(a ZIP bomb\?\)"):
        check(tmp_path, bomb)  # by its ratio
    with pytest.raises(RefusedFileError, match="would unpack to 25,165,845 bytes, more than 10,485,760"):
        check(tmp_path, bomb, Limits(unpacked_bytes=10 * 1024 * 1024, unpacked_ratio=10**6))  # by its size


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    with pytest.raises(RefusedFileError, match="pixels"):
        check(tmp_path, files.png((400, 300)), Limits(image_pixels=100_000))


# -- the service: limits, storage by digest, nothing half-stored --


class Node:
    def __init__(self, tmp_path: Path, limits: Limits) -> None:
        self.root = tmp_path / "blobs"
        self.service = Attachments(FileStore(self.root), limits, NODE)

    def stored(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file())


async def chunks_of(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


@pytest.fixture
async def entry(db: Database, tmp_path: Path) -> tuple[Actor, str]:
    await seed(db)
    me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
    cat = Catalogue(signer=NodeKey.load_or_create(tmp_path / "node.key", NODE))
    row = await cat.publish(me, EntryInput(kind="project", title="Evaluation", summary="s", language="de"))
    return me, str(row.uid)


async def test_a_file_is_stored_once_by_its_digest(entry: tuple[Actor, str], tmp_path: Path, db: Database) -> None:
    me, uid = entry
    node = Node(tmp_path, Limits())
    report = files.pdf("Abschlussbericht")
    added = await node.service.add(me, uid, AttachmentInput(title="Bericht", filename="C:\\Users\\x\\bericht 2025.pdf"),
                                   chunks_of(report))
    assert added.digest == hashlib.sha256(report).hexdigest() and added.size == len(report)
    assert added.media_type == PDF and added.filename == "bericht 2025.pdf" and added.license == "CC-BY-4.0"
    assert node.stored() == [node.root / added.digest[:2] / added.digest[2:4] / added.digest]
    assert node.stored()[0].read_bytes() == report
    assert "Abschlussbericht" in (await AttachmentBlob.get(digest=added.digest)).text
    with pytest.raises(ConflictError, match="attached to the entry already"):
        await node.service.add(me, uid, AttachmentInput(title="again"), chunks_of(report))
    await node.service.remove(me, uid, added.digest)
    assert node.stored() == [] and not await AttachmentBlob.exists()


async def test_an_image_needs_its_alt_text(entry: tuple[Actor, str], tmp_path: Path, db: Database) -> None:
    me, uid = entry
    node = Node(tmp_path, Limits())
    with pytest.raises(InvalidInputError, match="description"):
        await node.service.add(me, uid, AttachmentInput(title="Rathaus"), chunks_of(files.photo()))
    added = await node.service.add(me, uid, AttachmentInput(title="Rathaus", description="Das Rathaus im Schnee"),
                                   chunks_of(files.photo()))
    assert added.media_type == JPEG and added.digest != hashlib.sha256(files.photo()).hexdigest()
    assert b"SN-12345678" not in node.stored()[0].read_bytes()
    assert not list((node.root / "incoming").iterdir())


async def test_a_huge_upload_is_refused_while_it_streams(entry: tuple[Actor, str], tmp_path: Path, db: Database) -> None:
    me, uid = entry
    node = Node(tmp_path, Limits(file_bytes=1024 * 1024, entry_bytes=5 * 1024 * 1024))
    sent = 0

    async def two_gigabytes() -> AsyncIterator[bytes]:
        nonlocal sent
        block = b"%PDF-1.4\n" + bytes(65536 - 9)
        for _ in range(2 * 1024 * 1024 * 1024 // len(block)):
            sent += len(block)
            yield block

    with pytest.raises(FileTooLargeError, match="larger than 1,048,576 bytes"):
        await node.service.add(me, uid, AttachmentInput(title="huge"), two_gigabytes())
    assert sent <= 1024 * 1024 + 65536  # stopped at the limit, not after 2 GB
    assert node.stored() == [] and not await Attachment.exists()


async def test_an_interrupted_upload_leaves_nothing(entry: tuple[Actor, str], tmp_path: Path, db: Database) -> None:
    me, uid = entry
    node = Node(tmp_path, Limits())

    async def broken() -> AsyncIterator[bytes]:
        yield files.pdf()[:100]
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await node.service.add(me, uid, AttachmentInput(title="cut"), broken())
    assert node.stored() == [] and not await Attachment.exists()


async def test_an_entry_holds_at_most_its_limit(entry: tuple[Actor, str], tmp_path: Path, db: Database) -> None:
    me, uid = entry
    first, second = files.pdf("eins " * 200), files.pdf("zwei " * 200)
    node = Node(tmp_path, Limits(file_bytes=len(first) + 10, entry_bytes=len(first) + 100))
    await node.service.add(me, uid, AttachmentInput(title="eins"), chunks_of(first))
    with pytest.raises(FileTooLargeError, match="does not fit"):
        await node.service.add(me, uid, AttachmentInput(title="zwei"), chunks_of(second))
    assert await Attachment.all().count() == 1 and len(node.stored()) == 1


async def test_only_the_entrys_writers_add_files(entry: tuple[Actor, str], tmp_path: Path, db: Database) -> None:
    _, uid = entry
    node = Node(tmp_path, Limits())
    other = Actor(publisher=await find_publisher(MUNICIPALITIES[1]["official_key"]), scopes=frozenset({"publish"}))
    with pytest.raises(PermissionDeniedError):
        await node.service.add(other, uid, AttachmentInput(title="x"), chunks_of(files.pdf()))
    with pytest.raises(NotFoundError):
        await node.service.add(other, "00000000-0000-0000-0000-000000000000", AttachmentInput(title="x"),
                               chunks_of(files.pdf()))
    assert node.stored() == []


async def test_a_blob_shared_by_two_entries_stays_until_the_last_goes(
        entry: tuple[Actor, str], tmp_path: Path, db: Database) -> None:
    me, uid = entry
    node = Node(tmp_path, Limits())
    cat = Catalogue(signer=NodeKey.load_or_create(tmp_path / "node.key", NODE))
    second = str((await cat.publish(me, EntryInput(kind="project", title="Zweites", summary="s"))).uid)
    report = files.pdf()
    a = await node.service.add(me, uid, AttachmentInput(title="Bericht"), chunks_of(report))
    await node.service.add(me, second, AttachmentInput(title="Bericht"), chunks_of(report))
    assert len(node.stored()) == 1 and await AttachmentBlob.all().count() == 1
    await node.service.remove(me, uid, a.digest)
    assert len(node.stored()) == 1
    await node.service.remove(me, second, a.digest)
    assert node.stored() == []
