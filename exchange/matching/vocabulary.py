"""A bilingual vocabulary for matching: German and English phrases that mean the same thing.

Each group of `exchange/data/vocabulary.csv` (see exchange/data/README.md)
names one concept by German and English phrases: the label pairs of the
Musterdatenkatalog taxonomy ("Abfallkalender" / "waste calendar") and
synonym groups of municipal practice ("Parkraum", "Stellplatz", "parking
space"). A text that contains every stem of one of a group's phrases holds the
group's concept term (`≈` and the group's name), which profiles and `about`
queries count like a stem: a German entry on "Stellplätze" and an English one
on "parking spaces" then share a term. German phrases are matched by their
German stems, English ones by their English stems and, for the English words
German texts use ("Open Data", "Carsharing"), also by their German stems.
Nothing is downloaded: the file ships with the exchange. Pure after loading.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from content import terms

DATA = Path(__file__).resolve().parents[1] / "data" / "vocabulary.csv"
PREFIX = "≈"  # concept terms start with it; no stem does
# Words of public-sector writing that describe nearly any entry (and so no two publishers in
# particular): a reason never cites them as a shared term, whatever their weight in a network.
GENERIC_WORDS = (
    "Daten", "Datensatz", "Datensätze", "Information", "Informationen", "Info", "Ministerium", "Verwaltung",
    "Stadt", "Gemeinde", "Kommune", "kommunal", "Kreis", "Landkreis", "Land", "Projekt", "Angebot", "Übersicht",
    "Liste", "Verzeichnis", "Katalog", "öffentlich", "Amt", "Ergebnis", "Ergebnisse", "Stand", "Jahr", "Bereich",
    "data", "dataset", "information", "ministry", "administration", "city", "town", "municipality", "municipal",
    "district", "state", "project", "overview", "list", "directory", "catalogue", "public", "office", "result",
    "results", "year", "area",
)


@dataclass(frozen=True)
class Vocabulary:
    """Phrases by one of their stems: (every stem of the phrase, the concept term)."""

    triggers: dict[str, tuple[tuple[frozenset[str], str], ...]]
    groups: int
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # concept term -> German, English label

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, str]]) -> Vocabulary:
        found: dict[str, set[tuple[frozenset[str], str]]] = {}
        names: set[str] = set()
        labels: dict[str, tuple[str, str]] = {}
        for row in rows:
            concept = PREFIX + row["group"]
            names.add(concept)
            labels.setdefault(concept, (row["de"].split("|")[0], row["en"].split("|")[0]))
            phrases = [(p, ("de",)) for p in row["de"].split("|")] + [(p, ("en", "de")) for p in row["en"].split("|")]
            for phrase, languages in phrases:
                for language in languages:
                    stems = frozenset(terms(phrase, language))
                    if stems:
                        found.setdefault(min(stems), set()).add((stems, concept))
        return cls({k: tuple(sorted(v, key=lambda x: (sorted(x[0]), x[1]))) for k, v in found.items()}, len(names),
                   labels)

    def concepts(self, stems: Iterable[str]) -> list[str]:
        """The concept terms of a text with these stems, in a stable order."""
        present = stems if isinstance(stems, (set, frozenset)) else set(stems)
        out: set[str] = set()
        triggers = self.triggers
        for s in present:
            for needed, concept in triggers.get(s, ()):
                if concept not in out and needed <= present:
                    out.add(concept)
        return sorted(out)


def read_rows(path: Path = DATA) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def default_vocabulary() -> Vocabulary:
    return Vocabulary.from_rows(read_rows())


@cache
def generic_stems() -> frozenset[str]:
    """The German and English stems of `GENERIC_WORDS`."""
    return frozenset(s for word in GENERIC_WORDS for language in ("de", "en") for s in terms(word, language))
