"""Real text as input: the Ulm smart city strategy (CC BY-SA 4.0) imported as a guide bundle.

The fixture is the published Markdown without front matter and without its
images. The test copies it, adds front matter (id from the folder, title from
the first heading) and stand-in PNGs under the referenced names, imports it,
and checks that headings, lists, tables, links and images survive import
and rendering.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from exchange.app import build_node
from exchange.curation import import_guides
from exchange.curation.guides import asset_url, guide_uid
from exchange.db import Database
from exchange.models import Entry, GuideAsset
from tests.helpers import client_for, seed, settings_for

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ulm_smart_city_strategie_2021"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def prepare(target: Path) -> dict[str, str]:
    """Copy the fixture with front matter and stand-in images; returns guide id -> original text."""
    shutil.copytree(FIXTURE, target)
    (target / "ATTRIBUTION.md").unlink()  # ours, about the copy; not a chapter
    originals: dict[str, str] = {}
    for path in sorted(target.rglob("index.md")):
        text = path.read_text(encoding="utf-8")
        folder = path.parent.relative_to(target).as_posix()
        slug = (
            re.sub(r"[^a-z0-9]+", "-", folder.lower().replace("ä", "ae").replace("ü", "ue")).strip(
                "-"
            )
            or "uebersicht"
        )
        heading = next(
            (line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")), slug
        )
        title = heading.replace('"', "'")[:200]
        path.write_text(
            f'---\nid: {slug}\ntitle: "{title}"\nsummary: "Kapitel der Smart City Strategie Ulm"\n'
            f"license: CC-BY-SA-4.0\n---\n{text}",
            encoding="utf-8",
        )
        for image in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text):
            (path.parent / image).write_bytes(PNG)
        originals[slug] = text
    return originals


async def test_ulm_strategy_survives_import_and_rendering(db: Database, tmp_path: Path) -> None:
    await seed(db)
    originals = prepare(tmp_path / "ulm")
    catalogue = build_node(settings_for(db, tmp_path), database=db).catalogue
    report = await import_guides(catalogue, tmp_path / "ulm", "kompetenzzentrum", state="published")
    assert report.count("created") == len(originals) >= 20
    assert report.assets_stored == len(list((tmp_path / "ulm").rglob("*.png"))) > 0

    images_seen = tables_seen = 0
    for slug, original in originals.items():
        entry = await Entry.get(uid=guide_uid(catalogue.node_url, "kompetenzzentrum", slug))
        html = entry.body_html
        assert entry.license == "CC-BY-SA-4.0"
        # headings: every ATX heading outside code becomes an HTML heading
        code_free = re.sub(r"```.*?```", "", original, flags=re.DOTALL)
        headings = len(re.findall(r"^ {0,3}#{1,6} ", code_free, flags=re.MULTILINE))
        assert len(re.findall(r"<h[1-6][ >]", html)) == headings, slug
        # lists: as many list items as bullet or numbered lines at the start of a line
        bullets = len(re.findall(r"^ {0,3}(?:[-*+]|\d+\.) \S", code_free, flags=re.MULTILINE))
        assert html.count("<li") >= bullets * 0.9, slug
        # tables: one per delimiter row (pipe tables, with or without outer pipes)
        tables = len(re.findall(r"^\|? *:?-{3,}:? *\|", code_free, flags=re.MULTILINE))
        assert html.count("<table>") == tables, slug
        tables_seen += tables
        # links: every external link target is still there
        for href in set(re.findall(r"\]\((https?://[^)\s]+)\)", code_free)):
            assert href.replace("&", "&amp;") in html, (slug, href)
        # images: rewritten to the stored asset, rendered as <img>
        for image in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", code_free):
            images_seen += 1
            assert re.search(
                r'<img src="/guides/assets/kompetenzzentrum/[^"]*' + re.escape(image) + '"', html
            ), (slug, image)
    assert images_seen >= 5 and tables_seen >= 1

    asset = await GuideAsset.filter(path__endswith=".png").first()
    assert asset is not None
    async with client_for(db, tmp_path) as client:
        response = await client.get(asset_url("kompetenzzentrum", asset.path))
        assert response.status_code == 200 and response.content == PNG
    again = await import_guides(catalogue, tmp_path / "ulm", "kompetenzzentrum")
    assert again.count("unchanged") == len(originals) and again.assets_stored == 0
