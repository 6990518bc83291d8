"""The web pages of a node: server-rendered HTML for people, in German and English.

`web_routes(node)` gives the Starlette routes (pages, the publish forms, the
static files); everything else here serves it: `i18n` (locales and gettext
catalogues), `svg` (map and bar chart), `forms` (session cookie and CSRF),
`views` (what each page reads from the database).
"""

from exchange.web.routes import web_routes

__all__ = ["web_routes"]
