"""Rendering: a corpus of hostile Markdown that must come out inert, and what must survive."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from content import render_inline, render_markdown, slugify, url_is_safe

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "background"}


class _Elements(HTMLParser):
    """Collects (tag, attrs) of every start tag, with entities in values decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def _scheme_as_browser_sees(url: str) -> str:
    stripped = re.sub(r"[\x00-\x20]", "", url).lower()
    match = re.match(r"^([a-z][a-z0-9+.\-]*):", stripped)
    return match.group(1) if match else ""


def assert_inert(html: str) -> None:
    for tag, attrs in elements(html):
        assert tag not in {"script", "iframe", "object", "embed", "svg", "math", "style", "form"}
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style" or tag in {"th", "td"}, (tag, name)
            if name in URL_ATTRIBUTES:
                assert _scheme_as_browser_sees(value) in {"", "http", "https", "mailto"}, value
    assert "<script" not in html.lower()


HOSTILE = {
    "script tag": "<script>alert(1)</script>",
    "script block": "<script>\nalert(1)\n</script>\n\ntext",
    "img onerror": '<img src=x onerror="alert(1)">',
    "svg onload": "<svg onload=alert(1)><circle r=1 /></svg>",
    "iframe": '<iframe src="javascript:alert(1)"></iframe>',
    "style attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "style tag": "<style>body{background:url(javascript:alert(1))}</style>",
    "raw html block": '<div onclick="alert(1)">\n\n*text*\n\n</div>',
    "object embed": '<object data="javascript:alert(1)"></object><embed src="x.swf">',
    "form action": '<form action="javascript:alert(1)"><button>x</button></form>',
    "javascript link": "[click](javascript:alert(1))",
    "mixed case": "[click](JaVaScRiPt:alert(1))",
    "tab entity": "[click](jav&#x09;ascript:alert(1))",
    "newline entity": "[click](jav&#x0A;ascript:alert(1))",
    "decimal entities": "[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1))",
    "colon entity": "[click](javascript&colon;alert(1))",
    "percent encoded": "[click](java%73cript:alert(1))",
    "percent null": "[click](java%00script:alert(1))",
    "leading space in brackets": "[click](< javascript:alert(1)>)",
    "angle destination": "[click](<javascript:alert(1)>)",
    "vbscript": "[click](vbscript:msgbox(1))",
    "file url": "[click](file:///etc/passwd)",
    "data html link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data image": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "javascript image": "![x](javascript:alert(1))",
    "reference definition": "[click][evil]\n\n[evil]: javascript:alert(1)",
    "reference with title": '[click][evil]\n\n[evil]: JAVASCRIPT:alert(1) "title"',
    "autolink javascript": "<javascript:alert(1)>",
    "autolink data": "<data:text/html,<script>alert(1)</script>>",
    "image in link": "[![x](javascript:alert(1))](javascript:alert(2))",
    "safe image in evil link": "[![x](https://example.org/a.png)](javascript:alert(2))",
    "title attribute breakout": '[x](https://example.org "a\\" onmouseover=\\"alert(1)")',
    "fence info breakout": '```python" onclick="alert(1)\ncode\n```',
    "html comment": "<!-- <script>alert(1)</script> -->",
    "unicode escape": "[click](\\u006aavascript:alert(1))",
    "zero width space": "[click](java\u200bscript:alert(1))",
    "fullwidth colon": "[click](javascript\uff1aalert(1))",
    "heading with html": "# <img src=x onerror=alert(1)> Title",
    "table with html": "| a |\n|---|\n| <script>alert(1)</script> |",
    "task list with html": "- [ ] <img src=x onerror=alert(1)>",
    "nested emphasis link": "**[x](javascript:alert(1))**",
    "backslash protocol relative": "[x](\\\\evil.example/x)",
}


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markdown_renders_inert(source: str) -> None:
    assert_inert(render_markdown(source))
    assert_inert(render_inline(source))


@pytest.mark.parametrize(
    ("source", "label"),
    [
        ("[click here](javascript:alert(1))", "click here"),
        ("[click here][r]\n\n[r]: data:text/html,x", "click here"),
        ("![alt text](javascript:alert(1))", "alt text"),
    ],
)
def test_unsafe_links_keep_their_text(source: str, label: str) -> None:
    html = render_markdown(source)
    assert label in html
    assert "<a" not in html and "<img" not in html


def test_raw_html_is_shown_as_text() -> None:
    assert "&lt;script&gt;" in render_markdown("<script>alert(1)</script>")


@pytest.mark.parametrize(
    ("url", "image", "safe"),
    [
        ("https://example.org", False, True),
        ("http://example.org/a?b#c", False, True),
        ("mailto:info@example.org", False, True),
        ("other.md", False, True),
        ("../up/other.md#x", False, True),
        ("/entries/guide:x", False, True),
        ("#section", False, True),
        ("mailto:info@example.org", True, False),
        ("img/logo.png", True, True),
        ("ftp://example.org", False, False),
        ("tel:+49301234", False, False),
        ("JAVASCRIPT:x", False, False),
        (" \tjavascript:x", False, False),
        ("javascript%3Ax", False, False),
        ("jav&#x09;ascript:x", False, False),
        ("data:image/png;base64,AAAA", True, False),
    ],
)
def test_url_policy(url: str, image: bool, safe: bool) -> None:
    assert url_is_safe(url, image=image) is safe


