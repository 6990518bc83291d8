"""Peer matching, pure: weights, structure, fairness, the asker without entries, bad input, reasons."""

from __future__ import annotations

import itertools
import random

import pytest

from content import search_document
from exchange.errors import InvalidInputError
from exchange.matching import MatchQuery, Weights
from exchange.matching.profiles import EntryDigest, Place, ProfileIndex
from exchange.matching.rank import Match, rank, topic_terms
from exchange.matching.structure import structure_parts, structure_score
from tests.exchange.matching_support import (
    fresh_index,
    plain_rank,
    realish,
    realish_entry,
    snapshot,
    texts,
)

_ids = itertools.count(1)


def place(pid: int, name: str, population: int, size: str, lat: float, lon: float, land: str = "09",
          kreis: str = "09780", urb: str = "03", level: str = "gemeinde") -> Place:
    return Place(pid, f"{pid:012d}", name, level, size, population, urb, land,
                 {"09": "Bayern", "05": "Nordrhein-Westfalen"}[land], kreis, lat, lon)


def entry(title: str, summary: str, kind: str = "project", status: str | None = "running",
          topics: frozenset[int] = frozenset(), evaluated: bool = False) -> EntryDigest:
    return EntryDigest(next(_ids), kind, status, evaluated, topics, search_document(title, summary, "", [], "de"))


FILLER = [
    ("Radwegekonzept", "Neue Radwege in der Innenstadt und sichere Abstellanlagen"),
    ("Schuldigitalisierung", "Tablets und WLAN für alle Grundschulen"),
    ("Wärmeplanung", "Kommunale Wärmeplanung mit Fernwärme und Wärmepumpen"),
    ("Bürgerhaushalt", "Bürgerinnen und Bürger entscheiden über Teile des Haushalts"),
    ("Baumkataster", "Alle Stadtbäume digital erfassen und pflegen"),
    ("Open-Data-Portal", "Offene Daten der Verwaltung maschinenlesbar veröffentlichen"),
    ("Smarte Straßenbeleuchtung", "LED-Leuchten mit Bewegungsmeldern sparen Strom"),
    ("Digitales Bauamt", "Bauanträge online stellen und verfolgen"),
]


def build() -> tuple[ProfileIndex, dict[str, Place]]:
    index = ProfileIndex()
    places = {
        "asker": place(1, "Kleinhausen", 2900, "Landgemeinde", 47.70, 10.30),
        "town": place(2, "Dorfwiesen", 3100, "Landgemeinde", 47.75, 10.20),
        "city": place(3, "Großstadt am Fluss", 480_000, "Großstadt", 48.37, 10.90, urb="01"),
        "far": place(4, "Fernau", 2500, "Landgemeinde", 51.2, 6.8, land="05", kreis="05154"),
        "silent": place(5, "Stillbach", 2000, "Landgemeinde", 47.72, 10.28),
    }
    for p in places.values():
        index.put_place(p)
    index.topic_labels[1] = ("verkehr", "Verkehr", "Transport")
    index.topic_labels[2] = ("digitalisierung", "Digitalisierung", "Digitalisation")
    index.put(1, [entry("Dorfladen digital", "Ein digitaler Dorfladen mit Lieferdienst")])
    index.put(2, [entry("Parkplatzsensoren mit LoRaWAN", "Sensoren melden freie Parkplätze am Bahnhof über LoRaWAN",
                        kind="lesson", status=None, topics=frozenset({1}))])
    rng = random.Random(7)
    city = [entry(*rng.choice(FILLER)) for _ in range(200)]
    city += [entry("Parkraumsensorik", "Sensoren für Parkplätze in der Altstadt", status="completed", topics=frozenset({1}))] * 2
    index.put(3, city)
    index.put(4, [entry("Parkplatzsensoren LoRaWAN", "LoRaWAN Sensoren für freie Parkplätze")])
    index.reweigh()
    return index, places


ABOUT = "Wir planen Parkplatzsensoren mit LoRaWAN, die freie Parkplätze melden."


def run(index: ProfileIndex, q: MatchQuery, w: Weights | None = None) -> list[str]:
    _, matches = rank(index, q.validated(), w or Weights(), topic_terms(index))
    return [m.place.name for m in matches]


def test_fairness_one_relevant_lesson_beats_a_city_with_two_hundred_entries() -> None:
    index, p = build()
    topical = Weights(topics=1, experience=0, structure=0)
    names = run(index, MatchQuery(p["asker"], about=ABOUT, first=3), topical)
    assert names.index("Dorfwiesen") < names.index("Großstadt am Fluss")
    _, matches = rank(index, MatchQuery(p["asker"], about=ABOUT, first=3).validated(),
                      Weights(topics=0.5, experience=0.5, structure=0), topic_terms(index))
    by = {m.place.name: m for m in matches}
    # One relevant lesson counts for experience about as much as the city's two completed projects.
    assert by["Dorfwiesen"].experience >= 0.5
    assert by["Dorfwiesen"].score > by["Großstadt am Fluss"].score


