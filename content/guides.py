"""Guide bundles: a folder of Markdown files with YAML front matter, read into plain values.

An umbrella organisation keeps its guides in a git repository; `load_bundle`
reads such a folder (recursively, in sorted order) into `GuideDoc` values and
either returns all of them or raises one `BundleInvalidError` listing every
problem with file and line, so a curator fixes the whole bundle in one pass and
nothing is ever half imported. Every ``*.md`` file is a guide except
``README.md`` (at any depth, any case: it describes the bundle to people
browsing the repository) and anything under a hidden folder (``.github``).
Unknown front matter keys are errors, because a typo such as ``sumary`` would
otherwise lose content silently; keys starting with ``x-`` are the curators'
own and are ignored. Relative links to other guides of the bundle are
rewritten in the body to ``/entries/guide:<id>`` (fragments kept), so a stored
body is self-contained on every node; `GuideDoc.links` keeps the mapping so
the importer can also record entry links. Relatively referenced files that are
not guides (images, PDFs) are listed in `GuideDoc.assets` for the importer to
carry. No database and no network here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from content.markdown import parse_tokens, url_is_safe

__all__ = [
    "GUIDE_LINK_PREFIX",
    "MAX_FILE_BYTES",
    "Bundle",
    "BundleError",
    "BundleInvalidError",
    "GuideDoc",
    "checklist_from_markdown",
    "load_bundle",
]

MAX_FILE_BYTES = 1024 * 1024
GUIDE_LINK_PREFIX = "/entries/guide:"


@dataclass(frozen=True, slots=True)
class BundleError:
    """One problem in one file; `line` is 1-based, None when it concerns the whole file."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


class BundleInvalidError(Exception):
    """The bundle has at least one problem; `errors` lists all of them."""

    def __init__(self, errors: list[BundleError]) -> None:
        self.errors = errors
        super().__init__("invalid guide bundle:\n" + "\n".join(str(e) for e in errors))


@dataclass(frozen=True, slots=True)
class GuideDoc:
    """One guide as written in its bundle; `path` is relative to the bundle root."""

    path: Path
    id: str
    title: str
    summary: str
    summary_en: str | None
    language: str
    topics: list[str]
    audience: str | None
    license: str
    version: int
    checklist: list[str]
    related: list[str]
    translation_of: str | None
    body_markdown: str
    keywords: list[str]
    links: dict[str, str] = field(default_factory=dict)
    assets: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Bundle:
    """All guides of a bundle, and every non-guide file they reference (bundle-relative)."""

    root: Path
    guides: list[GuideDoc]
    assets: list[str]


@dataclass(slots=True)
class _Link:
    href: str
    line: int
    image: bool


def checklist_from_markdown(body: str) -> list[str]:
    """The items of every task list (``- [ ] item``) in `body`, as one-line Markdown."""
    tokens = parse_tokens(body)
    items: list[str] = []
    for index, token in enumerate(tokens[:-2]):
        if token.type == "list_item_open" and token.attrGet("class") == "task-list-item":
            inline = tokens[index + 2]
            text = " ".join(inline.content.split())
            if inline.type == "inline" and text:
                items.append(text)
    return items


def _guide_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() == ".md" and path.name.lower() != "readme.md" and path.is_file():
            yield path


def _links(body: str, offset: int) -> tuple[list[_Link], set[int]]:
    """Links and images of `body` with their file line, and the body lines that are code."""
    lines = body.split("\n")
    links: list[_Link] = []
    code: set[int] = set()
    for token in parse_tokens(body):
        if token.type in ("fence", "code_block") and token.map:
            code.update(range(token.map[0], token.map[1]))
        if token.type != "inline" or not token.children:
            continue
        start, end = token.map if token.map else (0, 1)
        for child in token.children:
            attr = "src" if child.type == "image" else "href" if child.type == "link_open" else ""
            if not attr:
                continue
            href = str(child.attrGet(attr) or "")
            raw = unquote(href.split("#")[0])
            hit = next((i for i in range(start, end) if raw and raw in lines[i]), start)
            links.append(_Link(href, offset + hit + 1, child.type == "image"))
    return links, code


def _relative_path(href: str) -> str | None:
    """The path part of a bundle-relative link, or None for any other kind of link."""
    if not href or href.startswith(("/", "#", "\\")) or not url_is_safe(href):
        return None
    if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", href):
        return None
    path = unquote(re.split(r"[?#]", href, maxsplit=1)[0])
    return path or None


def _rewrite(body: str, targets: dict[str, str], code: set[int]) -> str:
    """Replace link destinations `targets` keys (as written) by their values outside code."""
    if not targets:
        return body
    alternatives = "|".join(re.escape(raw) for raw in sorted(targets, key=len, reverse=True))
    pattern = re.compile(
        r"(\]\(\s*<?|^ {0,3}\[[^\]]+\]:[ \t]*<?)(" + alternatives + r")(?=[\s)#?>]|$)"
    )
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if index not in code:
            lines[index] = pattern.sub(lambda m: m.group(1) + targets[m.group(2)], line)
    return "\n".join(lines)


