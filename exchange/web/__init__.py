"""The web pages of a node: server-rendered HTML for people, in German and English.

`web_routes(node)` (in `routes`) assembles the Starlette routes from the
parts: `pages` (the reading pages), `curation` (collections), `publish`
(the publish forms), `signin`, `account` and `people`, each taking the `Web`
of `site` that the handlers share; `opendata` (catalogue, feeds, exports) gives its own routes, which
the app adds beside them. Everything else here serves them:
`i18n` (locales and gettext catalogues), `render` (templates and error
pages), `svg` and `charts` (map and bar charts), `forms` (session cookie and
CSRF), `params` (search parameters), `facets` (the search page's counts),
`views` (what each page reads from the database).
"""

from exchange.web.routes import web_exception_handlers, web_routes

__all__ = ["web_exception_handlers", "web_routes"]
