"""Relevance first, as properties: no structure or experience lifts a peer without topic evidence
above one with clear evidence, whatever the profiles, the places and the weights within bounds;
and experience does not grow with the number of generic matches (no hubs)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from content import search_document
from exchange.errors import InvalidInputError
from exchange.matching import MatchQuery, Weights
from exchange.matching.profiles import EntryDigest, Place, ProfileIndex
from exchange.matching.rank import CLEAR_EVIDENCE, FLOOR, rank, score_of, topic_terms
from exchange.matching.weights import MIN_TOPICS_SHARE

WORDS = ["Parkplatz", "Sensor", "LoRaWAN", "Radweg", "Schule", "Tablet", "Wärmeplanung", "Fernwärme",
         "Bürgerhaushalt", "Baumkataster", "Straßenbeleuchtung", "Bauantrag", "Friedhof", "Bibliothek",
         "Wahlergebnis", "Haushaltsplan", "Kita", "Feuerwehr", "Abfallkalender", "Spielplatz"]
SIZES = ["Landgemeinde", "Kleinstadt", "Mittelstadt", "Großstadt"]

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def weights(draw: st.DrawFn) -> Weights:
    experience = draw(st.floats(min_value=0.0, max_value=5.0))
    structure = draw(st.floats(min_value=0.0, max_value=5.0))
    least = MIN_TOPICS_SHARE / (1 - MIN_TOPICS_SHARE) * (experience + structure)
    topics = draw(st.floats(min_value=max(least, 0.01), max_value=max(least, 0.01) + 5.0))
    return Weights().updated({"topics": topics, "experience": experience, "structure": structure,
                              "structure.distance": draw(st.floats(min_value=0.0, max_value=1.0)),
                              "structure.size": draw(st.floats(min_value=0.0, max_value=1.0))})


@given(weights(), unit, st.none() | unit, st.floats(min_value=CLEAR_EVIDENCE, max_value=1.0), unit, st.none() | unit)
def test_no_evidence_scores_below_clear_evidence_for_every_allowed_weight(
    w: Weights, e0: float, s0: float | None, t: float, e1: float, s1: float | None,
) -> None:
    """Also where no structural fact applies (None: an organisation, or no asker)."""
    assert score_of(w, 0.0, e0, s0) <= FLOOR < score_of(w, t, e1, s1)


def test_weights_below_the_topics_share_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="at least 20%"):
        Weights().updated({"topics": 0.1, "experience": 0.5, "structure": 0.5})
    with pytest.raises(InvalidInputError, match="between 0 and 10"):
        Weights().updated({"structure": -1})
    with pytest.raises(InvalidInputError, match="distance_km"):
        Weights().updated({"distance_km": 0})


@st.composite
def catalogues(draw: st.DrawFn) -> tuple[ProfileIndex, Place, str]:
    ids = itertools.count(1)
    index = ProfileIndex()
    n = draw(st.integers(min_value=3, max_value=12))
    places = []
    for pid in range(1, n + 1):
        population = draw(st.integers(min_value=500, max_value=900_000))
        places.append(Place(pid, f"{pid:012d}", f"Ort {pid}", "gemeinde", draw(st.sampled_from(SIZES)), population,
                            draw(st.sampled_from(["01", "02", "03"])), draw(st.sampled_from(["05", "09"])), "Land",
                            draw(st.sampled_from(["05154", "09780"])), draw(st.floats(47.5, 54.5)),
                            draw(st.floats(6.0, 14.5))))
    for p in places:
        index.put_place(p)
    for p in places[1:]:
        entries = []
        for _ in range(draw(st.integers(min_value=1, max_value=5))):
            words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))
            kind = draw(st.sampled_from(["project", "lesson"]))
            status = draw(st.sampled_from(["running", "completed"])) if kind == "project" else None
            entries.append(EntryDigest(next(ids), kind, status, draw(st.booleans()), frozenset(),
                                       search_document(" ".join(words), " ".join(words), "", [], "de")))
        index.put(p.id, entries)
    about = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5)))
    return index, places[0], about


@settings(max_examples=60, deadline=None)
@given(catalogues(), weights())
def test_a_peer_without_shared_evidence_never_outranks_one_with_clear_evidence(
    catalogue: tuple[ProfileIndex, Place, str], w: Weights,
) -> None:
    index, asker, about = catalogue
    _, matches = rank(index, MatchQuery(asker, about=about, first=20).validated(), w, topic_terms(index))
    seen_clear = False
    for m in reversed(matches):  # from the bottom: once a clear peer is seen, no peer above may lack evidence
        if m.topics >= CLEAR_EVIDENCE:
            seen_clear = True
        elif m.topics == 0.0:
            assert not seen_clear, f"{m.place.name} without evidence ranks above a peer with clear evidence"


def test_experience_counts_the_three_best_items_only() -> None:
    """A publisher with forty completed projects sharing a word is no stronger than one with three."""
    ids = itertools.count(1)
    index = ProfileIndex()
    asker = Place(1, "000000000001", "Asker", "gemeinde", "Kleinstadt", 9000, "02", "09", "Bayern", "09780", 47.7, 10.3)
    few = Place(2, "000000000002", "Few", "gemeinde", "Kleinstadt", 9000, "02", "09", "Bayern", "09780", 47.7, 10.3)
    many = Place(3, "000000000003", "Many", "gemeinde", "Kleinstadt", 9000, "02", "09", "Bayern", "09780", 47.7, 10.3)
    for p in (asker, few, many):
        index.put_place(p)

    def done(title: str) -> EntryDigest:
        return EntryDigest(next(ids), "project", "completed", False, frozenset(),
                           search_document(title, title, "", [], "de"))

    index.put(2, [done("Daten Portal Parkplatz Sensoren") for _ in range(3)])
    index.put(3, [done("Daten Portal Parkplatz Sensoren") for _ in range(40)])
    index.reweigh()
    _, matches = rank(index, MatchQuery(asker, about="Daten Portal Parkplatz Sensoren", first=2).validated(),
                      Weights(), topic_terms(index))
    by = {m.place.name: m for m in matches}
    assert by["Many"].experience == pytest.approx(by["Few"].experience)
    assert len(by["Many"].experience_ids) == 40
