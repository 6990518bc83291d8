"""The files of an entry on the web: their page, the download by digest, the upload endpoint.

- `GET /entries/{uid}/attachments`: the list (type, size, language, licence;
  images with their alt text), and for the entry's writers a plain upload
  form (no JavaScript) and a remove button per file.
- `POST /entries/{uid}/attachments?csrf=…`: the form's upload, read as it
  streams (`uploads.UploadStream`); refused at the limit, never spooled.
- `GET /attachments/{digest}`: the bytes, to whoever may see an entry that
  has them (session or bearer token), with `Content-Disposition` (inline
  only for images and PDFs), `X-Content-Type-Options: nosniff`,
  `Content-Security-Policy: sandbox`, one byte range, and caching by digest
  (immutable; `private` unless the entry is public).
- `POST /api/entries/{uid}/attachments?title=…`: the body is the file
  (`Authorization: Bearer`); answers 201 with the digest as JSON.
  `DELETE /api/entries/{uid}/attachments/{digest}` removes one.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from exchange.attachments import (
    INLINE,
    Attachment,
    AttachmentInput,
    AttachmentInputError,
    Attachments,
    FileTooLargeError,
    StoreUnavailableError,
    attachments_of,
    label,
)
from exchange.auth import ANONYMOUS, Actor, authenticate
from exchange.errors import (
    ConflictError,
    ExchangeError,
    NotFoundError,
    PermissionDeniedError,
)
from exchange.logs import request_id
from exchange.models import LANGUAGES, Entry
from exchange.web import views
from exchange.web.render import status_of
from exchange.web.site import Web, actor_of_request
from exchange.web.uploads import UploadStream

log = logging.getLogger("exchange.web")
YEAR = 365 * 24 * 3600
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
FORM_OVERHEAD = 64 * 1024  # what a form adds to a file: boundaries, headers, the text fields


def service_of(web: Web) -> Attachments:
    service: Attachments = web.node.extra["attachments"]
    return service


def url_of(digest: str) -> str:
    return f"/attachments/{digest}"


def human_size(size: int) -> tuple[float, str]:
    """A size as a number and its unit (B, kB, MB), for the page to format in its language."""
    if size < 1000:
        return float(size), "B"
    if size < 1_000_000:
        return size / 1000, "kB"
    return size / 1_000_000, "MB"


async def _may_write(service: Attachments, actor: Actor, entry: Entry) -> bool:
    try:
        await service.writable_entry(actor, str(entry.uid))
    except ExchangeError:
        return False
    return True


async def attachments_page(web: Web, request: Request, *, status: int = 200, **extra: Any) -> Response:
    actor = actor_of_request(request)
    entry = await views.visible_entry(request.path_params["uid"], actor)
    service = service_of(web)
    rows = (await attachments_of([entry.id]))[entry.id]
    session = web.session(request)
    writer = await _may_write(service, actor, entry)
    return web.page(request, "attachments.html", {
        "e": entry, "files": [_item(a) for a in rows], "writer": writer,
        "csrf": web.sessions.csrf_token(session) if session and writer else "",
        "languages": LANGUAGES, "max_file": human_size(service.limits.file_bytes),
        "max_entry": human_size(service.limits.entry_bytes),
        "used": human_size(sum(a.size for a in rows)),
        "added": request.query_params.get("added", ""), **extra,
    }, status=status)


def _item(a: Attachment) -> dict[str, Any]:
    return {"row": a, "label": label(a.media_type), "size": human_size(a.size), "url": url_of(a.digest),
            "image": a.media_type.startswith("image/"), "pdf": a.media_type == "application/pdf"}


async def show(web: Web, request: Request) -> Response:
    return await attachments_page(web, request)


async def upload(web: Web, request: Request) -> Response:
    """The browser's upload form: CSRF from the query (checked before a byte is read)."""
    actor = actor_of_request(request)
    uid = request.path_params["uid"]
    session = web.session(request)
    if session is None or not web.sessions.csrf_ok(session, request.query_params.get("csrf")):
        raise PermissionDeniedError("the form has expired or did not come from this site; please try again")
    service = service_of(web)
    await service.writable_entry(actor, uid)
    form: dict[str, str] = {}
    try:
        _check_length(request, service.limits.file_bytes + FORM_OVERHEAD, service)
        stream = UploadStream(request)
        has_file = await stream.read_fields()
        form = stream.fields
        if not has_file:
            raise AttachmentInputError("please choose a file", "no_file")
        data = AttachmentInput(title=form.get("title", ""), description=form.get("description", ""),
                               license=form.get("license", ""), language=form.get("language", ""),
                               filename=stream.filename or "")
        added = await service.add(actor, uid, data, stream.file_chunks(), now=datetime.now(UTC))
    except ClientDisconnect:
        return Response(status_code=400)
    except ExchangeError as exc:
        code = 413 if isinstance(exc, FileTooLargeError) else status_of(exc)
        return await attachments_page(web, request, status=code, problem=exc.message, form=form,
                                      too_large=isinstance(exc, FileTooLargeError),
                                      reason="duplicate" if isinstance(exc, ConflictError)
                                      else getattr(exc, "reason", ""))
    return RedirectResponse(f"/entries/{uid}/attachments?added={added.digest}", status_code=303)


