"""Curation in the demo node: the starter guide bundle, one collection and one endorsement.

`exchange serve --demo` imports `content/guides/` as published guides of the
demo organisation "gemeindenetzwerk-digital-demo", curates the collection
"Starterpaket: Digitalisierung für Gemeinden unter 5.000 Einwohnern" from
those guides and demo entries, and endorses one demo lesson. Everything is
idempotent: a second start changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from exchange.auth import Actor, find_publisher
from exchange.catalogue import Catalogue
from exchange.curation.collections import collection_uid, endorse, put_collection
from exchange.curation.guides import ImportReport, guide_uid, import_guides
from exchange.models import Entry

STARTER_BUNDLE = Path(__file__).resolve().parents[2] / "content" / "guides"
DEMO_ORGANISATION = "gemeindenetzwerk-digital-demo"
COLLECTION_TITLE = "Starterpaket: Digitalisierung für Gemeinden unter 5.000 Einwohnern"

# (guide id of the starter bundle or demo entry id, note)
COLLECTION_ITEMS = (
    (
        "guide:foerderung-digitalprojekte",
        "Zuerst klären: welche Förderung passt, und wer stellt den Antrag?",
    ),
    (
        "guide:ozg-onlinedienste-kleine-verwaltung",
        "Die Pflicht zuerst: Onlinedienste mit wenig Personal.",
    ),
    ("demo:demo-guesten-buergerservice-mobil", "Ein Beispiel aus einer kleinen Gemeinde."),
    ("guide:open-data-portal-starten", "Offene Daten ohne eigenes Portal: der leichte Einstieg."),
    ("demo:demo-bad-belzig-erfahrungen-open-data", "Was eine Kleinstadt beim Start gelernt hat."),
    ("guide:zweckvereinbarung-it", "Nicht allein: IT gemeinsam mit den Nachbargemeinden."),
)
ENDORSED = (
    "demo-bad-belzig-erfahrungen-open-data",
    "Ehrlich und übertragbar: lesenswert für jede kleine Gemeinde.",
)


async def load_curation_demo(
    catalogue: Catalogue, demo_uid: Callable[[str, str], uuid.UUID]
) -> ImportReport:
    """Import the starter bundle, curate the demo collection, endorse one lesson."""
    report = await import_guides(catalogue, STARTER_BUNDLE, DEMO_ORGANISATION, state="published")
    actor = Actor(publisher=await find_publisher(DEMO_ORGANISATION), scopes=frozenset({"curate"}))
    items: list[tuple[uuid.UUID, str]] = []
    for ref, note in COLLECTION_ITEMS:
        kind, _, name = ref.partition(":")
        if kind == "guide":
            uid = guide_uid(catalogue.node_url, DEMO_ORGANISATION, name)
        else:
            uid = demo_uid(catalogue.node_url, name)
        if await Entry.exists(uid=uid):
            items.append((uid, note))
    await put_collection(
        catalogue,
        actor,
        uid=collection_uid(catalogue.node_url, DEMO_ORGANISATION, "starterpaket-unter-5000"),
        title=COLLECTION_TITLE,
        language="de",
        items=items,
        summary="Sechs Schritte für Gemeinden ohne IT-Abteilung: Förderung, Onlinedienste, offene Daten, Zusammenarbeit.",
    )
    lesson = demo_uid(catalogue.node_url, ENDORSED[0])
    if await Entry.exists(uid=lesson, deleted=False):
        await endorse(catalogue, actor, str(lesson), ENDORSED[1])
    return report
