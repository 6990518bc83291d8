"""Guide bundle import: stable ids, idempotence, revisions, removal, assets, links, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exchange.app import build_node
from exchange.catalogue import Catalogue
from exchange.curation import import_guides
from exchange.curation.guides import GuideBundleError, asset_url, guide_uid
from exchange.db import Database
from exchange.errors import NotFoundError
from exchange.models import (
    Change,
    Collection,
    CollectionItem,
    Entry,
    GuideAsset,
    Organisation,
    Revision,
)
from tests.helpers import seed, settings_for

STARTER = Path(__file__).resolve().parents[2] / "content" / "guides"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def guide(id: str, body: str = "Text.\n", extra: str = "") -> str:
    return f"---\nid: {id}\ntitle: Titel {id}\nsummary: Kurz {id}\ntopics: [digitalisierung]\n{extra}---\n{body}"


@pytest.fixture
async def catalogue(db: Database, tmp_path: Path) -> Catalogue:
    await seed(db)
    return build_node(settings_for(db, tmp_path), database=db).catalogue


async def test_starter_bundle_imports_and_second_import_changes_nothing(
    catalogue: Catalogue,
) -> None:
    report = await import_guides(catalogue, STARTER, "kompetenzzentrum", state="published")
    assert report.count("created") == 8
    changes = await Change.all().count()
    uid = guide_uid(catalogue.node_url, "kompetenzzentrum", "open-data-portal-starten")
    entry = await Entry.get(uid=uid)
    assert (entry.kind, entry.review_state, entry.visibility, entry.version) == (
        "guide",
        "published",
        "public",
        1,
    )
    assert "Summary in English" in entry.body_markdown and "<table>" in entry.body_html
    assert len(entry.checklist) == 9
    # relative links between guides point at the linked entry's id
    dsfa = guide_uid(catalogue.node_url, "kompetenzzentrum", "dsfa-sensoren")
    assert {"relation": "related", "target": str(dsfa)} in entry.links

    again = await import_guides(catalogue, STARTER, "kompetenzzentrum")
    assert again.count("unchanged") == 8 and again.count("created") == again.count("revised") == 0
    assert await Change.all().count() == changes
    assert (await Entry.get(uid=uid)).version == 1


async def test_changed_file_is_a_new_revision_and_removed_file_needs_prune(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    write(bundle, "a.md", guide("a"))
    write(bundle, "b.md", guide("b", "Siehe [A](a.md#teil).\n"))
    await import_guides(catalogue, bundle, "kompetenzzentrum", state="published")
    uid_a = guide_uid(catalogue.node_url, "kompetenzzentrum", "a")
    b = await Entry.get(uid=guide_uid(catalogue.node_url, "kompetenzzentrum", "b"))
    assert f"](/entries/{uid_a}#teil)" in b.body_markdown

    write(bundle, "a.md", guide("a", "Neuer Text.\n", extra="version: 2\n"))
    report = await import_guides(catalogue, bundle, "kompetenzzentrum")
    revised = [f for f in report.files if f.action == "revised"]
    assert [(f.guide_id, f.changed, f.state) for f in revised] == [
        ("a", ["body_markdown"], "published")
    ]
    a = await Entry.get(uid=uid_a)
    assert a.version == 2 and a.visibility == "public"
    assert await Revision.filter(entry_id=a.id).count() == 2

    (bundle / "a.md").unlink()
    with pytest.raises(GuideBundleError, match="b.md:7: link to a file that does not exist: a.md"):
        await import_guides(catalogue, bundle, "kompetenzzentrum")
    write(bundle, "b.md", guide("b"))
    report = await import_guides(catalogue, bundle, "kompetenzzentrum")
    assert [(f.guide_id, f.action) for f in report.files] == [("b", "revised"), ("a", "removed")]
    assert (await Entry.get(uid=uid_a)).review_state == "published"
    report = await import_guides(catalogue, bundle, "kompetenzzentrum", prune=True)
    assert [(f.guide_id, f.action) for f in report.files if f.action != "unchanged"] == [
        ("a", "withdrawn")
    ]
    a = await Entry.get(uid=uid_a)
    assert (a.review_state, a.visibility) == ("withdrawn", "draft")
    report = await import_guides(catalogue, bundle, "kompetenzzentrum", prune=True)
    assert all(f.action == "unchanged" for f in report.files)


async def test_images_are_stored_and_body_points_at_them(
    catalogue: Catalogue, tmp_path: Path, db: Database
) -> None:
    bundle = tmp_path / "bundle"
    write(
        bundle,
        "kapitel/a.md",
        guide(
            "a",
            "![Karte](../bilder/karte.png)\n\n[PDF](anhang.pdf)\n\n```\n![x](../bilder/karte.png)\n```\n",
        ),
    )
    (bundle / "bilder").mkdir()
    (bundle / "bilder" / "karte.png").write_bytes(PNG)
    (bundle / "kapitel" / "anhang.pdf").write_bytes(b"%PDF-1.4 test")
    report = await import_guides(catalogue, bundle, "kompetenzzentrum")
    assert report.assets_stored == 2
    entry = await Entry.get(uid=guide_uid(catalogue.node_url, "kompetenzzentrum", "a"))
    url = asset_url("kompetenzzentrum", "bilder/karte.png")
    assert f"![Karte]({url})" in entry.body_markdown
    assert f'src="{url}"' in entry.body_html
    assert "```\n![x](../bilder/karte.png)\n```" in entry.body_markdown  # code stays as written
    assert f"[PDF]({asset_url('kompetenzzentrum', 'kapitel/anhang.pdf')})" in entry.body_markdown
    asset = await GuideAsset.get(path="bilder/karte.png")
    assert (asset.content_type, bytes(asset.data)) == ("image/png", PNG)
    assert (await import_guides(catalogue, bundle, "kompetenzzentrum")).assets_stored == 0

    from tests.helpers import client_for

    async with client_for(db, tmp_path) as client:
        response = await client.get(url)
        assert response.status_code == 200 and response.content == PNG
        assert response.headers["content-type"] == "image/png"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert (
            await client.get("/guides/assets/kompetenzzentrum/bilder/fehlt.png")
        ).status_code == 404


async def test_translation_and_collection_manifest(catalogue: Catalogue, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    write(bundle, "de.md", guide("leitfaden"))
    write(bundle, "en.md", guide("guide-en", extra="language: en\ntranslation_of: leitfaden\n"))
    write(
        bundle,
        "collections.yaml",
        (
            "- id: starter\n  title: Starterpaket\n  summary: Für kleine Gemeinden\n  items:\n"
            "    - guide: guide-en\n      note: Englische Fassung\n    - guide: leitfaden\n      note: Zuerst lesen\n"
        ),
    )
    report = await import_guides(catalogue, bundle, "kompetenzzentrum", state="published")
    assert report.collections == ["starter"]
    de = guide_uid(catalogue.node_url, "kompetenzzentrum", "leitfaden")
    en = await Entry.get(uid=guide_uid(catalogue.node_url, "kompetenzzentrum", "guide-en"))
    assert en.links == [{"relation": "translation_of", "target": str(de)}]
    assert "Summary in English" not in en.body_markdown
    collection = await Collection.get()
    items = await CollectionItem.filter(collection_id=collection.id).order_by("position")
    assert [(i.entry_uid, i.note) for i in items] == [
        (en.uid, "Englische Fassung"),
        (de, "Zuerst lesen"),
    ]
    await import_guides(catalogue, bundle, "kompetenzzentrum")
    assert (await Collection.get()).version == 1  # unchanged manifest: no new version


BAD_CASES = {
    "unknown topic": (
        "x.md",
        guide("x", extra="").replace("digitalisierung", "gibt-es-nicht"),
        "unknown topic 'gibt-es-nicht'",
    ),
    "unknown related": (
        "x.md",
        guide("x", extra="related: [fehlt]\n"),
        "'fehlt' is neither a guide",
    ),
    "missing front matter": ("x.md", "Nur Text\n", "x.md:1: missing front matter"),
    "wrong type": ("x.md", guide("x", extra="checklist: nein\n"), "checklist must be a list"),
    "link outside": (
        "x.md",
        guide("x", "[geheim](../../etc/passwd)\n"),
        "link points outside the bundle",
    ),
    "bad manifest": (
        "collections.yaml",
        "- id: s\n  title: T\n  items:\n    - guide: fehlt\n",
        "names unknown guide 'fehlt'",
    ),
    "asset type": (
        "x.md",
        guide("x", "[prog](tool.exe)\n"),
        "tool.exe: files of type .exe cannot be served",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
async def test_bad_bundle_names_the_problem_and_writes_nothing(
    catalogue: Catalogue, tmp_path: Path, case: str
) -> None:
    bundle = tmp_path / "bundle"
    write(bundle, "gut.md", guide("gut"))
    name, text, expected = BAD_CASES[case]
    write(bundle, name, text)
    (bundle / "tool.exe").write_bytes(b"MZ")
    before = await Change.all().count()
    with pytest.raises(GuideBundleError) as caught:
        await import_guides(catalogue, bundle, "kompetenzzentrum")
    assert any(expected in e for e in caught.value.errors), caught.value.errors
    assert caught.value.code == "BAD_GUIDE_BUNDLE"
    assert await Change.all().count() == before and not await Entry.exists()


async def test_non_utf8_and_duplicate_ids_are_all_listed(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    write(bundle, "a.md", guide("same"))
    write(bundle, "b.md", guide("same"))
    (bundle / "c.md").write_bytes("---\nid: c\ntitle: Grüße\n".encode("latin-1"))
    with pytest.raises(GuideBundleError) as caught:
        await import_guides(catalogue, bundle, "kompetenzzentrum")
    text = "\n".join(caught.value.errors)
    assert (
        "b.md:2: id 'same' is already used by a.md" in text
        and "c.md:3: file is not valid UTF-8" in text
    )


async def test_organisation_must_exist_or_be_named(catalogue: Catalogue, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    write(bundle, "a.md", guide("a"))
    with pytest.raises(NotFoundError):
        await import_guides(catalogue, bundle, "neu")
    write(bundle, "b.md", "kaputt")
    with pytest.raises(GuideBundleError):
        await import_guides(catalogue, bundle, "neu", organisation_name="Neu e.V.")
    assert not await Organisation.exists(slug="neu")  # rolled back with the failed bundle
    (bundle / "b.md").unlink()
    await import_guides(catalogue, bundle, "neu", organisation_name="Neu e.V.")
    assert (await Organisation.get(slug="neu")).name == "Neu e.V."


async def test_same_folder_for_two_organisations_gives_two_guides(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    shutil.copytree(STARTER, tmp_path / "b")
    await import_guides(catalogue, tmp_path / "b", "kompetenzzentrum")
    await import_guides(catalogue, tmp_path / "b", "zweite", organisation_name="Zweite")
    assert await Entry.filter(kind="guide").count() == 16


async def test_demo_curation_is_idempotent(catalogue: Catalogue) -> None:
    from exchange.curation import load_curation_demo
    from exchange.curation.demo import COLLECTION_TITLE, DEMO_ORGANISATION
    from exchange.demo import demo_uid, load_organisations

    await load_organisations()
    report = await load_curation_demo(catalogue, demo_uid)
    assert report.count("created") == 8
    collection = await Collection.get(title=COLLECTION_TITLE)
    assert (
        await CollectionItem.filter(collection_id=collection.id).count() == 4
    )  # demo entries not loaded here
    changes = await Change.all().count()
    await load_curation_demo(catalogue, demo_uid)
    assert await Change.all().count() == changes
    assert (
        await Entry.filter(organisation__slug=DEMO_ORGANISATION, review_state="published").count()
        == 8
    )
