"""Cross-language peer matching: does a German description find English entries, and the reverse (prints JSON).

Data: the 268 concepts of the Musterdatenkatalog taxonomy v4 with a German
and an English label and a German definition (exchange/data/
musterdatenkatalog_v4_concepts.csv, CC0). Two catalogues, each concept one
publisher on a Gemeinde drawn at random:

* `de_to_en`: every publisher has one English entry (title and summary the
  English label); each German definition, as `about` of an asker without
  entries, should find the concept's publisher.
* `en_to_de`: every publisher has one German entry (the German label, the
  definition as summary); each English label, as `about`, should find it.

Reported: recall@10 (the concept's publisher among the ten peers) without
the bilingual vocabulary, with it, and held out: the vocabulary's taxonomy
rows split in two halves by concept, each half's concepts asked with a
vocabulary built from the other half's label pairs and the synonym groups
only (so a concept's own label pair never helps it). The vocabulary's
taxonomy rows come from these same labels: the full figure shows the
mechanism, the held-out one how far it carries to concepts it was not built
from.

    python bench/matching_bilingual.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from content import search_document
from exchange.db import Database
from exchange.matching import MatchQuery, ProfileStore, Weights
from exchange.matching.profiles import Place, ProfileIndex
from exchange.matching.rank import rank, topic_terms
from exchange.matching.vocabulary import Vocabulary, read_rows
from exchange.models import Entry, Municipality
from exchange.registry import import_register, load_snapshot
from exchange.topics import import_topics

DATA = Path(__file__).resolve().parents[1] / "exchange" / "data" / "musterdatenkatalog_v4_concepts.csv"
NOW = datetime(2023, 5, 21, tzinfo=UTC)
SEED = 20260422
K = 10


def concepts() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def split_vocabulary(held_out: set[str]) -> Vocabulary:
    """The shipped vocabulary without the label pairs of the held-out concepts' labels."""
    banned: set[str] = set()
    for c in concepts():
        if c["uri"] in held_out:
            banned.update(part.strip().lower() for part in c["label_de"].split(" - "))
    return Vocabulary.from_rows(r for r in read_rows() if r["source"] != "mdk" or r["de"].lower() not in banned)


async def catalogue(folder: Path, name: str, language: str) -> tuple[dict[str, int], Place, Path]:
    """A database with one entry per concept, in `language`; the publisher of each, and an asker without entries."""
    path = folder / f"{name}.db"
    db = Database(f"sqlite://{path}")
    await db.open(create=True)
    rows = concepts()
    with db.bound():
        await db.migrate()
        if not await Municipality.exists():
            await import_register(load_snapshot())
            await import_topics()
        gemeinden = await Municipality.filter(level="gemeinde", active=True).order_by("id")
        chosen = random.Random(SEED).sample(gemeinden, len(rows) + 1)
        publishers = {c["uri"]: m.id for c, m in zip(rows, chosen, strict=False)}
        if not await Entry.exists():
            entries = []
            for c in rows:
                if language == "en":
                    title, summary = c["label_en"], c["label_en"]
                else:
                    title, summary = c["label_de"], c["definition_de"]
                entries.append(Entry(
                    uid=uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{c['uri']}"), kind="project", status="completed",
                    origin_node="http://bench.test", title=title, summary=summary, language=language,
                    municipality_id=publishers[c["uri"]], visibility="public", created_at=NOW, updated_at=NOW,
                    search_terms=search_document(title, summary, "", [], language)))
            await Entry.bulk_create(entries, batch_size=500)
    await db.close()
    asker = chosen[-1]
    return publishers, Place(asker.id, asker.official_key, asker.name, "gemeinde", asker.size_class,
                             asker.population, "", asker.land_code, "", "", None, None), path


async def index_of(path: Path, store: ProfileStore) -> ProfileIndex:
    db = Database(f"sqlite://{path}")
    await db.open(create=False)
    with db.bound():
        index = await store.load()
    await db.close()
    return index


def recall(index: ProfileIndex, publishers: dict[str, int], asker: Place, questions: dict[str, str],
           only: set[str] | None = None) -> tuple[float, int]:
    labels = topic_terms(index)
    hits = asked = 0
    for uri, about in questions.items():
        if only is not None and uri not in only:
            continue
        _, matches = rank(index, MatchQuery(asker, about=about, first=K).validated(), Weights(), labels)
        asked += 1
        hits += publishers[uri] in {m.place.id for m in matches}
    return hits / asked, asked


async def direction(folder: Path, name: str, language: str, questions: dict[str, str]) -> dict[str, object]:
    publishers, asker, path = await catalogue(folder, name, language)
    plain, n = recall(await index_of(path, ProfileStore(bilingual=False)), publishers, asker, questions)
    full, _ = recall(await index_of(path, ProfileStore()), publishers, asker, questions)
    uris = sorted(questions)
    random.Random(SEED).shuffle(uris)
    halves = [set(uris[: len(uris) // 2]), set(uris[len(uris) // 2:])]
    hits = 0.0
    for half in halves:
        r, asked = recall(await index_of(path, ProfileStore(split_vocabulary(half))), publishers, asker, questions, half)
        hits += r * asked
    return {"pairs": n, "recall@10_without_vocabulary": round(plain, 4), "recall@10": round(full, 4),
            "recall@10_held_out": round(hits / n, 4)}


async def main(keep: str | None) -> dict[str, object]:
    started = time.perf_counter()
    folder = Path(keep or tempfile.mkdtemp(prefix="matching-bilingual-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = concepts()
    return {
        "benchmark": "matching_bilingual",
        "data": "Musterdatenkatalog taxonomy v4 (CC0): German and English labels, German definitions",
        "de_to_en": await direction(folder, "en_corpus", "en", {c["uri"]: c["definition_de"] for c in rows}),
        "en_to_de": await direction(folder, "de_corpus", "de", {c["uri"]: c["label_en"] for c in rows}),
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="reuse/keep the databases in this folder")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.keep)), indent=2, ensure_ascii=False))
