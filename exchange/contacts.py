"""An entry's contact is an office or a role, never a person.

A contact travels to every node of the network, so it must not name a person:
`person_in_role` finds a salutation or an academic title ("Frau", "Dr.") or a
person's name (a common given name followed by a capitalised word that is not
an office word, "Erika Mustermann", or the other way round with a comma,
"Mustermann, Erika"), and `personal_address` an e-mail address made of a given
name and a surname ("erika.mustermann@…"). The given names are a list shipped
in `data/given_names.txt`. Office words ("Amt", "Stelle", "Büro", "Team", …)
keep a role that happens to begin with a name ("Max-Planck-Institut" aside,
roles rarely do). Pure functions.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from pathlib import Path

__all__ = ["given_names", "person_in_role", "personal_address"]

NAMES_PATH = Path(__file__).parent / "data" / "given_names.txt"
_SALUTATION = re.compile(r"(?<![\w.])(Herrn?|Frau|Hr\.|Fr\.|Dr\.|Prof\.|Mr\.?|Mrs\.?|Ms\.?|Mx\.?)(?=\s|$)")
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
# Parts of words that make a phrase an office, a role or a place, not a surname.
_OFFICE = re.compile(
    r"amt|ämter|stelle|büro|buero|referat|abteilung|bereich|team|verwaltung|service|leitung|dienst|"
    r"beauftragt|zentrale|rathaus|stadt|gemeinde|kreis|kommune|management|manager|koordination|"
    r"office|department|unit|desk|support|planung|werk|hof|institut|schule|bibliothek|archiv|"
    r"kanzlei|sekretariat|presse|digital|daten|data|projekt|project|gruppe|group|center|zentrum",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    lines = NAMES_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _surname(word: str) -> bool:
    return word[:1].isupper() and not word.isupper() and _OFFICE.search(word) is None


def person_in_role(text: str) -> str | None:
    """The words of `text` that name a person (a salutation, a title or a name); None for a role."""
    salutation = _SALUTATION.search(text)
    if salutation is not None:
        return salutation.group(0).strip()
    names = given_names()
    words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]
    for (first, _, end), (second, start, _) in itertools.pairwise(words):
        between = text[end:start]
        given = first.lower() in names or all(part in names for part in first.lower().split("-"))
        if between.strip() == "" and first[:1].isupper() and given and _surname(second):
            return f"{first} {second}"
        if between.strip() == "," and second.lower() in names and _surname(first) \
                and second[:1].isupper() and (len(words) == 2 or text[words[-1][2]:].strip() == ""):
            return f"{first}, {second}"
    return None


def personal_address(email: str) -> bool:
    """Whether an e-mail address is a person's: given name and surname (or an initial) before the @."""
    local = email.split("@", 1)[0].lower()
    parts = [p for p in re.split(r"[._-]", local) if p]
    if len(parts) != 2:
        return False
    first, last = parts
    return (first in given_names() or len(first) == 1) and last.isalpha() and len(last) > 1 \
        and _OFFICE.search(last) is None and last not in given_names() | {"info", "kontakt", "contact", "post"}
