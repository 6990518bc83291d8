"""Serving the images and files of imported guide bundles at /guides/assets/{org}/{path}.

The bytes come from `GuideAsset` rows written by the guide import. Answers
carry the stored content type, `nosniff`, a strict content security policy
(an SVG cannot run scripts) and an ETag from the content hash, so a browser
revalidates cheaply. Unknown assets are a plain 404.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from exchange.curation import find_asset

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "Cache-Control": "public, max-age=300",
}


async def guide_asset(request: Request) -> Response:
    organisation = str(request.path_params["organisation"])
    path = str(request.path_params["path"])
    asset = await find_asset(organisation, path)
    if asset is None:
        return PlainTextResponse("not found", status_code=404)
    etag = f'"{asset.sha256}"'
    headers = {**_HEADERS, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(bytes(asset.data), media_type=asset.content_type, headers=headers)


def asset_routes(node: Any = None) -> list[BaseRoute]:
    return [
        Route("/guides/assets/{organisation}/{path:path}", guide_asset, methods=["GET", "HEAD"])
    ]
