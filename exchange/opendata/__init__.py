"""Open data: the public catalogue as data others can harvest.

`records` reads public entries into plain values, in keyset chunks; the
builders over them stay pure: `dcat` (DCAT-AP.de catalogue pages in RDF,
with licences and attribution), `exports` (CSV and JSON Lines, streamed) and
`feeds` (Atom). The web face (`exchange/web/opendata.py`) serves them.
"""

from exchange.opendata import dcat, exports, feeds, records

__all__ = ["dcat", "exports", "feeds", "records"]
