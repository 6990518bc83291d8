"""PDFs lose the author and programs in their metadata; the stored file is the cleaned one.

The PDFs are written by pypdf as a program writes them for everyone (an
information dictionary with author, title, creator, producer and dates), or
by hand with an XMP stream that names the author as well. What the node
stores must name the author nowhere, still open with its pages and text, keep
its title, and be stored under the digest of the cleaned bytes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from exchange.attachments import AttachmentInput, Attachments, FileStore, Limits
from exchange.attachments.checks import inspect_file
from exchange.attachments.kinds import PDF
from exchange.auth import Actor, find_publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from federation.identity import NodeKey
from tests.exchange import attachment_files as files
from tests.helpers import seed
from tests.web.webkit import KISSELBACH

AUTHOR = "Erika Mustermann"


def written_by_a_program(words: str) -> bytes:
    """A PDF as pypdf writes one, with a page showing `words` and full document information."""
    source = PdfReader(io.BytesIO(files.pdf(words, info=b"<< >>")))
    writer = PdfWriter(clone_from=source)
    writer.add_metadata({"/Author": AUTHOR, "/Title": "Evaluationsbericht 2025", "/Creator": "Writer",
                         "/Producer": "LibreOffice 24.2", "/CreationDate": "D:20250301120000+01'00'",
                         "/Company": "Amt fuer Digitales"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def checked_in(tmp_path: Path, data: bytes, *, rewrite: bool = True):  # type: ignore[no-untyped-def]
    upload = tmp_path / "upload.pdf"
    upload.write_bytes(data)
    return upload, inspect_file(upload, tmp_path, Limits(), rewrite=rewrite)


def test_the_author_programs_and_other_properties_leave_the_pdf_and_its_title_stays(tmp_path: Path) -> None:
    data = written_by_a_program("Fahrgastzaehlung Hallenberg")
    assert AUTHOR.encode() in data and b"LibreOffice" in data, "the PDF carries what is to go"
    upload, checked = checked_in(tmp_path, data)

    assert checked.media_type == PDF and checked.path != upload
    stored = checked.path.read_bytes()
    for gone in (AUTHOR.encode(), b"LibreOffice", b"Writer", b"Amt fuer", b"D:2025", b"pypdf"):
        assert gone not in stored, gone
    reopened = PdfReader(checked.path)
    assert dict(reopened.metadata or {}) == {"/Title": "Evaluationsbericht 2025"}
    assert len(reopened.pages) == 1 and "Fahrgastzaehlung Hallenberg" in reopened.pages[0].extract_text()
    assert "Fahrgastzaehlung" in checked.text
    assert checked.notes == [{"removed": "creator", "value": AUTHOR},
                             {"removed": "software", "value": "Writer; LibreOffice 24.2"},
                             {"removed": "properties", "value": "Company, CreationDate"}]


def test_the_xmp_stream_goes_with_the_information_dictionary(tmp_path: Path) -> None:
    data = files.pdf("Wirkungsmessung", info=files.AUTHOR_INFO, xmp=True)
    assert PdfReader(io.BytesIO(data)).xmp_metadata is not None
    _, checked = checked_in(tmp_path, data)
    stored = checked.path.read_bytes()
    assert b"Mustermann" not in stored and b"xmpmeta" not in stored
    reopened = PdfReader(checked.path)
    assert reopened.xmp_metadata is None and dict(reopened.metadata or {}) == {"/Title": "Bericht"}
    assert {"removed": "xmp"} in checked.notes and {"removed": "creator", "value": AUTHOR} in checked.notes


def test_a_pdf_without_metadata_is_stored_as_it_came(tmp_path: Path) -> None:
    upload, checked = checked_in(tmp_path, files.pdf("Bericht"))
    assert checked.path == upload and checked.notes == []


def test_a_peers_pdf_is_kept_as_signed_and_its_author_reported(tmp_path: Path) -> None:
    upload, checked = checked_in(tmp_path, files.pdf("Bericht", info=files.AUTHOR_INFO), rewrite=False)
    assert checked.path == upload and checked.notes == [{"found": "creator", "value": AUTHOR}]


@pytest.fixture
async def entry(db: Database, tmp_path: Path) -> tuple[Actor, str]:
    await seed(db)
    me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
    cat = Catalogue(signer=NodeKey.load_or_create(tmp_path / "node.key", "http://node-a.test"))
    row = await cat.publish(me, EntryInput(kind="project", title="Evaluation", summary="s", language="de"))
    return me, str(row.uid)


async def test_the_stored_pdf_is_the_cleaned_one_under_its_own_digest(
        entry: tuple[Actor, str], tmp_path: Path, db: Database) -> None:
    me, uid = entry
    root = tmp_path / "blobs"
    service = Attachments(FileStore(root), Limits(), "http://node-a.test")
    upload = written_by_a_program("Abschlussbericht Quartier")

    async def chunks() -> AsyncIterator[bytes]:
        yield upload

    added = await service.add(me, uid, AttachmentInput(title="Bericht", filename="bericht.pdf"), chunks())
    stored = (root / added.digest[:2] / added.digest[2:4] / added.digest).read_bytes()
    assert added.digest != hashlib.sha256(upload).hexdigest()
    assert hashlib.sha256(stored).hexdigest() == added.digest and added.size == len(stored)
    assert AUTHOR.encode() not in stored and b"LibreOffice" not in stored
    assert {"removed": "creator", "value": AUTHOR} in added.notes
    assert not list((root / "incoming").iterdir()), "no temporary file is left"