def test_a_count_of_matching_entries_would_favour_the_city() -> None:
    """The counterfactual: counting relevant entries (no per-publisher normalisation) ranks the city first."""
    index, _ = build()
    stem = index.vocab["parkplatz"]
    mass = {pid: dict(zip(prof.term_ids, prof.weights)).get(stem, 0.0) for pid, prof in index.profiles.items()}
    assert mass[3] > mass[2]  # the city mentions parking more often than the town


def test_default_weights_rank_the_near_small_town_first() -> None:
    index, p = build()
    assert run(index, MatchQuery(p["asker"], about=ABOUT, first=4))[0] == "Dorfwiesen"


def test_filters_same_state_radius_and_size_class() -> None:
    index, p = build()
    assert "Fernau" not in run(index, MatchQuery(p["asker"], about=ABOUT, first=5, same_state=True))
    near = run(index, MatchQuery(p["asker"], about=ABOUT, first=5, radius_km=30))
    assert "Großstadt am Fluss" not in near and "Fernau" not in near and "Dorfwiesen" in near
    assert run(index, MatchQuery(p["asker"], first=5, size_classes=frozenset({"Großstadt"}))) == ["Großstadt am Fluss"]


def test_asker_without_entries_borrows_topics_from_its_kreis_and_neighbours() -> None:
    index, p = build()
    need, matches = rank(index, MatchQuery(p["silent"], first=3).validated(), Weights(), topic_terms(index))
    assert need.source == "neighbours" and need.neighbours >= 2
    assert matches and all(m.place.name != "Stillbach" for m in matches)
    assert matches[0].topics > 0


def test_nobody_published_anything_gives_structural_peers_only() -> None:
    index = ProfileIndex()
    a, b, c = place(1, "A", 2000, "Landgemeinde", 47.7, 10.3), place(2, "B", 2500, "Landgemeinde", 47.8, 10.3), \
        place(3, "C", 900_000, "Großstadt", 52.5, 13.4, land="05")
    for x in (a, b, c):
        index.put_place(x)
    need, matches = rank(index, MatchQuery(a, first=5).validated(), Weights(), {})
    assert need.source == "none"
    assert [m.place.name for m in matches] == ["B", "C"]
    assert not matches[0].has_entries and matches[0].topics == 0


ABOUTS = [
    "Wir planen ein Sensornetz für Parkplätze und Pegelstände mit offenen Daten.",
    "Haushaltsdaten und Bebauungspläne der Stadt als offene Daten veröffentlichen.",
    "Standorte von Schulen, Kitas und Spielplätzen auf einer Karte zeigen.",
]


def realish_queries(index: ProfileIndex, rng: random.Random) -> list[MatchQuery]:
    publishers = sorted(index.profiles)
    silent = sorted(set(index.places) - set(publishers))
    qs = [MatchQuery(index.places[pid], first=rng.choice([5, 10, 20])) for pid in rng.sample(publishers, 40)]
    qs += [MatchQuery(index.places[pid], first=10) for pid in rng.sample(silent, 10)]
    qs += [MatchQuery(index.places[pid], about=ABOUTS[i % 3], first=10) for i, pid in enumerate(rng.sample(silent, 6))]
    qs += [MatchQuery(index.places[pid], first=10, same_state=True, radius_km=150.0) for pid in rng.sample(publishers, 8)]
    qs += [MatchQuery(index.places[pid], first=5, size_classes=frozenset({"Kleinstadt", "Landgemeinde"}))
           for pid in rng.sample(publishers, 6)]
    return qs


def outcome(matches: list[Match]) -> list[tuple[object, ...]]:
    """What a ranking says apart from the floats: peers, experience items, shared topics and terms."""
    return [(m.place.id, m.has_entries, m.experience_ids, m.shared_topics, m.shared_terms) for m in matches]


def scores(matches: list[Match]) -> list[float]:
    return [x for m in matches for x in (m.score, m.topics, m.experience, m.structure)]


def test_fast_ranking_equals_the_plain_one_on_realish_data() -> None:
    places, published = realish(seed=3)
    index = fresh_index(places, published, {k: (f"t{k}", f"Thema {k}", f"topic {k}") for k in range(1, 13)})
    labels = topic_terms(index)
    compared = 0
    for q in realish_queries(index, random.Random(4)):
        need, fast = rank(index, q.validated(), Weights(), labels)
        plain_need, plain = plain_rank(index, q.validated(), Weights(), labels)
        assert need.terms == plain_need.terms and need.topics == plain_need.topics
        assert outcome(fast) == outcome(plain)
        assert scores(fast) == pytest.approx(scores(plain), rel=1e-12)
        compared += len(fast)
    assert compared > 500


