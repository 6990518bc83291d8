"""GraphiQL for people exploring the API, served by the node itself.

A browser that asks `/graphql` for HTML gets a small page that loads React,
ReactDOM and GraphiQL from `/graphql/assets/` (files vendored from npm under
`exchange/web/static/graphiql/`, with their licences), never from a CDN: a
node may run in an intranet without access to the internet. The page sends
its queries back to the same `/graphql` path as `application/json`, so
GraphiQL exercises exactly what integrators use. The asset route serves only
the files of that folder, by exact name, with long cache lifetimes.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

ASSET_DIR = Path(__file__).resolve().parent.parent / "web" / "static" / "graphiql"
ASSET_PATH = "/graphql/assets"
ASSETS: dict[str, str] = {
    "graphiql.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.css": "text/css; charset=utf-8",
    "react.production.min.js": "text/javascript; charset=utf-8",
    "react-dom.production.min.js": "text/javascript; charset=utf-8",
    "LICENSE.graphiql": "text/plain; charset=utf-8",
    "LICENSE.react": "text/plain; charset=utf-8",
    "LICENSE.react-dom": "text/plain; charset=utf-8",
}

DEFAULT_QUERY = """# The exchange: project descriptions, guides and lessons learned
# shared by German municipalities. Press the play button to run.
query Catalogue {
  entries(first: 10) {
    totalCount
    edges {
      node {
        id
        kind
        title
        publisher { __typename name }
        topics { slug label }
      }
    }
  }
}
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · GraphQL API</title>
<link rel="stylesheet" href="{assets}/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql"><noscript>GraphiQL needs JavaScript. The API itself answers
POST and GET requests at this address (GraphQL over HTTP).</noscript></div>
<script src="{assets}/react.production.min.js"></script>
<script src="{assets}/react-dom.production.min.js"></script>
<script src="{assets}/graphiql.min.js"></script>
<script>
(function () {{
  var endpoint = {endpoint};
  var fetcher = GraphiQL.createFetcher({{ url: endpoint, headers: {{ Accept: "application/graphql-response+json, application/json" }} }});
  var query = {query};
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {{ fetcher: fetcher, defaultQuery: query, shouldPersistHeaders: false }}));
}})();
</script>
</body>
</html>
"""


def _js_string(value: str) -> str:
    """A JavaScript string literal that cannot close the surrounding script element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def graphiql_page(request: Request, title: str = "Exchange node") -> Response:
    """The GraphiQL page (the GraphQL endpoint calls this for browsers asking for HTML)."""
    endpoint = request.url.path or "/graphql"
    body = _PAGE.format(
        title=html.escape(title),
        assets=ASSET_PATH,
        endpoint=_js_string(endpoint),
        query=_js_string(DEFAULT_QUERY),
    )
    return HTMLResponse(body, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


async def graphiql_asset(request: Request) -> Response:
    """One vendored file by exact name, or 404."""
    name = str(request.path_params.get("name", ""))
    media = ASSETS.get(name)
    if media is None or not (ASSET_DIR / name).is_file():
        return JSONResponse({"error": "no such asset", "code": "NOT_FOUND"}, status_code=404)
    return FileResponse(
        ASSET_DIR / name, media_type=media,
        headers={"Cache-Control": "public, max-age=604800", "X-Content-Type-Options": "nosniff"},
    )


def graphiql_routes() -> list[Route]:
    """The asset route, to add beside `/graphql`."""
    return [Route(ASSET_PATH + "/{name}", graphiql_asset, methods=["GET", "HEAD"])]
