"""The shipped demo entries (exchange/data/demo) and the starter guide bundle (content/guides).

Both are content, not code, so these tests check what a curator could get
wrong: required front matter per kind, unique ids, lessons that point at a
demo project, publishers that exist in the shipped register (GV100AD
snapshot) or among the demo organisations, topics from the shipped
vocabulary (exchange/data/topics.csv), and a mix that gives peer matching
something to find (mostly small municipalities, several Länder).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import frontmatter
import pytest
import yaml

from content.guides import checklist_from_markdown, load_bundle
from exchange.registry import Register, load_snapshot
from exchange.topics import load_topic_rows

ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = ROOT / "exchange" / "data" / "demo"
ENTRY_DIR = DEMO_DIR / "entries"
GUIDE_DIR = ROOT / "content" / "guides"
ENTRY_FILES = sorted(ENTRY_DIR.glob("*.md"))

COMMON_KEYS = {
    "id", "demo", "kind", "publisher", "title", "summary", "language", "topics", "keywords",
    "license", "visibility", "contact_role", "contact_email",
}  # fmt: skip
KIND_KEYS = {
    "project": {
        "status", "period_start", "period_end", "budget_eur", "funding_programme", "partners",
        "goals",
    },
    "lesson": {"project", "what_worked", "what_did_not", "transfer_preconditions", "costs_staffing"},
    "guide": {"audience", "checklist"},
}  # fmt: skip
INDICATOR_KEYS = {"name", "unit", "baseline", "target", "actual"}
STATUSES = {"planned", "running", "completed", "stopped"}
LICENSES = {"CC-BY-4.0", "dl-de-by-2.0"}
VISIBILITIES = {"public", "network"}
ORG_KINDS = {"umbrella", "alliance", "company", "research"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FILE_NAME = re.compile(r"^\d{2}-[a-z0-9]+(?:-[a-z0-9]+)*\.md$")
# Role addresses under the reserved example.org domain (RFC 2606), never a person.
ROLE_EMAIL = re.compile(r"^[a-z0-9.-]+@([a-z0-9-]+\.)*example\.org$")
SMALL = {"Landgemeinde", "Kleinstadt"}


def words(markdown: str) -> int:
    return len(markdown.split())


@pytest.fixture(scope="module")
def register() -> Register:
    return load_snapshot()


@pytest.fixture(scope="module")
def topic_slugs() -> set[str]:
    """First-level Musterdatenkatalog topics of the shipped vocabulary."""
    return {row.slug for row in load_topic_rows() if row.scheme == "mdk" and not row.parent}


@pytest.fixture(scope="module")
def organisations() -> list[dict[str, Any]]:
    data = yaml.safe_load((DEMO_DIR / "organisations.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


@pytest.fixture(scope="module")
def entries() -> list[tuple[str, dict[str, Any], str]]:
    """(file name, front matter, body) of every demo entry."""
    result = []
    for path in sorted(ENTRY_DIR.glob("*.md")):
        post = frontmatter.load(str(path))
        result.append((path.name, dict(post.metadata), post.content))
    return result


def test_organisations(organisations: list[dict[str, Any]]) -> None:
    assert 3 <= len(organisations) <= 5
    slugs = [org["slug"] for org in organisations]
    assert len(set(slugs)) == len(slugs)
    for org in organisations:
        assert set(org) == {"slug", "name", "kind", "website", "description"}, org
        assert SLUG.match(org["slug"]) and org["slug"].endswith("-demo"), org["slug"]
        assert org["kind"] in ORG_KINDS
        assert "(Demo)" in org["name"]
        assert "Demo" in org["description"]
        assert re.match(r"^https://[a-z0-9.-]+\.example\.(org|com)/", org["website"])
    assert len({org["kind"] for org in organisations}) >= 3


def test_readme_says_the_entries_are_invented() -> None:
    text = (DEMO_DIR / "README.md").read_text(encoding="utf-8")
    assert "invented" in text
    assert "CC BY 4.0" in text


def test_enough_entries_and_a_sensible_mix(entries: list[tuple[str, dict[str, Any], str]]) -> None:
    assert len(entries) >= 40
    kinds = Counter(meta["kind"] for _, meta, _ in entries)
    assert kinds["project"] >= 20
    assert kinds["lesson"] >= 12
    assert kinds["guide"] >= 5
    languages = Counter(meta["language"] for _, meta, _ in entries)
    assert set(languages) == {"de", "en"}
    assert 0.15 <= languages["en"] / len(entries) <= 0.35
    licences = Counter(meta["license"] for _, meta, _ in entries)
    assert licences["CC-BY-4.0"] > licences["dl-de-by-2.0"] > 0
    visibility = Counter(meta["visibility"] for _, meta, _ in entries)
    assert visibility["public"] > visibility["network"] > 0
    statuses = {meta["status"] for _, meta, _ in entries if meta["kind"] == "project"}
    assert statuses == STATUSES


def test_file_names_and_unique_ids(entries: list[tuple[str, dict[str, Any], str]]) -> None:
    numbers = [name[:2] for name, _, _ in entries]
    assert len(set(numbers)) == len(numbers)
    ids = [meta["id"] for _, meta, _ in entries]
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]
    for name, meta, _ in entries:
        assert FILE_NAME.match(name), name
        assert SLUG.match(meta["id"]) and meta["id"].startswith("demo-"), name


@pytest.mark.parametrize("path", ENTRY_FILES, ids=lambda p: p.name)
def test_entry_front_matter(path: Path, topic_slugs: set[str]) -> None:
    post = frontmatter.load(str(path))
    name, meta, body = path.name, dict(post.metadata), post.content
    kind = meta.get("kind")
    assert kind in KIND_KEYS, name
    missing = (COMMON_KEYS | KIND_KEYS[kind]) - set(meta)
    assert not missing, f"{name}: missing {sorted(missing)}"
    assert meta["demo"] is True, name
    assert isinstance(meta["publisher"], str), f"{name}: quote the publisher key"
    for key in ("title", "summary", "contact_role"):
        assert isinstance(meta[key], str) and meta[key].strip(), f"{name}: {key}"
    assert meta["language"] in ("de", "en"), name
    assert 1 <= len(meta["topics"]) <= 3, name
    assert set(meta["topics"]) <= topic_slugs, f"{name}: {set(meta['topics']) - topic_slugs}"
    assert meta["keywords"] and all(isinstance(k, str) and k for k in meta["keywords"]), name
    assert meta["license"] in LICENSES, name
    assert meta["visibility"] in VISIBILITIES, name
    assert ROLE_EMAIL.match(meta["contact_email"]), f"{name}: {meta['contact_email']}"
    assert 150 <= words(body) <= 500, f"{name}: body has {words(body)} words"
    assert "#" in body, f"{name}: body has no headings"
    if kind == "project":
        check_project(name, meta)
    elif kind == "lesson":
        for key in KIND_KEYS["lesson"] - {"project"}:
            assert isinstance(meta[key], str) and meta[key].strip(), f"{name}: {key}"
    else:
        assert isinstance(meta["audience"], str) and meta["audience"].strip(), name
        assert 5 <= len(meta["checklist"]) <= 12, name
        assert checklist_from_markdown(body), f"{name}: a guide needs a task list in its body"


def check_project(name: str, meta: dict[str, Any]) -> None:
    assert meta["status"] in STATUSES, name
    start, end = meta["period_start"], meta["period_end"]
    assert isinstance(start, str) and MONTH.match(start), f"{name}: period_start {start!r}"
    assert isinstance(end, str) and MONTH.match(end), f"{name}: period_end {end!r}"
    assert start < end, name
    if meta["status"] == "planned":
        assert start >= "2025-01", name
    assert isinstance(meta["budget_eur"], int) and meta["budget_eur"] > 0, name
    assert isinstance(meta["funding_programme"], str) and meta["funding_programme"], name
    assert meta["partners"] and all(isinstance(p, str) for p in meta["partners"]), name
    assert meta["goals"], name
    for goal in meta["goals"]:
        assert isinstance(goal["goal"], str) and goal["goal"], name
        assert goal["indicators"], f"{name}: goal without indicators"
        for indicator in goal["indicators"]:
            assert set(indicator) == INDICATOR_KEYS, f"{name}: {indicator}"
            assert indicator["target"] is not None, name
    if meta["status"] == "planned":
        actuals = [i["actual"] for g in meta["goals"] for i in g["indicators"]]
        assert all(a is None for a in actuals), f"{name}: planned project with results"


def test_lessons_point_at_demo_projects(entries: list[tuple[str, dict[str, Any], str]]) -> None:
    projects = {meta["id"]: meta for _, meta, _ in entries if meta["kind"] == "project"}
    for name, meta, _ in entries:
        if meta["kind"] != "lesson":
            continue
        assert meta["project"] in projects, f"{name}: unknown project {meta['project']!r}"
        assert projects[meta["project"]]["publisher"] == meta["publisher"], name


def test_publishers_exist(
    entries: list[tuple[str, dict[str, Any], str]],
    register: Register,
    organisations: list[dict[str, Any]],
) -> None:
    gemeinden = {g.ars for g in register.gemeinden}
    org_slugs = {org["slug"] for org in organisations}
    for name, meta, _ in entries:
        key = meta["publisher"]
        if meta["kind"] == "guide":
            assert key in org_slugs, f"{name}: guides are published by an organisation"
        elif len(key) == 12:
            assert key in gemeinden, f"{name}: ARS {key} is not in the register"
        else:
            assert len(key) == 5 and key in register.kreise, f"{name}: {key} is no Kreis key"
            assert register.kreise[key].type_label == "Landkreis", name


def test_publishers_are_mostly_small_and_spread_across_laender(
    entries: list[tuple[str, dict[str, Any], str]], register: Register
) -> None:
    by_ars = {g.ars: g for g in register.gemeinden}
    publishers = {meta["publisher"] for _, meta, _ in entries if meta["kind"] != "guide"}
    towns = [by_ars[key] for key in publishers if len(key) == 12]
    kreise = [key for key in publishers if len(key) == 5]
    sizes = Counter(town.size_class for town in towns)
    assert sizes["Landgemeinde"] + sizes["Kleinstadt"] > 0.75 * len(towns), sizes
    assert sizes["Landgemeinde"] > sizes["Kleinstadt"], sizes
    assert sizes["Mittelstadt"] >= 2 and sizes["Großstadt"] >= 2, sizes
    assert 2 <= len(kreise) <= 3
    assert len({town.land_code for town in towns}) >= 10
    # Peer matching needs repeat publishers and shared topics.
    per_publisher = Counter(meta["publisher"] for _, meta, _ in entries if meta["kind"] != "guide")
    assert sum(1 for n in per_publisher.values() if n >= 2) >= 8
    small_keys = {t.ars for t in towns if t.size_class in SMALL}
    small_topics = Counter(
        topic
        for _, meta, _ in entries
        if meta["kind"] == "project" and meta["publisher"] in small_keys
        for topic in meta["topics"]
    )
    assert sum(1 for n in small_topics.values() if n >= 3) >= 4, small_topics


# The starter guide bundle in content/guides.


@pytest.fixture(scope="module")
def guides() -> list[tuple[str, dict[str, Any], str]]:
    result = []
    for path in sorted(GUIDE_DIR.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        post = frontmatter.load(str(path))
        result.append((path.name, dict(post.metadata), post.content))
    return result


def test_guide_bundle_loads_without_errors() -> None:
    bundle = load_bundle(GUIDE_DIR)
    assert len(bundle.guides) >= 8
    assert all(guide.links for guide in bundle.guides), "every guide links to another one"


def test_guide_bundle_readme() -> None:
    text = (GUIDE_DIR / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in text


def test_guides_front_matter(
    guides: list[tuple[str, dict[str, Any], str]], topic_slugs: set[str]
) -> None:
    ids = {meta["id"] for _, meta, _ in guides}
    assert len(ids) == len(guides) >= 8
    tables = 0
    for name, meta, body in guides:
        assert name == f"{meta['id']}.md", name
        assert meta["language"] == "de", name
        assert meta["license"] == "CC-BY-4.0", name
        assert meta["version"] == 1, name
        for key in ("title", "summary", "summary_en", "audience"):
            assert isinstance(meta.get(key), str) and meta[key].strip(), f"{name}: {key}"
        assert 1 <= len(meta["topics"]) <= 3 and set(meta["topics"]) <= topic_slugs, name
        assert 5 <= len(meta["checklist"]) <= 12, name
        assert meta["keywords"], name
        assert meta["related"] and set(meta["related"]) <= ids - {meta["id"]}, name
        assert 500 <= words(body) <= 1200, f"{name}: body has {words(body)} words"
        assert body.count("\n## ") >= 3, f"{name}: needs headings"
        assert "## Quellen" in body, f"{name}: cite sources at the end"
        tables += "\n|---" in body or "\n| ---" in body
    assert tables >= 1