def test_incremental_updates_equal_a_fresh_build() -> None:
    """Publishes, revisions and unpublishes (first and last entries included) one at a time,
    compared with an index built from scratch from the entries published at that point."""
    rng = random.Random(5)
    places, published = realish(seed=5, places=90, publishers=60, entries=500)
    index = fresh_index(places, published)
    pool = texts()
    next_id = 1 + max(e.id for entries in published.values() for e in entries)
    for step in range(1, 181):
        action = rng.choices(["publish", "revise", "unpublish"], [45, 25, 30])[0]
        pid = rng.choice([p.id for p in places] if action == "publish" else
                         [p for p, entries in published.items() if entries])
        entries = published.setdefault(pid, [])
        if action == "publish":
            entries.append(realish_entry(rng, next_id, pool))
            next_id += 1
        elif action == "revise":
            i = rng.randrange(len(entries))
            entries[i] = realish_entry(rng, entries[i].id, pool)
        else:
            del entries[rng.choice([0, -1, rng.randrange(len(entries))])]
        index.put(pid, sorted(entries, key=lambda e: e.id))
        if step % 45 == 0:
            fresh = fresh_index(places, published)
            assert snapshot(index) == snapshot(fresh)
            for profile in index.profiles.values():
                assert index.norms[profile.place_id] == profile.norm
                assert profile.norm == pytest.approx(fresh.profiles[profile.place_id].norm, rel=1e-12)
                assert profile.norm == pytest.approx(index.norm_of(profile), rel=1e-12)
            for q in realish_queries(index, random.Random(step)):
                _, updated = rank(index, q.validated(), Weights(), {})
                _, built = rank(fresh, q.validated(), Weights(), {})
                assert [m.place.id for m in updated] == [m.place.id for m in built]
                assert scores(updated) == pytest.approx(scores(built), rel=1e-12)
    assert 0 < index.publishers < len(places)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"first": 0}, "first must be between 1 and 50"),
        ({"first": 51}, "first must be between 1 and 50"),
        ({"about": "   "}, "about is empty"),
        ({"about": "x" * 5001}, "at most 5000"),
        ({"size_classes": frozenset({"Metropole"})}, "unknown size class"),
        ({"radius_km": -3.0}, "radiusKm"),
    ],
)
def test_bad_queries_are_refused_with_a_clear_message(changes: dict[str, object], message: str) -> None:
    _, p = build()
    with pytest.raises(InvalidInputError, match=message):
        MatchQuery(p["asker"], **changes).validated()  # type: ignore[arg-type]


def test_about_of_only_punctuation_is_refused() -> None:
    index, p = build()
    with pytest.raises(InvalidInputError, match="no words"):
        rank(index, MatchQuery(p["asker"], about="?!… —").validated(), Weights(), {})


def test_weights_come_from_configuration() -> None:
    w = Weights.from_mapping({"topics": 2, "experience": 1, "structure": 1, "structure.distance": 0.9})
    assert w.signals() == (0.5, 0.25, 0.25) and w.distance == 0.9
    with pytest.raises(InvalidInputError, match="unknown matching weight"):
        Weights.from_mapping({"popularity": 1})
    with pytest.raises(InvalidInputError, match="must not all be zero"):
        Weights.from_mapping({"topics": 0, "experience": 0, "structure": 0})


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (place(9, "Twin", 2900, "Landgemeinde", 47.70, 10.30), {"size": 1.0, "urbanisation": 1.0, "land": 1.0, "distance": 1.0}),
        (place(9, "Tenfold", 29000, "Mittelstadt", 47.70, 10.30, urb="01"), {"size": 0.25, "urbanisation": 0.0, "land": 1.0, "distance": 1.0}),
        (place(9, "Elsewhere", 2900, "Landgemeinde", 47.70, 10.30, land="05"), {"size": 1.0, "urbanisation": 1.0, "land": 0.0, "distance": 1.0}),
    ],
)
def test_structure_parts(other: Place, expected: dict[str, float]) -> None:
    asker = place(1, "Kleinhausen", 2900, "Landgemeinde", 47.70, 10.30)
    parts = structure_parts(asker, other, Weights(), 0.0)
    assert parts == pytest.approx(expected)
    assert 0.0 <= structure_score(parts, Weights()) <= 1.0


def test_distance_part_halves_at_the_configured_distance() -> None:
    a = place(1, "A", 2900, "Landgemeinde", 47.7, 10.3)
    assert structure_parts(a, a, Weights(distance_km=50), 50.0)["distance"] == pytest.approx(0.5)