def test_headings_get_ascii_anchors() -> None:
    html = render_markdown("# Bürgerbeteiligung in Köln\n\n## Straßen & Wege\n\n## Straßen & Wege")
    assert '<h1 id="buergerbeteiligung-in-koeln">Bürgerbeteiligung in Köln</h1>' in html
    assert '<h2 id="strassen-wege">' in html
    assert '<h2 id="strassen-wege-1">' in html


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Über uns", "ueber-uns"),
        ("Café & Co.", "cafe-co"),
        ("§§§", "abschnitt"),
        ("OZG 2.0", "ozg-2-0"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_tables_keep_alignment() -> None:
    html = render_markdown("| Ort | Einwohner |\n|:--|--:|\n| Ahrensburg | 34000 |")
    assert "<table>" in html
    assert '<th style="text-align:left">Ort</th>' in html
    assert '<td style="text-align:right">34000</td>' in html


def test_task_lists_render_disabled_checkboxes() -> None:
    html = render_markdown("- [ ] offen\n- [x] erledigt")
    inputs = [attrs for tag, attrs in elements(html) if tag == "input"]
    assert len(inputs) == 2
    assert all(attrs["type"] == "checkbox" and "disabled" in attrs for attrs in inputs)
    assert "checked" not in inputs[0] and "checked" in inputs[1]


def test_code_blocks_keep_language_class_and_escape_content() -> None:
    html = render_markdown("```python\nif a < b: print('<b>')\n```")
    assert '<pre><code class="language-python">' in html
    assert "&lt;b&gt;" in html


def test_fence_info_cannot_inject_attributes() -> None:
    html = render_markdown('```x" onclick="alert(1)\ncode\n```')
    assert all("onclick" not in attrs for _, attrs in elements(html))


def test_links_external_get_rel_internal_do_not() -> None:
    html = render_markdown("[a](https://example.org) [b](/entries/x) [c](#top) [d](mailto:a@b.de)")
    links = [attrs for tag, attrs in elements(html) if tag == "a"]
    assert links[0] == {"href": "https://example.org", "rel": "nofollow noopener"}
    assert links[1] == {"href": "/entries/x"}
    assert links[2] == {"href": "#top"}
    assert links[3] == {"href": "mailto:a@b.de"}


def test_images_survive() -> None:
    html = render_markdown('![Logo](img/logo.png) ![Karte](https://example.org/k.png "Karte")')
    images = [attrs for tag, attrs in elements(html) if tag == "img"]
    assert images == [
        {"src": "img/logo.png", "alt": "Logo"},
        {"src": "https://example.org/k.png", "alt": "Karte", "title": "Karte"},
    ]


def test_strikethrough_and_no_linkify() -> None:
    html = render_markdown("~~alt~~ www.example.org")
    assert "<s>alt</s>" in html
    assert "<a" not in html


def test_render_inline_has_no_blocks() -> None:
    html = render_inline("# Titel\n\n**fett** und [Link](https://example.org)")
    assert "<h1" not in html and "<p>" not in html
    assert "<strong>fett</strong>" in html
    assert '<a href="https://example.org" rel="nofollow noopener">Link</a>' in html


@pytest.mark.parametrize(
    "html",
    [
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" JAVA\tSCRIPT:alert(1)">x</a>',
        '<img src="data:image/png;base64,AA">',
        '<img src="x" onerror="alert(1)">',
        "<script>alert(1)</script>",
        '<p style="color:red">x</p>',
    ],
)
def test_the_inertness_check_itself_catches_hostile_html(html: str) -> None:
    with pytest.raises(AssertionError):
        assert_inert(html)


def test_long_headings_keep_an_id() -> None:
    html = render_markdown("# " + "Sehr langer Titel " * 30)
    (heading,) = [attrs for tag, attrs in elements(html) if tag == "h1"]
    assert 0 < len(heading["id"]) <= 80


FRAGMENTS = [
    "[", "]", "(", ")", "<", ">", "!", "`", "*", "\n", "\n\n", " ", ":", "&#x09;", "&#58;",
    "%3A", "\t", "javascript", "JaVa", "script", "data", "vbscript", "alert(1)", "onerror=",
    "<img src=x ", "<svg", "\"", "'", "#", "- [ ] ", "| a |\n|---|\n", "```", "[r]: ", "[r]",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=40))
def test_random_hostile_fragments_render_inert(parts: list[str]) -> None:
    source = "".join(parts)
    assert_inert(render_markdown(source))
    assert_inert(render_inline(source))
