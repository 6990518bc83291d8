"""`render` parses once but must give exactly what `render_markdown` and `plain_text` give.

The documents cover every kind of token the renderer touches after parsing
(images get their ``alt`` set while rendering), links judged by the policy,
tables, fences, task lists, and body parts that change how the next part reads
(an unclosed fence, a link reference defined in another part).
"""

from __future__ import annotations

import pytest

from content import plain_text, render, render_markdown, search_document, search_document_of_text

DOCUMENTS = [
    "",
    "Nur ein Satz.",
    "## Ausgangslage\n\nDie Verwaltung wollte Anträge online annehmen.\n\n- Bürgerservice\n- Bauamt\n",
    "![Ein *Bild* mit Text](https://example.org/a.png) und ![böse](javascript:alert(1))",
    "[gut](https://example.org) [schlecht](javascript:alert(1)) [relativ](/a) <b>roh</b>",
    "| Amt | Dauer |\n|:--|--:|\n| Bauamt | 3 Wochen |\n| | |\n",
    "```python\nprint('x')\n```\n\n    eingerückt\n\n> Zitat mit `code`",
    "- [x] erledigt\n- [ ] offen\n\nZeile  \nUmbruch\nweich",
    "[Verweis][ref]\n\n[ref]: https://example.org/ziel",
]


@pytest.mark.parametrize("source", DOCUMENTS)
def test_render_equals_the_two_parses(source: str) -> None:
    rendered = render(source)
    assert rendered.html == render_markdown(source)
    assert rendered.text == plain_text(source)


@pytest.mark.parametrize(
    ("body", "more"),
    [
        ("Text", ("", "", "")),
        ("", ("Was gut lief", "", "Voraussetzungen")),
        ("```\nnicht geschlossen", ("danach **fett**",)),
        ("[Verweis][ref]", ("[ref]: https://example.org",)),
    ],
)
def test_render_with_more_parts_reads_the_joined_document(body: str, more: tuple[str, ...]) -> None:
    rendered = render(body, more)
    joined = "\n\n".join(part for part in (body, *more) if part)
    assert rendered.html == render_markdown(body)
    assert rendered.text == plain_text(joined)


def test_search_document_of_text_matches_search_document() -> None:
    body = DOCUMENTS[2]
    assert search_document_of_text("Titel", "Kurz", render(body).text, ["Bau"], "de") == search_document(
        "Titel", "Kurz", body, ["Bau"], "de"
    )
