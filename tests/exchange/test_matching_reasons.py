"""Reasons that explain, over a labelled set of real texts (the Musterdatenkatalog NRW): the shared
words a reason cites are distinctive, never a generic word, and every peer with entries is
explained by at least one of its entries."""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections import Counter

import pytest

from content import search_document, stem
from exchange.matching import MatchQuery, Weights
from exchange.matching.profiles import EntryDigest, Place, ProfileIndex
from exchange.matching.rank import _WORD, rank, topic_terms
from exchange.matching.reasons import EntryFacts, reasons, relevant_entries
from tests.exchange.matching_support import DATA, fresh_index

NAMED = ("data", "information", "ministry", "Daten", "Informationen", "Ministerium")  # what reasons used to cite
GENERIC_SHARE = 0.25  # a word used by a quarter of all publishers of a set says nothing about two of them


def labelled_sets() -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Publisher -> (title, description) of its datasets: the 39 real publishers, and (ORG, THEMA) groups."""
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(DATA.read_bytes()).decode("utf-8"))))
    nrw: dict[str, list[tuple[str, str]]] = {}
    groups: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        text = (r["dct:title"], r["dct:description"])
        nrw.setdefault(r["ORG"], []).append(text)
        groups.setdefault(f"{r['ORG']} / {r['THEMA']}", []).append(text)
    return {"nrw": nrw, "groups": groups}


def stems_of(word: str) -> set[str]:
    return {stem(word.lower(), "de"), stem(word.lower(), "en")}


def generic_stems(docs: dict[int, list[EntryDigest]]) -> set[str]:
    """The issue's generic words and, from the data itself, every stem that a quarter of the publishers use."""
    used = Counter(s for entries in docs.values() for s in {w for e in entries for w in e.search_terms.split()})
    common = {s for s, n in used.items() if n >= GENERIC_SHARE * len(docs)}
    return common | {s for w in NAMED for s in stems_of(w)}


@pytest.mark.parametrize("name", ["nrw", "groups"])
def test_no_reason_cites_a_generic_word_and_every_peer_names_an_entry(name: str) -> None:
    publishers = labelled_sets()[name]
    ids = iter(range(1, 10**6))
    places, docs, facts = [], {}, {}
    for pid, (label, texts) in enumerate(sorted(publishers.items()), start=1):
        places.append(Place(pid, f"{pid:012d}", label, "gemeinde", "", None, "", "", "", "", None, None))
        docs[pid], facts[pid] = [], []
        for title, description in texts:
            i = next(ids)
            terms = search_document(title, description, "", [], "de")
            docs[pid].append(EntryDigest(i, "project", "completed", False, frozenset(), terms))
            facts[pid].append(EntryFacts(i, str(i), "project", "completed", title, None, None, False, terms))
    index: ProfileIndex = fresh_index(places, docs)
    generic = generic_stems(docs)
    labels = topic_terms(index)
    askers = places if len(places) <= 60 else random.Random(15).sample(places, 60)
    cited = 0
    for asker in askers:
        need, matches = rank(index, MatchQuery(asker, first=10).validated(), Weights(), labels)
        for m in matches:
            candidates = facts[m.place.id][-100:]
            shown = relevant_entries(index, need, candidates, m.experience_ids, 3)
            assert shown, f"{m.place.name}: no entry explains the match for {asker.name}"
            by_id = {e.id: e for e in candidates}
            known = [by_id[i] for i in m.experience_ids[:8] if i in by_id]
            text = reasons(index, need, asker, m, known, shown, "de")[0].explanation
            assert "ähnliche Einträge: „" in text  # the evidence: at least one of the peer's entries
            if "gemeinsame Begriffe: " not in text:
                continue
            words = text.split("gemeinsame Begriffe: ")[1].split(";")[0].split(", ")
            for word in words:
                assert _WORD.fullmatch(word), word
                assert not stems_of(word) & generic, f"{asker.name} -> {m.place.name}: generic {word!r} in {text!r}"
            cited += len(words)
    assert cited > len(askers)  # reasons do cite words: about one per peer or more