async def remove(web: Web, request: Request) -> Response:
    actor = actor_of_request(request)
    form = await request.form()
    session = web.session(request)
    if session is None or not web.sessions.csrf_ok(session, str(form.get("csrf") or "")):
        raise PermissionDeniedError("the form has expired or did not come from this site; please try again")
    uid = request.path_params["uid"]
    await service_of(web).remove(actor, uid, request.path_params["digest"])
    return RedirectResponse(f"/entries/{uid}/attachments", status_code=303)


def _check_length(request: Request, limit: int, service: Attachments) -> None:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise FileTooLargeError(f"the file is larger than {service.limits.file_bytes:,} bytes, "
                                "the limit of one file")


# -- download and the plain HTTP upload --------------------------------------------------


async def _request_actor(web: Web, request: Request) -> Actor:
    if request.headers.get("authorization"):
        return await authenticate(request.headers["authorization"], now=datetime.now(UTC))
    return await web.actor(request) if web.session(request) else ANONYMOUS


def _json_error(exc: ExchangeError, status: int | None = None) -> JSONResponse:
    code = status or (413 if isinstance(exc, FileTooLargeError) else status_of(exc))
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    return JSONResponse({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
                        status_code=code, headers=headers)


def _disposition(a: Attachment) -> str:
    kind = "inline" if a.media_type in INLINE else "attachment"
    ascii_name = re.sub(r"[^A-Za-z0-9._\- ()]", "_", a.filename) or "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(a.filename)}"


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(start, end exclusive) of a single `Range: bytes=…`; None for the whole file;
    'unsatisfiable' when it lies outside; several ranges are answered whole."""
    if not header or "," in header:
        return None
    found = RANGE.match(header.strip())
    if not found or not (found.group(1) or found.group(2)):
        return None
    first, last = found.group(1), found.group(2)
    if not first:  # the last N bytes
        count = int(last)
        return (max(0, size - count), size) if count else "unsatisfiable"
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or end <= start:
        return "unsatisfiable"
    return start, end


async def download(web: Web, request: Request) -> Response:
    digest = request.path_params["digest"]
    html = "text/html" in request.headers.get("accept", "")
    try:
        actor = await _request_actor(web, request)
        service = service_of(web)
        found, entry = await service.downloadable(digest, actor)
        size = await service.store.size(digest)
        if size is None:
            raise NotFoundError("this file has not been received from its origin node yet")
    except StoreUnavailableError as exc:  # the object store is down: the operator's to fix, not the reader's
        reference = request_id() or digest[:12]
        log.error("file %s could not be served (reference %s): %s", digest, reference, exc.message)
        if html:
            return web.renderer.page(request, "error.html", {"status": 500, "message": "", "reference": reference},
                                     status=503)
        return JSONResponse({"errors": [{"message": "the file cannot be read at the moment; try again later",
                                         "extensions": {"code": exc.code}}]}, status_code=503,
                            headers={"Retry-After": "60"})
    except ExchangeError as exc:
        if html:
            return web.renderer.error(request, exc)
        return _json_error(exc)
    etag = f'"{digest}"'
    media_type = found.media_type + ("; charset=utf-8" if found.media_type == "text/csv" else "")
    headers = {
        "ETag": etag,
        "Cache-Control": f"{'public' if entry.visibility == 'public' else 'private'}, max-age={YEAR}, immutable",
        "Content-Disposition": _disposition(found),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Accept-Ranges": "bytes",
    }
    if entry.visibility != "public":
        headers["Vary"] = "Cookie, Authorization"
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    wanted = _byte_range(request.headers.get("range"), size)
    if request.headers.get("if-range") not in (None, etag):
        wanted = None  # the client's partial copy is of other bytes: send them all
    if wanted == "unsatisfiable":
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = wanted if isinstance(wanted, tuple) else (0, size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if isinstance(wanted, tuple):
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(service.store.read(digest, start, end), status_code=status, headers=headers,
                             media_type=media_type)


async def api_upload(web: Web, request: Request) -> Response:
    """`POST /api/entries/{uid}/attachments?title=…&description=…&license=…&language=…&filename=…`."""
    try:
        actor = await authenticate(request.headers.get("authorization"), now=datetime.now(UTC))
        service = service_of(web)
        uid = request.path_params["uid"]
        await service.writable_entry(actor, uid)
        _check_length(request, service.limits.file_bytes, service)
        q = request.query_params
        data = AttachmentInput(title=q.get("title", ""), description=q.get("description", ""),
                               license=q.get("license", ""), language=q.get("language", ""),
                               filename=q.get("filename", ""))
        added = await service.add(actor, uid, data, request.stream(), now=datetime.now(UTC))
    except ClientDisconnect:
        return Response(status_code=400)
    except ExchangeError as exc:
        return _json_error(exc)
    # What was removed from the file, or found in it and kept (names, revision counts, GPS): the uploader's to know.
    return JSONResponse({**attachment_json(added, str(request.base_url).rstrip("/")), "notes": added.notes},
                        status_code=201)


def attachment_json(a: Attachment, base: str) -> dict[str, Any]:
    return {"digest": a.digest, "size": a.size, "mediaType": a.media_type, "title": a.title,
            "description": a.description, "license": a.license, "language": a.language,
            "filename": a.filename, "url": base + url_of(a.digest), "notes": a.notes}


async def api_remove(web: Web, request: Request) -> Response:
    try:
        actor = await authenticate(request.headers.get("authorization"), now=datetime.now(UTC))
        await service_of(web).remove(actor, request.path_params["uid"], request.path_params["digest"])
    except ExchangeError as exc:
        return _json_error(exc)
    return Response(status_code=204)


def attachment_routes(web: Web) -> list[BaseRoute]:
    def plain(fn: Any) -> Any:  # no session wrapper: these answer tokens and JSON clients too
        async def endpoint(request: Request) -> Response:
            return await fn(web, request)  # type: ignore[no-any-return]

        return endpoint

    return [
        Route("/entries/{uid}/attachments", web.handle(show)),
        Route("/entries/{uid}/attachments", web.handle(upload), methods=["POST"]),
        Route("/entries/{uid}/attachments/{digest}/remove", web.handle(remove), methods=["POST"]),
        Route("/attachments/{digest}", plain(download), methods=["GET", "HEAD"]),
        Route("/api/entries/{uid}/attachments", plain(api_upload), methods=["POST"]),
        Route("/api/entries/{uid}/attachments/{digest}", plain(api_remove), methods=["DELETE"]),
    ]
