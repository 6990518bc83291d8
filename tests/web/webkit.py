"""Content for the web page tests: a seeded node with projects, a lesson, a guide, a draft.

`populate` publishes a small catalogue through the node's own Catalogue (the
same path as the publish page), including an entry with hostile Markdown;
`page_client` gives an in-process httpx client of the node that asks for HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from exchange.app import Node, build_node, create_app
from exchange.auth import Actor, find_publisher
from exchange.catalogue import EntryInput
from exchange.db import Database
from tests.helpers import MUNICIPALITIES, seed, settings_for, token_for

KISSELBACH = MUNICIPALITIES[2]["official_key"]
KISSELBACH_AGS = MUNICIPALITIES[2]["ags"]
WIGGENSBACH = MUNICIPALITIES[1]["official_key"]

HOSTILE = (
    "Harmless text.\n\n<script>window.__xss = 1</script>\n\n"
    '<img src="x" onerror="window.__xss = 2">\n\n'
    "[click me](javascript:window.__xss=3)\n\n"
    '<a href="#" onclick="window.__xss=4">inline handler</a>\n\n'
    '<iframe src="javascript:window.__xss=5"></iframe>\n\n'
    '<svg onload="window.__xss=6"></svg>\n'
)


@dataclass
class Content:
    node: Node
    project: str
    lesson: str
    guide: str
    hostile: str
    draft: str
    token: str
    other_token: str


async def populate(db: Database, tmp_path: Path) -> Content:
    await seed(db)
    node = build_node(settings_for(db, tmp_path), database=db)
    await node.services.matcher.startup()
    muni = await find_publisher(KISSELBACH)
    other = await find_publisher(WIGGENSBACH)
    org = await find_publisher("kompetenzzentrum")
    me = Actor(publisher=muni, scopes=frozenset({"publish"}))
    them = Actor(publisher=other, scopes=frozenset({"publish"}))
    cat = node.catalogue
    project = await cat.publish(me, EntryInput(
        kind="project", title="LoRaWAN-Sensornetz im Dorf", summary="Zwölf Sensoren messen Pegel.",
        body_markdown="## Aufbau\n\nVier Gateways auf dem Rathaus.", topics=["digitalisierung"],
        status="completed", contact_role="Bauamt", contact_email="bauamt@example.org",
        goals=[{"goal": "Kontrollfahrten senken", "indicators": [
            {"name": "Fahrten pro Monat", "unit": "Anzahl", "baseline": 46, "target": 20, "actual": 24}]}],
    ))
    lesson = await cat.publish(me, EntryInput(
        kind="lesson", title="Was wir über Sensoren gelernt haben", summary="Wartung kostet Zeit.",
        body_markdown="Text.", topics=["digitalisierung"], what_worked="Die Gateways.",
        project_id=str(project.uid),
    ))
    await cat.publish(them, EntryInput(
        kind="project", title="Sensoren für Zisternen", summary="Füllstände per Funk.",
        body_markdown="Wiggensbach misst Füllstände.", topics=["digitalisierung"], status="running",
    ))
    guide = await cat.publish(Actor(publisher=org, scopes=frozenset({"publish"})), EntryInput(
        kind="guide", title="Checkliste Open Data", summary="Erste Datensätze veröffentlichen.",
        body_markdown="- Ziele klären", topics=["digitalisierung"], language="de", checklist=["Ziele klären"],
    ))
    hostile = await cat.publish(me, EntryInput(
        kind="project", title="Hostile entry", summary="Tries to run a script.", body_markdown=HOSTILE,
        topics=["digitalisierung"], language="en",
    ))
    draft = await cat.publish(me, EntryInput(
        kind="project", title="Geheimer Entwurf", summary="Noch nicht fertig.", visibility="draft",
    ))
    return Content(node, str(project.uid), str(lesson.uid), str(guide.uid), str(hostile.uid),
                   str(draft.uid), await token_for(KISSELBACH), await token_for(WIGGENSBACH))


def page_client(content: Content, db: Database) -> httpx.AsyncClient:
    app = create_app(content.node.settings, node=content.node, migrate=False)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://node-a.test",
        headers={"Accept": "text/html", "Accept-Language": "de-DE,de;q=0.9,en;q=0.5"},
    )
