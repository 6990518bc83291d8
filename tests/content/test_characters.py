"""The character rule for entry texts: what XML 1.0 allows, as one table."""

from __future__ import annotations

import pytest

from content import forbidden_character
from content.characters import describe

# (value, path of the first forbidden character or None, its position, the character)
CASES: list[tuple[object, str | None, int, str]] = [
    ("Digitales Rathaus", None, 0, ""),
    ("tab\tline\nreturn\r", None, 0, ""),
    ("Umlaute äöü ß €, emoji 🛰️, CJK 漢字", None, 0, ""),
    ("\u0085 next line and \u007f delete are allowed", None, 0, ""),
    ("\ufffd replacement character", None, 0, ""),
    ("\U0010ffff last code point", None, 0, ""),
    ("a\x00b", "", 1, "\x00"),
    ("\x01", "", 0, "\x01"),
    ("bell\x07", "", 4, "\x07"),
    ("form\x0cfeed", "", 4, "\x0c"),
    ("vertical\x0btab", "", 8, "\x0b"),
    ("escape\x1b[0m", "", 6, "\x1b"),
    ("unit separator\x1f", "", 14, "\x1f"),
    ("lone high \ud800", "", 10, "\ud800"),
    ("lone low \udfff here", "", 9, "\udfff"),
    ("\ufffe", "", 0, "\ufffe"),
    ("not a character \uffff", "", 16, "\uffff"),
    (["ok", "also ok", "bad\x00"], "[2]", 3, "\x00"),
    ([{"goal": "ok", "indicators": [{"name": "x\x02"}]}], "[0].indicators[0].name", 1, "\x02"),
    ({"ti\x00tle": "fine"}, " (a key)", 2, "\x00"),
    ([1, 2.5, None, True], None, 0, ""),
    (None, None, 0, ""),
]


@pytest.mark.parametrize("value, path, position, character", CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_forbidden_character(value: object, path: str | None, position: int, character: str) -> None:
    hit = forbidden_character(value)
    if path is None:
        assert hit is None
    else:
        assert hit is not None
        assert (hit.path, hit.position, hit.character) == (path, position, character)


@pytest.mark.parametrize("character, name", [
    ("\x00", "U+0000 (NUL)"), ("\x1b", "U+001B (ESC)"), ("\x02", "U+0002 (control character)"),
    ("\ud83d", "U+D83D (unpaired surrogate)"), ("\uffff", "U+FFFF"),
])
def test_describe(character: str, name: str) -> None:
    assert describe(character) == name


def test_the_message_names_field_place_and_character() -> None:
    hit = forbidden_character(["a", "b\x00"])
    assert hit is not None
    assert hit.message("keywords").startswith("keywords[1] contains U+0000 (NUL) at position 2")


def _json_like() -> object:
    from hypothesis import strategies as st

    text = st.text(st.characters(codec=None, categories=None), max_size=12) | st.sampled_from(
        ["", "ok", "\x00", "a\ud800", "\udfffz", "\ufffe", "tab\t", "\x1f", "🛰️"])
    leaves = text | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none()
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
        | st.dictionaries(text, inner, max_size=4),
        max_leaves=25,
    )


def test_the_quick_scan_answers_as_the_walk() -> None:
    """`forbidden_character` scans quickly and walks only what the scan flags: the answer
    (path, position, character) is always the full walk's."""
    from hypothesis import given, settings

    from content.characters import _walk

    @settings(max_examples=400, deadline=None)
    @given(_json_like())
    def check(value: object) -> None:
        assert forbidden_character(value, "v") == _walk(value, "v")

    check()