@dataclass(slots=True)
class _Parsed:
    path: Path
    name: str
    values: dict[str, Any]
    lines: dict[str, int]
    body: str
    offset: int


_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REFERENCE_RE = re.compile(r"^\S{1,200}$")
_LICENSE_RE = re.compile(r"^[A-Za-z0-9.+\-]{1,64}$")
_KEYS = (
    "id", "title", "summary", "summary_en", "language", "topics", "audience", "license",
    "version", "checklist", "related", "translation_of", "keywords",
)  # fmt: skip
_SLUG = "a slug (lowercase a-z, 0-9 and single hyphens)"


def _kind(value: object) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "text"}
    names.update({list: "a list", dict: "a mapping", type(None): "empty"})
    return names.get(type(value), type(value).__name__)


class _FieldReader:
    """Checks one file's front matter against the schema, noting each problem with its line."""

    def __init__(self, name: str, errors: list[BundleError]) -> None:
        self.name = name
        self.errors = errors
        self.lines: dict[str, int] = {}
        self.nodes: dict[str, yaml.Node] = {}
        self.ok = True

    def error(self, line: int | None, reason: str) -> None:
        self.errors.append(BundleError(self.name, line, reason))
        self.ok = False

    def read(self, front: str) -> dict[str, Any] | None:
        data = self._load(front)
        if data is None:
            return None
        for key in data:
            if str(key) not in _KEYS and not str(key).startswith("x-"):
                close = difflib.get_close_matches(str(key), _KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.error(self.lines.get(str(key)), f"unknown key {str(key)!r}{hint}")
        values: dict[str, Any] = {
            "id": self._text(data, "id", required=True, pattern=_SLUG_RE, what=_SLUG),
            "title": self._text(data, "title", required=True),
            "summary": self._text(data, "summary", required=True),
            "summary_en": self._text(data, "summary_en"),
            "language": self._text(data, "language", default="de", choices=("de", "en")),
            "topics": self._list(data, "topics", pattern=_SLUG_RE, what=_SLUG),
            "audience": self._text(data, "audience"),
            "license": self._text(
                data, "license", default="CC-BY-4.0", pattern=_LICENSE_RE,
                what="an SPDX licence identifier such as CC-BY-4.0",
            ),
            "version": self._version(data),
            "checklist": self._list(data, "checklist"),
            "related": self._list(data, "related", pattern=_REFERENCE_RE, what="an id"),
            "translation_of": self._text(data, "translation_of", pattern=_SLUG_RE, what=_SLUG),
            "keywords": self._list(data, "keywords"),
        }  # fmt: skip
        return values if self.ok else None

    def _load(self, front: str) -> dict[Any, Any] | None:
        loader = yaml.SafeLoader(front)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            self.error(mark.line + 2 if mark is not None else 1, f"malformed YAML: {problem}")
            return None
        finally:
            loader.dispose()
        if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
            self.error(2, "front matter must be a mapping of keys to values")
            return None
        for key_node, value_node in node.value:
            key, line = str(key_node.value), key_node.start_mark.line + 2
            if key in self.lines:
                self.error(line, f"key {key!r} appears twice")
            self.lines.setdefault(key, line)
            self.nodes.setdefault(key, value_node)
        return data

    def _text(
        self,
        data: dict[Any, Any],
        key: str,
        *,
        required: bool = False,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
        what: str = "",
        choices: tuple[str, ...] = (),
    ) -> str | None:
        value, line = data.get(key), self.lines.get(key, 1)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(line, f"required key {key!r} is missing or empty")
            return default
        if not isinstance(value, str):
            self.error(line, f"{key} must be text, not {_kind(value)}")
            return default
        value = value.strip()
        if pattern is not None and not pattern.match(value):
            self.error(line, f"{key} {value!r} is not {what}")
        if choices and value not in choices:
            self.error(line, f"{key} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def _list(
        self,
        data: dict[Any, Any],
        key: str,
        *,
        pattern: re.Pattern[str] | None = None,
        what: str = "",
    ) -> list[str]:
        value, line = data.get(key), self.lines.get(key, 1)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(line, f"{key} must be a list, not {_kind(value)}")
            return []
        node = self.nodes.get(key)
        items: list[str] = []
        for index, item in enumerate(value):
            item_line = line
            if isinstance(node, yaml.SequenceNode) and index < len(node.value):
                item_line = node.value[index].start_mark.line + 2
            if not isinstance(item, str) or not item.strip():
                self.error(item_line, f"{key} items must be non-empty text, not {_kind(item)}")
            elif pattern is not None and not pattern.match(item.strip()):
                self.error(item_line, f"{key} item {item.strip()!r} is not {what}")
            else:
                items.append(item.strip())
        return items

    def _version(self, data: dict[Any, Any]) -> int:
        value, line = data.get("version"), self.lines.get("version", 1)
        if value is None:
            return 1
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.error(line, f"version must be a whole number from 1, not {value!r}")
            return 1
        return value


def _read(path: Path, name: str, errors: list[BundleError]) -> _Parsed | None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        errors.append(BundleError(name, None, f"file is {size} bytes, over {MAX_FILE_BYTES}"))
        return None
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        errors.append(BundleError(name, line, "file is not valid UTF-8"))
        return None
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        errors.append(BundleError(name, 1, "missing front matter (the file must start with ---)"))
        return None
    close = next((i for i, line in enumerate(lines) if i and line.rstrip() in ("---", "...")), 0)
    if not close:
        errors.append(BundleError(name, 1, "front matter is not closed by a --- line"))
        return None
    front = "\n".join(lines[1:close])
    body = "\n".join(lines[close + 1 :])
    reader = _FieldReader(name, errors)
    values = reader.read(front)
    if values is None:
        return None
    offset = close + 1
    if "checklist" not in reader.lines:
        values["checklist"] = checklist_from_markdown(body)
    return _Parsed(path, name, values, reader.lines, body, offset)


def load_bundle(path: Path, *, link_prefix: str = GUIDE_LINK_PREFIX) -> Bundle:
    """Read every guide under `path`; raise `BundleInvalidError` listing all problems."""
    root = path.resolve(strict=True)
    if not root.is_dir():
        raise NotADirectoryError(str(path))
    errors: list[BundleError] = []
    parsed: list[_Parsed] = []
    for file in _guide_files(root):
        name = file.relative_to(root).as_posix()
        if not file.resolve().is_relative_to(root):
            errors.append(BundleError(name, None, "symbolic link points outside the bundle"))
        elif (doc := _read(file, name, errors)) is not None:
            parsed.append(doc)
    if not parsed and not errors:
        errors.append(BundleError(".", None, "the bundle contains no guides (*.md)"))

    ids: dict[str, _Parsed] = {}
    for doc in parsed:
        first = ids.setdefault(doc.values["id"], doc)
        if first is not doc:
            reason = f"id {doc.values['id']!r} is already used by {first.name}"
            errors.append(BundleError(doc.name, doc.lines.get("id"), reason))
    _check_translations(parsed, ids, errors)
    guide_ids = {doc.path: str(doc.values["id"]) for doc in parsed}
    guides = [_resolve(doc, root, guide_ids, link_prefix, errors) for doc in parsed]
    if errors:
        raise BundleInvalidError(sorted(errors, key=lambda e: (e.file, e.line or 0)))
    assets = sorted({asset for guide in guides for asset in guide.assets})
    return Bundle(root=root, guides=guides, assets=assets)


def _check_translations(
    parsed: list[_Parsed], ids: dict[str, _Parsed], errors: list[BundleError]
) -> None:
    """A translation names another guide; one inside the bundle must be in another language."""
    for doc in parsed:
        original, line = doc.values["translation_of"], doc.lines.get("translation_of")
        if original == doc.values["id"]:
            errors.append(BundleError(doc.name, line, "a guide cannot be a translation of itself"))
        elif original in ids and ids[original].values["language"] == doc.values["language"]:
            reason = f"translation of {original!r} has the same language"
            errors.append(BundleError(doc.name, line, reason))


def _resolve(
    doc: _Parsed,
    root: Path,
    guide_ids: dict[Path, str],
    link_prefix: str,
    errors: list[BundleError],
) -> GuideDoc:
    """Check the relative links of `doc`, rewrite those to guides, collect the assets."""
    targets: dict[str, str] = {}  # destination as written -> new destination
    links: dict[str, str] = {}
    assets: set[str] = set()
    found, code = _links(doc.body, doc.offset)
    for link in found:
        relative = _relative_path(link.href)
        if relative is None:
            continue
        target = (doc.path.parent / relative).resolve()
        if not target.is_relative_to(root):
            errors.append(
                BundleError(doc.name, link.line, f"link points outside the bundle: {relative}")
            )
        elif not target.is_file():
            errors.append(
                BundleError(doc.name, link.line, f"link to a file that does not exist: {relative}")
            )
        elif target in guide_ids and not link.image:
            links[relative] = guide_ids[target]
            written = re.split(r"[?#]", link.href, maxsplit=1)[0]
            targets[written] = targets[relative] = link_prefix + guide_ids[target]
        else:
            assets.add(target.relative_to(root).as_posix())
    body = _rewrite(doc.body, targets, code)
    for link in _links(body, doc.offset)[0] if targets else []:
        relative = _relative_path(link.href)
        if relative and (doc.path.parent / relative).resolve() in guide_ids:
            reason = f"cannot rewrite this link to {relative}; write it as [text]({relative})"
            errors.append(BundleError(doc.name, link.line, reason))
    return _guide(doc, body, links, sorted(assets))


def _guide(doc: _Parsed, body: str, links: dict[str, str], assets: list[str]) -> GuideDoc:
    v = doc.values
    return GuideDoc(
        path=Path(doc.name),
        id=v["id"],
        title=v["title"],
        summary=v["summary"],
        summary_en=v["summary_en"],
        language=v["language"],
        topics=v["topics"],
        audience=v["audience"],
        license=v["license"],
        version=v["version"],
        checklist=v["checklist"],
        related=v["related"],
        translation_of=v["translation_of"],
        body_markdown=body,
        keywords=v["keywords"],
        links=links,
        assets=assets,
    )
