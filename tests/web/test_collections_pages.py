"""The collection pages and entry endorsements through the in-process client, on the demo content.

One demo node per module (`load_demo`: the starter guides, the collection
"Starterpaket …" and one endorsement), plus a second collection made here
whose items point at an entry this node does not hold and at a draft, so the
page must show them without a link and without the draft's title.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from exchange.app import build_node, create_app
from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.curation.collections import collection_uid, delete_collection, put_collection
from exchange.curation.demo import COLLECTION_TITLE, DEMO_ORGANISATION, ENDORSED
from exchange.demo import demo_uid, load_demo
from exchange.models import Collection, CollectionItem, Entry
from tests.conftest import make_database
from tests.helpers import settings_for

pytestmark = pytest.mark.asyncio(loop_scope="module")
ABSENT = uuid.UUID("0badc0de-0000-4000-8000-000000000001")


@dataclass
class Demo:
    client: httpx.AsyncClient
    starter: Collection
    mixed: Collection
    gone: Collection
    draft: Entry
    endorsed: uuid.UUID
    node_url: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    tmp: Path = tmp_path_factory.mktemp("collections")
    db = await make_database(tmp)
    with db.bound():
        settings = settings_for(db, tmp)
        node = build_node(settings, database=db)
        await load_demo(node.catalogue)
        org = await find_publisher(DEMO_ORGANISATION)
        draft = await node.catalogue.publish(
            Actor(publisher=org, scopes=frozenset({"publish"})),
            EntryInput(kind="guide", title="Unfertiger Leitfaden", summary="Noch geheim.", visibility="draft"),
        )
        curator = Actor(publisher=org, scopes=frozenset({"curate"}))
        starter = await Collection.get(uid=collection_uid(node.catalogue.node_url, DEMO_ORGANISATION,
                                                           "starterpaket-unter-5000"))
        first_item = await CollectionItem.filter(collection_id=starter.id).order_by("position").first()
        assert first_item is not None
        mixed = await put_collection(
            node.catalogue, curator, uid=uuid.uuid4(), title="Gemischte Liste", summary="", language="de",
            items=[(ABSENT, "Liegt auf einem anderen Knoten."), (draft.uid, "Ein Entwurf."),
                   (first_item.entry_uid, "Ein Leitfaden von hier.")],
        )
        gone = await put_collection(node.catalogue, curator, uid=uuid.uuid4(), title="Zurückgezogene Liste",
                                    summary="", language="de", items=[])
        await delete_collection(node.catalogue, curator, gone.uid)
        app = create_app(settings, node=node, migrate=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.node_url,
            headers={"Accept": "text/html", "Accept-Language": "de-DE,de;q=0.9"},
        ) as client:
            yield Demo(client, starter, mixed, gone, draft, demo_uid(settings.node_url, ENDORSED[0]),
                       settings.node_url)
    await db.close()


def _html(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert html.count("<h1") == 1
    assert 'href="#main"' in html and 'id="main"' in html and "<nav" in html
    levels = [int(n) for n in re.findall(r"<h([1-6])\b", html)]
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), f"headings skip a level: {levels}"
    return html


async def test_the_list_shows_each_collection_with_curator_and_item_count(demo: Demo) -> None:
    html = _html(await demo.client.get("/collections"))
    assert '<html lang="de">' in html and "<h1>Sammlungen</h1>" in html
    assert 'href="/collections" aria-current="page"' in html  # the navigation marks the page
    n = await CollectionItem.filter(collection_id=demo.starter.id).count()
    assert n >= 3
    item = re.search(rf'href="/collections/{demo.starter.uid}">(.*?)</a>.*?</article>', html, re.DOTALL)
    assert item is not None and item.group(1) == COLLECTION_TITLE
    org = await find_publisher(DEMO_ORGANISATION)
    assert f"Kuratiert von {org.name}" in item.group(0)
    assert f"{n} Einträge" in item.group(0)
    assert demo.starter.summary[:40] in item.group(0)
    assert f'/collections/{demo.mixed.uid}"' in html
    assert str(demo.gone.uid) not in html  # deleted collections are not listed
    assert "2 Sammlungen" in html


async def test_the_list_in_english(demo: Demo) -> None:
    html = _html(await demo.client.get("/collections?lang=en"))
    demo.client.cookies.clear()  # the language cookie would carry over to the other tests
    assert '<html lang="en">' in html and "<h1>Collections</h1>" in html and "Curated by" in html


async def test_a_collection_shows_its_items_in_order_with_notes_and_links(demo: Demo) -> None:
    html = _html(await demo.client.get(f"/collections/{demo.starter.uid}"))
    assert COLLECTION_TITLE in html
    items = list(await CollectionItem.filter(collection_id=demo.starter.id).order_by("position"))
    positions = [html.index(i.note) for i in items]
    assert positions == sorted(positions), "items keep the curators' order"
    for i in items:
        entry = await Entry.get(uid=i.entry_uid)
        assert f'href="/entries/{i.entry_uid}"' in html and entry.title in html
    assert "Einträge dieser Sammlung" in html and "Kuratiert von" in html and "<ol" in html


async def test_items_this_node_does_not_hold_or_the_reader_may_not_see_are_not_linked(demo: Demo) -> None:
    html = _html(await demo.client.get(f"/collections/{demo.mixed.uid}"))
    assert f"Eintrag {ABSENT}" in html and f'href="/entries/{ABSENT}"' not in html
    assert demo.node_url in html  # where the collection comes from
    assert "Unfertiger Leitfaden" not in html and f'href="/entries/{demo.draft.uid}"' not in html
    assert f"Eintrag {demo.draft.uid}" in html
    assert html.index("Liegt auf einem anderen Knoten.") < html.index("Ein Entwurf.") < html.index(
        "Ein Leitfaden von hier.")
    assert html.count('href="/entries/') == 1


async def test_unknown_deleted_and_malformed_ids(demo: Demo) -> None:
    r = await demo.client.get(f"/collections/{uuid.uuid4()}")
    assert r.status_code == 404 and "<h1" in r.text
    assert (await demo.client.get(f"/collections/{demo.gone.uid}")).status_code == 404
    r = await demo.client.get("/collections/not-a-uuid")
    assert r.status_code == 400 and "not-a-uuid" in r.text and "Traceback" not in r.text


@pytest.mark.parametrize("path", [
    "/collections/%00", "/collections/" + "x" * 5000, "/collections/%C3%A4%E2%80%AE", "/collections/1",
    "/collections/00000000-0000-0000-0000-00000000000g", "/collections/{}", "/collections?lang=xx&first=-1",
])
async def test_odd_paths_never_give_a_500(demo: Demo, path: str) -> None:
    r = await demo.client.get(path)
    assert r.status_code in (200, 400, 404), (path, r.status_code)
    assert "Traceback" not in r.text


async def test_the_entry_page_shows_who_endorses_it(demo: Demo) -> None:
    html = _html(await demo.client.get(f"/entries/{demo.endorsed}"))
    section = re.search(r'<section aria-labelledby="endorsements-heading".*?</section>', html, re.DOTALL)
    assert section is not None and "Empfohlen von" in section.group(0)
    org = await find_publisher(DEMO_ORGANISATION)
    assert org.name in section.group(0) and ENDORSED[1] in section.group(0)
    other = await CollectionItem.filter(collection_id=demo.starter.id).order_by("position").first()
    assert other is not None and other.entry_uid != demo.endorsed
    assert "endorsements-heading" not in (await demo.client.get(f"/entries/{other.entry_uid}")).text


async def test_every_page_links_the_collections(demo: Demo) -> None:
    html = _html(await demo.client.get("/"))
    assert '<a href="/collections">Sammlungen</a>' in html


async def test_an_organisations_page_lists_what_it_published_curated_and_endorsed(demo: Demo) -> None:
    org = await find_publisher(DEMO_ORGANISATION)
    html = _html(await demo.client.get(f"/organisations/{DEMO_ORGANISATION}"))
    assert f"<h1>{org.name}</h1>" in html
    published = await Entry.filter(organisation_id=org.id, deleted=False, visibility="public").first()
    assert published is not None and f'href="/entries/{published.uid}"' in html.split('id="collections-heading"')[0]
    curated = html.split('id="collections-heading"')[1].split('id="endorsed-heading"')[0]
    assert f'/collections/{demo.starter.uid}"' in curated and f'/collections/{demo.mixed.uid}"' in curated
    assert str(demo.gone.uid) not in curated  # a deleted collection is not listed
    endorsed = html.split('id="endorsed-heading"')[1]
    assert f'href="/entries/{demo.endorsed}"' in endorsed and "Anmerkung:" in endorsed
    assert "Unfertiger Leitfaden" not in html  # the draft never shows
    english = _html(await demo.client.get(f"/organisations/{DEMO_ORGANISATION}", params={"lang": "en"}))
    assert "Entries of" in english and "Collections curated by" in english
    listing = _html(await demo.client.get("/organisations"))
    assert f'href="/organisations/{DEMO_ORGANISATION}"' in listing
    # the entry page and the cards link the publisher's page
    entry = await demo.client.get(f"/entries/{published.uid}")
    assert f'href="/organisations/{DEMO_ORGANISATION}"' in entry.text


async def test_an_unknown_organisation_is_a_404_page(demo: Demo) -> None:
    r = await demo.client.get("/organisations/no-such-organisation")
    assert r.status_code == 404 and "<h1" in r.text
    r = await demo.client.get("/organisations/" + "x" * 200)
    assert r.status_code == 400
