"""Which characters a text of an entry may hold: those XML 1.0 allows.

Entries become Atom feeds, RDF/XML and HTML, here and on every peer; one NUL
byte makes such a document unreadable. XML 1.0 allows tab, line feed, carriage
return and every code point from U+0020 up, except the surrogates
(U+D800-U+DFFF, which in a Python string can only stand alone, unpaired) and
U+FFFE and U+FFFF. `forbidden_character` finds the first character outside
that set in a value (a string, or lists and objects of strings, as an entry's
keywords or goals are); `describe` names it for an error message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ForbiddenCharacter", "describe", "forbidden_character"]

# Everything XML 1.0's Char production leaves out (https://www.w3.org/TR/xml/#charsets).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class ForbiddenCharacter:
    """The first forbidden character of a value: where it is and which it is."""

    path: str  # "" for the value itself, else e.g. "[2]" or "[0].indicators[1].name"
    position: int  # index in that string
    character: str

    def message(self, field: str) -> str:
        return (f"{field}{self.path} contains {describe(self.character)} at position "
                f"{self.position + 1}; control characters, unpaired surrogates and U+FFFE/U+FFFF "
                "are not allowed in text")


def describe(character: str) -> str:
    """A character as people name it: `U+0000 (NUL)`, `U+D800 (unpaired surrogate)`."""
    code = ord(character)
    names = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL"}
    if 0xD800 <= code <= 0xDFFF:
        return f"U+{code:04X} (unpaired surrogate)"
    if code in names:
        return f"U+{code:04X} ({names[code]})"
    if code < 0x20:
        return f"U+{code:04X} (control character)"
    return f"U+{code:04X}"


def forbidden_character(value: object, path: str = "") -> ForbiddenCharacter | None:
    """The first character XML 1.0 does not allow in `value` (walking lists and mappings,
    keys included), or None. Other values (numbers, None, booleans) hold no text.

    Almost every value is clean: a quick scan (every string of plain dicts, lists and
    tuples joined, searched once) answers that; only a value it finds something in, or one
    of other types, is walked in order to say where (a received page's envelopes took
    a third of a sync's CPU time in the walk)."""
    if _clean(value):
        return None
    return _walk(value, path)


def _clean(value: object) -> bool:
    """True when `value` certainly holds no forbidden character; False when it does, or
    holds types other than str, dict, list, tuple, numbers, booleans and None."""
    strings: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            strings.append(item)  # type: ignore[arg-type]
        elif kind is dict:
            for key, inner in item.items():  # type: ignore[attr-defined]
                if type(key) is str:
                    strings.append(key)
                elif key is not None and type(key) not in _PLAIN:
                    return False
                stack.append(inner)
        elif kind is list or kind is tuple:
            stack.extend(item)  # type: ignore[arg-type]
        elif item is not None and kind not in _PLAIN:
            return False
    return _FORBIDDEN.search(" ".join(strings)) is None


_PLAIN = (int, float, bool)


def _walk(value: object, path: str) -> ForbiddenCharacter | None:
    if isinstance(value, str):
        found = _FORBIDDEN.search(value)
        return ForbiddenCharacter(path, found.start(), found.group()) if found else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            hit = _walk(key, f"{path} (a key)") if isinstance(key, str) else None
            hit = hit or _walk(item, f"{path}.{key}")
            if hit:
                return hit
        return None
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        for index, item in enumerate(value):
            hit = _walk(item, f"{path}[{index}]")
            if hit:
                return hit
    return None
