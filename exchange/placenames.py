"""Names of municipalities as people read them, from the register's official names.

The Destatis register writes a municipality's name with a suffix that is often
abbreviated ("Haßfurt, St", "Mitterfels, M", "Bad Reichenhall, GKSt",
"Sachsenwald (Forstgutsbez.),gemfr.Geb."). `display_name` spells these out
("Haßfurt, Stadt", "Mitterfels, Markt") and mends the missing space after the
comma; `short_name` is the name without any suffix ("Haßfurt"), for lists
where the suffix is noise. The official name stays in the database, in
exports and in the envelope: it is what the register calls the place.
"""

from __future__ import annotations

import re

__all__ = ["ABBREVIATIONS", "display_name", "short_name"]

# Suffixes the register abbreviates, as they are written out.
ABBREVIATIONS = {
    "St": "Stadt",
    "M": "Markt",
    "GKSt": "Große Kreisstadt",
    "gemfr. Gebiet": "gemeindefreies Gebiet",
    "gemfr. Geb.": "gemeindefreies Gebiet",
    "gemfr.Geb.": "gemeindefreies Gebiet",
    "gemfr. Bezirk": "gemeindefreier Bezirk",
    "F": "Flecken",
}
_COMMA = re.compile(r",\s*")


def display_name(official: str) -> str:
    """The official name with the register's abbreviated suffixes written out."""
    if "," not in official:
        return official
    head, *suffixes = _COMMA.split(official.strip())
    return ", ".join([head, *(ABBREVIATIONS.get(s.strip(), s.strip()) for s in suffixes if s.strip())])


def short_name(official: str) -> str:
    """The name without the register's suffix: "Haßfurt, St" -> "Haßfurt"."""
    return official.split(",", 1)[0].strip()
