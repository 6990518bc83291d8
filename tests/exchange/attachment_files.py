"""Files for the attachment tests, made here: real PDFs, office documents and photos, and hostile ones."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

GPS_IFD = 0x8825
EXIF_IFD = 0x8769


XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
       b"<dc:creator><rdf:Seq><rdf:li>Erika Mustermann (XMP)</rdf:li></rdf:Seq></dc:creator>"
       b"<xmp:CreatorTool>Writer</xmp:CreatorTool></rdf:Description></rdf:RDF></x:xmpmeta>"
       b'<?xpacket end="w"?>')


AUTHOR_INFO = b"<< /Title (Bericht) /Author (Erika Mustermann) >>"


def pdf(text: str = "Evaluationsbericht", *, info: bytes = b"<< /Title (Bericht) >>", xmp: bool = False) -> bytes:
    """A one-page PDF whose page shows `text` (Helvetica), with a correct cross-reference table,
    `info` as its document information (a title only: stored as it is; `AUTHOR_INFO` names the
    author) and, with `xmp`, an XMP stream naming the author too."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R%s >>" % (b" /Metadata 7 0 R" if xmp else b""),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
         b"/Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        info,
    ]
    if xmp:
        objects.append(b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(XMP) + XMP + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _zip(members: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(members):
            kind = zipfile.ZIP_STORED if stored_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=kind)
    return buffer.getvalue()


CORE = (b'<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties '
        b'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Erika Mustermann</dc:creator>'
        b"<cp:lastModifiedBy>Max Muster</cp:lastModifiedBy><cp:revision>7</cp:revision></cp:coreProperties>")


def docx(text: str = "Vorlage Antrag", *, extra: list[tuple[str, bytes]] | None = None) -> bytes:
    document = ('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body>'
                "</w:document>").encode()
    return _zip([("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'), ("word/document.xml", document),
                 ("docProps/core.xml", CORE), *(extra or [])])


def xlsx(text: str = "Haushalt") -> bytes:
    strings = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               f"<si><t>{text}</t></si></sst>").encode()
    return _zip([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>"),
                 ("xl/sharedStrings.xml", strings)])


def odt(text: str = "Leitfaden") -> bytes:
    content = ('<?xml version="1.0"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
               f"<text:p>{text}</text:p></office:text></office:body></office:document-content>").encode()
    meta = (b'<?xml version="1.0"?><office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
            b' xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"><office:meta>'
            b"<meta:initial-creator>Erika Mustermann</meta:initial-creator><meta:editing-cycles>3</meta:editing-cycles>"
            b"</office:meta></office:document-meta>")
    return _zip([("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", content),
                 ("meta.xml", meta)], stored_first=True)


def photo(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), *, gps: bool = True) -> bytes:
    """A photo with a GPS position, a camera serial number and a make, as phones write them."""
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 17.9)}
    exif[EXIF_IFD] = {0xA431: "SN-12345678"}
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=exif)
    return buffer.getvalue()


def png(size: tuple[int, int] = (32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 255, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def zip_bomb_docx(unpacked: int) -> bytes:
    """A DOCX-shaped archive with a member of `unpacked` zero bytes (packs about 1000 times)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", b"<w:document/>")
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as member:
            block = bytes(1024 * 1024)
            for _ in range(unpacked // len(block)):
                member.write(block)
    return buffer.getvalue()
