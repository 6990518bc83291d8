"""The files of an entry over HTTP: the page and its plain upload form, the download, the API upload."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image

from exchange.attachments import Attachment
from exchange.db import Database
from exchange.web.forms import COOKIE, sign_in
from tests.exchange import attachment_files as files
from tests.web.webkit import Content, page_client, populate


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    return await populate(db, tmp_path)


@pytest.fixture
async def client(content: Content, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(content, db) as c:
        yield c


async def signed_in(client: httpx.AsyncClient, content: Content, token: str | None = None) -> None:
    _, session = await sign_in(token or content.token, now=datetime.now(UTC))
    client.cookies.set(COOKIE, content.node.extra["web"].sessions.dumps(session), domain="node-a.test")


def csrf_of(html: str) -> str:
    found = re.search(r"attachments\?csrf=([0-9a-f]+)", html)
    assert found is not None, "the upload form carries its CSRF token"
    return found.group(1)


async def upload(client: httpx.AsyncClient, uid: str, data: bytes, name: str, **fields: str) -> httpx.Response:
    page = await client.get(f"/entries/{uid}/attachments")
    form = {"title": "Bericht", "description": "", "license": "", "language": "de", **fields}
    return await client.post(f"/entries/{uid}/attachments?csrf={csrf_of(page.text)}", data=form,
                             files={"file": (name, data, "application/octet-stream")})


async def api_upload(client: httpx.AsyncClient, uid: str, data: bytes, token: str, **params: str) -> httpx.Response:
    return await client.post(f"/api/entries/{uid}/attachments", params={"title": "Bericht", **params},
                             content=data, headers={"Authorization": f"Bearer {token}"})


async def test_the_entry_page_links_to_its_files(client: httpx.AsyncClient, content: Content) -> None:
    r = await client.get(f"/entries/{content.project}")
    assert f'href="/entries/{content.project}/attachments"' in r.text
    r = await client.get(f"/entries/{content.project}/attachments")
    assert r.status_code == 200 and "Dieser Eintrag hat keine Dateien." in r.text
    assert 'type="file"' not in r.text  # no form for readers


async def test_a_writer_uploads_a_report_and_a_photo_without_javascript(
        client: httpx.AsyncClient, content: Content) -> None:
    await signed_in(client, content)
    report = files.pdf("Wirkungsbericht", info=files.AUTHOR_INFO, xmp=True)
    r = await upload(client, content.project, report, "bericht.pdf", title="Evaluationsbericht 2025")
    assert r.status_code == 303, r.text
    r = await upload(client, content.project, files.photo(), "IMG_0001.JPG", title="Das Rathaus",
                     description="Das Rathaus von Kisselbach im Sommer")
    assert r.status_code == 303, r.text
    page = await client.get(r.headers["location"])
    assert "Die Datei wurde hinzugefügt." in page.text and "Evaluationsbericht 2025" in page.text
    assert 'alt="Das Rathaus von Kisselbach im Sommer"' in page.text
    assert "(GPS), wurde entfernt" in page.text
    assert "Der Name der Autorin oder des Autors (Erika Mustermann) wurde aus den Eigenschaften" in page.text
    assert "Die XMP-Metadaten des PDF wurden entfernt." in page.text
    assert "PDFs werden ohne ihre Autorin oder ihren Autor, die Programme, mit denen sie erstellt wurden" in page.text
    rows = {a.title: a for a in await Attachment.all()}
    assert rows["Evaluationsbericht 2025"].digest != hashlib.sha256(report).hexdigest()
    client.cookies.clear()
    stored = await client.get(f"/attachments/{rows['Evaluationsbericht 2025'].digest}")
    assert hashlib.sha256(stored.content).hexdigest() == rows["Evaluationsbericht 2025"].digest
    assert b"Mustermann" not in stored.content and b"Wirkungsbericht" in stored.content
    photo = await client.get(f"/attachments/{rows['Das Rathaus'].digest}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(photo.content)).getexif().get_ifd(files.GPS_IFD)
    assert b"SN-12345678" not in photo.content


async def test_the_uploader_is_told_which_names_left_an_office_document(
        client: httpx.AsyncClient, content: Content) -> None:
    await signed_in(client, content)
    r = await upload(client, content.project, files.docx("Antragsvorlage"), "antrag.docx", title="Antrag")
    assert r.status_code == 303, r.text
    page = (await client.get(r.headers["location"])).text
    assert "Der Name der Autorin oder des Autors (Erika Mustermann) wurde aus den Eigenschaften" in page
    assert "zuletzt geändert hat (Max Muster), wurde aus seinen Eigenschaften entfernt." in page
    assert "Die Zahl der Überarbeitungen (7) wurde" in page
    english = (await client.get(r.headers["location"], headers={"Accept-Language": "en"})).text
    assert "The author's name (Erika Mustermann) was removed from the document's properties." in english
    stored = await client.get(f"/attachments/{(await Attachment.get(title='Antrag')).digest}")
    assert b"Erika Mustermann" not in b"".join(_members(stored.content).values())
    answer = await api_upload(client, content.project, files.odt("Leitfaden"), content.token, title="Leitfaden")
    assert answer.status_code == 201
    assert {"removed": "creator", "value": "Erika Mustermann"} in answer.json()["notes"]


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize(("data", "name", "status", "said"), [
    (b"<html><body><script>alert(1)</script></body></html>", "bericht.pdf", 400, "eine Webseite (HTML)"),
    (files.pdf() + files.docx(), "bericht.pdf", 400, "zugleich zwei Arten von Dateien"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg", 400, "SVG-Bilder können Skripte enthalten"),
    (files.zip_bomb_docx(8 * 1024 * 1024), "vorlage.docx", 400, "auf ein Vielfaches seiner Größe"),
    (files.photo(size=(400, 300))[:-900], "foto.jpg", 400, "beschädigt oder unvollständig"),
])
async def test_the_form_refuses_hostile_files_with_a_reason(
        client: httpx.AsyncClient, content: Content, data: bytes, name: str, status: int, said: str) -> None:
    await signed_in(client, content)
    r = await upload(client, content.project, data, name)
    assert r.status_code == status and "Die Datei wurde nicht angenommen." in r.text and said in r.text
    assert 'aria-invalid="true"' in r.text and not await Attachment.exists()


@pytest.mark.parametrize(("fields", "name", "data", "german", "english"), [
    ({"description": ""}, "rathaus.jpg", files.photo(), "Ein Bild braucht eine Beschreibung dessen, was es zeigt",
     "A picture needs a description of what it shows"),
    ({}, "", b"", "Bitte wählen Sie eine Datei aus.", "Please choose a file."),  # the empty file field
    ({"title": " "}, "bericht.pdf", files.pdf(), "Bitte geben Sie der Datei einen Titel.", "Please give the file a title."),
    ({"language": "fr"}, "bericht.pdf", files.pdf(), "Bitte prüfen Sie Titel, Beschreibung, Lizenz und Sprache.",
     "Please check the title, the description, the licence and the language."),
], ids=["alt text", "no file", "no title", "language"])
async def test_the_form_says_what_is_missing_in_the_readers_language(
        client: httpx.AsyncClient, content: Content, fields: dict[str, str], name: str, data: bytes,
        german: str, english: str) -> None:
    await signed_in(client, content)
    r = await upload(client, content.project, data, name, **fields)
    assert r.status_code == 400 and "Die Datei wurde nicht angenommen." in r.text and german in r.text
    page = await client.get(f"/entries/{content.project}/attachments", headers={"Accept-Language": "en"})
    r = await client.post(f"/entries/{content.project}/attachments?csrf={csrf_of(page.text)}",
                          headers={"Accept-Language": "en"},
                          data={"title": "Report", "description": "", "license": "", "language": "de", **fields},
                          files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 400 and english in r.text and german not in r.text
    assert not await Attachment.exists()


async def test_the_same_file_twice_is_refused_saying_so(client: httpx.AsyncClient, content: Content) -> None:
    await signed_in(client, content)
    assert (await upload(client, content.project, files.pdf("Bericht"), "bericht.pdf")).status_code == 303
    r = await upload(client, content.project, files.pdf("Bericht"), "bericht-2.pdf", title="Nochmal")
    assert r.status_code == 409 and "Diese Datei gehört schon zu diesem Eintrag." in r.text
    assert await Attachment.all().count() == 1


async def test_a_too_large_file_is_refused_by_its_announced_length(client: httpx.AsyncClient, content: Content) -> None:
    await signed_in(client, content)
    page = await client.get(f"/entries/{content.project}/attachments")
    r = await client.post(f"/entries/{content.project}/attachments?csrf={csrf_of(page.text)}", content=b"x",
                          headers={"Content-Type": "multipart/form-data; boundary=b",
                                   "Content-Length": str(3 * 1024 ** 3)})
    assert r.status_code == 413 and "Die Datei ist zu groß." in r.text


async def test_an_upload_without_the_forms_token_is_refused(client: httpx.AsyncClient, content: Content) -> None:
    await signed_in(client, content)
    r = await client.post(f"/entries/{content.project}/attachments?csrf=forged",
                          files={"file": ("a.pdf", files.pdf(), "application/pdf")}, data={"title": "x"})
    assert r.status_code == 403 and not await Attachment.exists()


async def test_download_headers_ranges_and_caching(client: httpx.AsyncClient, content: Content) -> None:
    report = files.pdf("Bericht " * 50)
    r = await api_upload(client, content.project, report, content.token, filename="Bericht 2025 (final).pdf")
    assert r.status_code == 201, r.text
    digest = r.json()["digest"]
    assert digest == hashlib.sha256(report).hexdigest() and r.json()["url"].endswith(f"/attachments/{digest}")
    r = await client.get(f"/attachments/{digest}")
    assert r.content == report
    h = r.headers
    assert h["content-type"] == "application/pdf" and h["x-content-type-options"] == "nosniff"
    assert h["content-security-policy"] == "sandbox"
    assert h["content-disposition"].startswith('inline; filename="Bericht 2025 (final).pdf"')
    assert h["cache-control"] == "public, max-age=31536000, immutable" and h["etag"] == f'"{digest}"'
    part = await client.get(f"/attachments/{digest}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == report[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(report)}"
    tail = await client.get(f"/attachments/{digest}", headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == report[-5:]
    outside = await client.get(f"/attachments/{digest}", headers={"Range": f"bytes={len(report)}-"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{len(report)}"
    again = await client.get(f"/attachments/{digest}", headers={"If-None-Match": f'"{digest}"'})
    assert again.status_code == 304 and not again.content


async def test_office_documents_and_csv_are_downloaded_never_shown(client: httpx.AsyncClient, content: Content) -> None:
    for data, name in ((files.docx(), "vorlage.docx"), (b"a;b\n1;2\n", "daten.csv")):
        r = await api_upload(client, content.project, data, content.token, filename=name, title=name)
        assert r.status_code == 201, r.text
        got = await client.get(r.json()["url"].removeprefix("http://node-a.test"))
        assert got.headers["content-disposition"].startswith(f'attachment; filename="{name}"')
    assert got.headers["content-type"] == "text/csv; charset=utf-8"


async def test_a_drafts_files_are_hidden_from_whoever_may_not_see_the_draft(
        client: httpx.AsyncClient, content: Content) -> None:
    r = await api_upload(client, content.draft, files.pdf("geheim"), content.token)
    assert r.status_code == 201, r.text
    url = f"/attachments/{r.json()['digest']}"
    assert (await client.get(url)).status_code == 404
    other = await client.get(url, headers={"Authorization": f"Bearer {content.other_token}"})
    assert other.status_code == 404
    own = await client.get(url, headers={"Authorization": f"Bearer {content.token}"})
    assert own.status_code == 200 and own.headers["cache-control"].startswith("private")
    assert (await client.get(f"/entries/{content.draft}/attachments")).status_code == 404


async def test_the_api_upload_names_its_refusals(client: httpx.AsyncClient, content: Content) -> None:
    anonymous = await client.post(f"/api/entries/{content.project}/attachments?title=x", content=files.pdf())
    assert anonymous.status_code == 401 and anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    foreign = await api_upload(client, content.project, files.pdf(), content.other_token)
    assert foreign.status_code == 403
    big = await client.post(f"/api/entries/{content.project}/attachments?title=x", content=b"x",
                            headers={"Authorization": f"Bearer {content.token}", "Content-Length": str(2 * 1024 ** 3)})
    assert big.status_code == 413 and big.json()["errors"][0]["extensions"]["code"] == "TOO_LARGE"
    svg = await api_upload(client, content.project, b'<svg xmlns="http://www.w3.org/2000/svg"/>', content.token)
    assert svg.status_code == 400 and "SVG" in svg.json()["errors"][0]["message"]
    ok = await api_upload(client, content.project, files.pdf(), content.token)
    digest = ok.json()["digest"]
    gone = await client.delete(f"/api/entries/{content.project}/attachments/{digest}",
                               headers={"Authorization": f"Bearer {content.token}"})
    assert gone.status_code == 204 and (await client.get(f"/attachments/{digest}")).status_code == 404


async def test_graphql_lists_an_entrys_attachments_with_their_download_url(
        client: httpx.AsyncClient, content: Content) -> None:
    report = files.pdf("Bericht")
    digest = (await api_upload(client, content.project, report, content.token, title="Abschlussbericht")).json()["digest"]
    query = ('query($id: ID!) { entry(id: $id) { title attachments { digest size mediaType title license '
             'language received downloadUrl } } }')
    r = await client.post("/graphql", json={"query": query, "variables": {"id": content.project}},
                          headers={"Accept": "application/json"})
    [found] = r.json()["data"]["entry"]["attachments"]
    assert found == {"digest": digest, "size": len(report), "mediaType": "application/pdf",
                     "title": "Abschlussbericht", "license": "CC-BY-4.0", "language": "de", "received": True,
                     "downloadUrl": f"http://node-a.test/attachments/{digest}"}
    got = await client.get(found["downloadUrl"].removeprefix("http://node-a.test"))
    assert got.content == report


async def test_withdrawing_an_entry_deletes_its_files(client: httpx.AsyncClient, content: Content) -> None:
    from exchange.attachments import AttachmentBlob
    from exchange.auth import Actor, find_publisher
    from tests.web.webkit import KISSELBACH

    shared = files.pdf("geteilt")
    for uid in (content.project, content.lesson):
        assert (await api_upload(client, uid, shared, content.token)).status_code == 201
    own = (await api_upload(client, content.project, files.docx(), content.token)).json()["digest"]
    me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
    await content.node.catalogue.unpublish(me, content.project)
    assert {a.digest for a in await Attachment.all()} == {hashlib.sha256(shared).hexdigest()}
    assert not await AttachmentBlob.filter(digest=own).exists()
    store = content.node.extra["attachments"].store
    assert not await store.has(own) and await store.has(hashlib.sha256(shared).hexdigest())


async def test_a_report_is_found_by_a_word_that_occurs_only_in_its_text(
        client: httpx.AsyncClient, content: Content) -> None:
    from exchange.catalogue import EntryInput
    from exchange.search import EntryQuery, find_entries

    async def found(word: str) -> set[str]:
        page = await find_entries(EntryQuery(text=word), None, first=20)
        return {str(e.uid) for e in page.entries}

    assert await found("Quartiersbefragung") == set()
    r = await api_upload(client, content.project, files.pdf("Ergebnisse der Quartiersbefragung 2025"), content.token)
    assert r.status_code == 201
    await api_upload(client, content.project, files.docx("Musterbescheid Zuwendung"), content.token, title="Vorlage")
    assert await found("Quartiersbefragung") == {content.project}
    assert await found("Musterbescheid") == {content.project}
    page = await client.get("/search", params={"q": "Quartiersbefragung"})
    assert "LoRaWAN-Sensornetz im Dorf" in page.text
    # a revision recomputes the entry's own terms; the files' terms come back with it
    from exchange.auth import Actor, find_publisher
    from tests.web.webkit import KISSELBACH

    me = Actor(publisher=await find_publisher(KISSELBACH), scopes=frozenset({"publish"}))
    entry = await content.node.catalogue.get(content.project, me)
    await content.node.catalogue.revise(me, content.project, entry.version, EntryInput(
        kind="project", title="LoRaWAN-Sensornetz im Dorf (überarbeitet)", summary="Neu.",
        topics=["digitalisierung"]))
    assert await found("Quartiersbefragung") == {content.project}
    await client.delete(f"/api/entries/{content.project}/attachments/{r.json()['digest']}",
                        headers={"Authorization": f"Bearer {content.token}"})
    assert await found("Quartiersbefragung") == set() and await found("Musterbescheid") == {content.project}


async def test_a_public_entrys_files_are_dcat_distributions_with_size_type_and_checksum(
        client: httpx.AsyncClient, content: Content) -> None:
    from collections import Counter

    from rdflib import Literal, URIRef
    from rdflib.namespace import RDF, SKOS, XSD

    from exchange.opendata import dcat
    from exchange.opendata.records import iter_public
    from tests.exchange.test_dcat_shacl import validate

    report = files.pdf("Bericht")
    digest = (await api_upload(client, content.project, report, content.token, title="Abschlussbericht")).json()["digest"]
    await api_upload(client, content.draft, files.docx(), content.token)  # a draft's file is never open data
    records = [r async for chunk in iter_public() for r in chunk]
    graph = dcat.build_catalog(dcat.CatalogInfo("http://node-a.test", "Test node"), records)
    dist = URIRef(f"http://node-a.test/attachments/{digest}")
    dataset = URIRef(f"http://node-a.test/entries/{content.project}#dataset")
    assert (dataset, dcat.DCAT.distribution, dist) in graph
    assert (dist, dcat.DCAT.mediaType, URIRef(dcat.IANA + "application/pdf")) in graph
    assert (dist, dcat.DCAT.byteSize, Literal(str(len(report)), datatype=XSD.decimal)) in graph
    assert (dist, dcat.DCTERMS.format, URIRef(dcat.EU_FILE_TYPE + "PDF")) in graph
    [checksum] = graph.objects(dist, dcat.SPDX.checksum)
    assert (checksum, RDF.type, dcat.SPDX.Checksum) in graph
    assert str(graph.value(checksum, dcat.SPDX.checksumValue)) == digest
    assert len(list(graph.subjects(RDF.type, dcat.DCAT.Distribution))) == 2 * len(records) + 1
    results = validate(graph)
    # The algorithm is SPDX's own term for SHA-256; DCAT-AP.de asks for one of its hash-algorithm
    # vocabulary, which is not available offline (docs/dcat-ap-de.md). Nothing else is found wanting.
    assert results["spec"] == Counter({("Violation", "Checksum_spdx_algorithm_v_List", str(SKOS.inScheme)): 1}), \
        results["spec"]
