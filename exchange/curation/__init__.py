"""Curation: guides, their review, and what organisations recommend.

An organisation imports its guides from a folder of Markdown (`guides`);
a guide moves through review states, each move a signed version (`review`);
collections and endorsements say what an organisation recommends, signed and
federated like entries (`collections`), and those of peers are stored as they
arrive (`received`); `demo` curates the demo node.
"""

from exchange.curation.collections import (
    CurationContentError,
    collection_entries,
    endorsements_of,
    is_curation_envelope,
)
from exchange.curation.demo import load_curation_demo
from exchange.curation.guides import ImportReport, find_asset, import_guides
from exchange.curation.received import apply_received

__all__ = [
    "CurationContentError",
    "ImportReport",
    "apply_received",
    "collection_entries",
    "endorsements_of",
    "find_asset",
    "import_guides",
    "is_curation_envelope",
    "load_curation_demo",
]
