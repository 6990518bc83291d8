"""Guide bundles: a good bundle read completely, and every kind of bad file named by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from content import (
    BundleError,
    BundleInvalidError,
    checklist_from_markdown,
    load_bundle,
)
from content.guides import MAX_FILE_BYTES


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def guide(id: str = "start", extra: str = "", body: str = "Text.\n") -> str:
    return f"---\nid: {id}\ntitle: Titel {id}\nsummary: Kurz\n{extra}---\n{body}"


def errors_of(root: Path) -> list[BundleError]:
    with pytest.raises(BundleInvalidError) as caught:
        load_bundle(root)
    return caught.value.errors


def test_good_bundle(tmp_path: Path) -> None:
    write(
        tmp_path,
        "start.md",
        guide(
            "start",
            "topics: [open-data, e-government]\nkeywords: [Portal]\nversion: 3\n"
            "related: ['entry:123', teil-b]\naudience: Kleine Kommunen\nx-owner: Team A\n",
            "# Start\n\nSiehe [Teil B](sub/b.md#kosten) und [dort][b].\n\n"
            "![Logo](img/logo.png) [Vorlage](files/vorlage.pdf) [Web](https://example.org)\n\n"
            "```\n[nicht umschreiben](sub/b.md)\n```\n\n"
            "- [ ] Daten sichten\n- [x] Rat *informieren*\n  - [ ] Termin\n- kein Punkt\n\n"
            "[b]: ./sub/b.md\n",
        ),
    )
    write(
        tmp_path,
        "sub/b.md",
        guide(
            "teil-b",
            "language: en\ntranslation_of: start\nchecklist: [eins]\n",
            "[A](../start.md)\n",
        ),
    )
    write(tmp_path, "README.md", "# Über dieses Bündel\n\n[kaputt](gibt-es-nicht.md)\n")
    write(tmp_path, ".github/template.md", "no front matter\n")
    write(tmp_path, "img/logo.png", "png")
    write(tmp_path, "files/vorlage.pdf", "pdf")

    bundle = load_bundle(tmp_path)

    start, teil_b = bundle.guides
    assert start.path == Path("start.md") and teil_b.path == Path("sub/b.md")
    assert (start.id, start.title, start.summary) == ("start", "Titel start", "Kurz")
    assert start.language == "de" and start.license == "CC-BY-4.0" and start.version == 3
    assert start.topics == ["open-data", "e-government"] and start.keywords == ["Portal"]
    assert start.related == ["entry:123", "teil-b"] and start.audience == "Kleine Kommunen"
    assert start.summary_en is None and start.translation_of is None
    assert start.checklist == ["Daten sichten", "Rat *informieren*", "Termin"]
    assert "Siehe [Teil B](/entries/guide:teil-b#kosten)" in start.body_markdown
    assert "[b]: /entries/guide:teil-b" in start.body_markdown
    assert "[nicht umschreiben](sub/b.md)" in start.body_markdown  # code stays as written
    assert start.links == {"sub/b.md": "teil-b", "./sub/b.md": "teil-b"}
    assert start.assets == ["files/vorlage.pdf", "img/logo.png"]
    assert teil_b.language == "en" and teil_b.translation_of == "start"
    assert teil_b.checklist == ["eins"]
    assert teil_b.body_markdown == "[A](/entries/guide:start)\n"
    assert bundle.assets == ["files/vorlage.pdf", "img/logo.png"]


def test_custom_link_prefix_and_crlf_and_bom(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_bytes(
        ("\ufeff" + guide("a", body="[b](b.md)\r\n")).replace("\n", "\r\n").encode()
    )
    write(tmp_path, "b.md", guide("b"))
    bundle = load_bundle(tmp_path, link_prefix="https://node.example/guides/")
    assert bundle.guides[0].body_markdown.strip() == "[b](https://node.example/guides/b)"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("Nur Text ohne Kopf\n", 1, "missing front matter"),
        ("---\nid: a\ntitle: T\nsummary: S\n", 1, "not closed"),
        ("---\nid: a\ntitle: [unclosed\nsummary: S\n---\n", 4, "malformed YAML"),
        ("---\nid: a\ntitle: T\n  summary: S\n---\n", 4, "malformed YAML"),
        ("---\n- a\n- b\n---\n", 2, "must be a mapping"),
        ("---\n---\nText\n", 2, "must be a mapping"),
        ("---\ntitle: T\nsummary: S\n---\n", 1, "required key 'id'"),
        ("---\nid: a\nsummary: S\n---\n", 1, "required key 'title'"),
        ("---\nid: a\ntitle: T\nsummary: '  '\n---\n", 4, "required key 'summary'"),
        ("---\nid: a\ntitle: 42\nsummary: S\n---\n", 3, "title must be text, not a number"),
        ("---\nid: Nicht Slug\ntitle: T\nsummary: S\n---\n", 2, "is not a slug"),
        ("---\nid: 2024\ntitle: T\nsummary: S\n---\n", 2, "id must be text"),
        ("---\nid: a\ntitle: T\nsummary: S\nlanguage: fr\n---\n", 5, "one of de, en"),
        ("---\nid: a\ntitle: T\nsummary: S\nlanguage: no\n---\n", 5, "not true/false"),
        ("---\nid: a\ntitle: T\nsummary: S\nversion: '2'\n---\n", 5, "version must be"),
        ("---\nid: a\ntitle: T\nsummary: S\nversion: 1.5\n---\n", 5, "version must be"),
        ("---\nid: a\ntitle: T\nsummary: S\nversion: true\n---\n", 5, "version must be"),
        ("---\nid: a\ntitle: T\nsummary: S\nversion: 0\n---\n", 5, "version must be"),
        ("---\nid: a\ntitle: T\nsummary: S\ntopics: open-data\n---\n", 5, "must be a list"),
        ("---\nid: a\ntitle: T\nsummary: S\ntopics:\n  - ok\n  - Not OK\n---\n", 7, "not a slug"),
        (
            "---\nid: a\ntitle: T\nsummary: S\nchecklist:\n  - x\n  - {a: 1}\n---\n",
            7,
            "non-empty text",
        ),
        ("---\nid: a\ntitle: T\nsummary: S\nsummary_en: 2024-01-01\n---\n", 5, "not date"),
        ("---\nid: a\ntitle: T\nsummary: S\nlicense: CC BY 4.0\n---\n", 5, "SPDX"),
        ("---\nid: a\ntitle: T\nsummary: S\nrelated: [has space]\n---\n", 5, "not an id"),
        (
            "---\nid: a\ntitle: T\nsummary: S\nsumary: S\n---\n",
            5,
            "unknown key 'sumary' (did you mean 'summary'?)",
        ),
        ("---\nid: a\ntitle: T\nsummary: S\ntitle: U\n---\n", 5, "key 'title' appears twice"),
        ("---\nid: a\ntitle: T\nsummary: S\ntranslation_of: a\n---\n", 5, "translation of itself"),
    ],
)
def test_bad_front_matter(tmp_path: Path, text: str, line: int, reason: str) -> None:
    write(tmp_path, "ok.md", guide("ok"))
    write(tmp_path, "sub/bad.md", text)
    errors = errors_of(tmp_path)
    assert len(errors) == 1, errors
    assert errors[0].file == "sub/bad.md"
    assert errors[0].line == line
    assert reason in errors[0].reason


def test_extension_keys_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "a.md", guide("a", "x-reviewed-by: Städtetag\n"))
    assert load_bundle(tmp_path).guides[0].id == "a"


def test_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path, "a.md", guide("same"))
    write(tmp_path, "nested/b.md", guide("same"))
    assert errors_of(tmp_path) == [
        BundleError("nested/b.md", 2, "id 'same' is already used by a.md")
    ]


def test_translation_in_same_language(tmp_path: Path) -> None:
    write(tmp_path, "a.md", guide("a"))
    write(tmp_path, "b.md", guide("b", "translation_of: a\n"))
    (error,) = errors_of(tmp_path)
    assert (error.file, error.line) == ("b.md", 5) and "same language" in error.reason


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "latin1.md").write_bytes(guide("a", body="Zeile\nStra\xdfe\n").encode("latin-1"))
    assert errors_of(tmp_path) == [BundleError("latin1.md", 7, "file is not valid UTF-8")]


def test_too_large(tmp_path: Path) -> None:
    write(tmp_path, "big.md", guide("big", body="x" * MAX_FILE_BYTES))
    (error,) = errors_of(tmp_path)
    assert error.file == "big.md" and error.line is None and "bytes, over" in error.reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("[x](../outside.md)", "outside the bundle: ../outside.md"),
        ("[x](sub/../../outside.md)", "outside the bundle"),
        ("![x](../secret.png)", "outside the bundle"),
        ("[x](missing.md)", "does not exist: missing.md"),
        ("[x](missing.md#part)", "does not exist: missing.md"),
        ("![Bild](img/fehlt.png)", "does not exist: img/fehlt.png"),
        ("[x][ref]\n\n[ref]: gone.md", "does not exist: gone.md"),
        ("[x](sub)", "does not exist: sub"),
    ],
)
def test_bad_links(tmp_path: Path, body: str, reason: str) -> None:
    bundle = tmp_path / "bundle"
    write(tmp_path, "outside.md", guide("outside"))
    write(tmp_path, "secret.png", "png")
    write(bundle, "sub/other.md", guide("other"))
    write(bundle, "a.md", guide("a", body="Intro\n\n" + body + "\n"))
    (error,) = errors_of(bundle)
    assert (error.file, error.line) == ("a.md", 8)
    assert reason in error.reason


def test_symlink_out_of_the_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    write(tmp_path, "secret.txt", "geheim")
    write(bundle, "a.md", guide("a", body="[x](link.txt)\n"))
    (bundle / "link.txt").symlink_to(tmp_path / "secret.txt")
    (error,) = errors_of(bundle)
    assert "outside the bundle" in error.reason


def test_links_that_need_no_checking(tmp_path: Path) -> None:
    body = "[a](/entries/x) [b](#top) [c](https://example.org/x.md) [d](mailto:a@b.de) [e](javascript:x)\n"
    write(tmp_path, "a.md", guide("a", body=body))
    doc = load_bundle(tmp_path).guides[0]
    assert doc.links == {} and doc.assets == [] and doc.body_markdown == body


def test_all_errors_are_reported_and_nothing_returned(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "no front matter\n")
    write(tmp_path, "b.md", guide("b", "colour: blue\n", "[x](nope.md)\n"))
    write(tmp_path, "c.md", guide("c"))
    with pytest.raises(BundleInvalidError) as caught:
        load_bundle(tmp_path)
    assert [(e.file, e.line) for e in caught.value.errors] == [("a.md", 1), ("b.md", 5)]
    assert "a.md:1: missing front matter" in str(caught.value)


def test_link_errors_reported_with_front_matter_errors(tmp_path: Path) -> None:
    write(tmp_path, "a.md", guide("a", body="[x](nope.md)\n"))
    write(tmp_path, "b.md", guide("b", "version: x\n"))
    assert [(e.file, e.line) for e in errors_of(tmp_path)] == [("a.md", 6), ("b.md", 5)]


def test_empty_bundle(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# nur Readme\n")
    assert errors_of(tmp_path) == [BundleError(".", None, "the bundle contains no guides (*.md)")]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_bundle(tmp_path / "nope")


@pytest.mark.parametrize(
    ("body", "items"),
    [
        ("- [ ] eins\n- [x] zwei\n- [X] drei", ["eins", "zwei", "drei"]),
        ("* [ ] Stern\n1. [ ] Nummer", ["Stern", "Nummer"]),
        ("- [ ] außen\n  - [ ] innen", ["außen", "innen"]),
        ("- [ ] lange\n  Zeile", ["lange Zeile"]),
        ("- normal\n- [y] kein\n- [ ]", []),
        ("Text [ ] im Satz\n\n```\n- [ ] im Code\n```", []),
        ("> - [ ] zitiert", ["zitiert"]),
    ],
)
def test_checklist_from_markdown(body: str, items: list[str]) -> None:
    assert checklist_from_markdown(body) == items


def test_symlinked_guide_outside_the_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    write(tmp_path, "elsewhere.md", guide("elsewhere"))
    write(bundle, "a.md", guide("a"))
    (bundle / "b.md").symlink_to(tmp_path / "elsewhere.md")
    assert errors_of(bundle) == [
        BundleError("b.md", None, "symbolic link points outside the bundle")
    ]


@pytest.mark.parametrize("body", ["[x](\nb.md)", "[x](b&#46;md)"])
def test_links_that_cannot_be_rewritten_are_errors(tmp_path: Path, body: str) -> None:
    write(tmp_path, "a.md", guide("a", body=body + "\n"))
    write(tmp_path, "b.md", guide("b"))
    (error,) = errors_of(tmp_path)
    assert error.file == "a.md" and "cannot rewrite this link to b.md" in error.reason


def test_umlaut_file_names_are_rewritten(tmp_path: Path) -> None:
    write(tmp_path, "a.md", guide("a", body="[Ü](über.md) [Ü2](%C3%BCber.md)\n"))
    write(tmp_path, "über.md", guide("ueber"))
    doc = load_bundle(tmp_path).guides[0]
    assert doc.body_markdown == "[Ü](/entries/guide:ueber) [Ü2](/entries/guide:ueber)\n"
