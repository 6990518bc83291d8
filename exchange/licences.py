"""The licences an entry may carry: SPDX ids with their names.

An entry is open content; its licence is one of a short list of open
licences that DCAT-AP.de knows (so the open-data export can name it), given by
its SPDX id. `canonical_licence` accepts an id in any letter case and the
spellings GovData uses (`dl-de/by-2-0`) and returns the id as listed here;
anything else is refused with a `FieldError` that names the allowed ids.
"""

from __future__ import annotations

from exchange.errors import N_, FieldError

__all__ = ["LICENCES", "canonical_licence", "licence_name"]

# SPDX id -> the licence's name (names are proper names, the same in every language).
LICENCES: dict[str, str] = {
    "CC-BY-4.0": "Creative Commons Attribution 4.0 (CC BY 4.0)",
    "CC-BY-SA-4.0": "Creative Commons Attribution-ShareAlike 4.0 (CC BY-SA 4.0)",
    "CC0-1.0": "Creative Commons Zero 1.0 (CC0 1.0)",
    "DL-DE-BY-2.0": "Datenlizenz Deutschland – Namensnennung – 2.0",
    "DL-DE-ZERO-2.0": "Datenlizenz Deutschland – Zero – 2.0",
    "CC-BY-3.0-DE": "Creative Commons Attribution 3.0 Germany (CC BY 3.0 DE)",
    "ODbL-1.0": "Open Data Commons Open Database License 1.0",
    "EUPL-1.2": "European Union Public Licence 1.2",
    "Apache-2.0": "Apache License 2.0",
    "GPL-3.0-only": "GNU General Public License 3.0",
}
_BY_LOWER = {key.lower(): key for key in LICENCES}
_ALIASES = {"dl-de/by-2-0": "DL-DE-BY-2.0", "dl-de/zero-2-0": "DL-DE-ZERO-2.0", "gpl-3.0": "GPL-3.0-only"}


def canonical_licence(value: str, field: str = "license") -> str:
    """The listed SPDX id of `value` (any letter case, GovData spellings), else FieldError."""
    key = value.strip().lower()
    found = _BY_LOWER.get(key) or _ALIASES.get(key)
    if found is None:
        raise FieldError(field, N_("%(value)s is not a licence an entry may carry; choose one of %(allowed)s."),
                         value=value.strip()[:60], allowed=", ".join(LICENCES))
    return found


def licence_name(spdx: str) -> str:
    return LICENCES.get(spdx, spdx)
