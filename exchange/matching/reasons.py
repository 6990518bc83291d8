"""Why a peer matches: relevant entries, and the reasons in German and English.

For each ranked match (`rank`), the reasons name its shared topics, its
distinctive shared words and concepts of the vocabulary (chosen in
`rank._annotate`: strong in both profiles, used by few publishers, never a
generic word of `vocabulary.GENERIC_WORDS`), at least one of its entries as
evidence, its experience on them (with the entries that show it) and its
structure (size, density, Land, distance), in the asker's language;
`relevant_entries` picks the entries of the peer worth showing. Pure: no I/O,
no clock.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from content import stem
from exchange.matching.profiles import Place, ProfileIndex
from exchange.matching.rank import _WORD, NEIGHBOUR_KM, ORGANISATION, Match, Need

# The BBSR size classes as English readers know them (the German names are the classes' own).
SIZE_EN = {"Landgemeinde": "rural municipality", "Kleinstadt": "small town", "Mittelstadt": "medium-sized town",
           "Großstadt": "city"}
DENSITY = {
    "01": ("dicht besiedelt", "densely populated"),
    "02": ("mittel besiedelt", "of intermediate density"),
    "03": ("dünn besiedelt", "thinly populated"),
}


@dataclass(frozen=True)
class Reason:
    signal: str
    score: float
    explanation: str


@dataclass(frozen=True)
class EntryFacts:
    """What reasons say about one of the peer's entries."""

    id: int
    uid: str
    kind: str
    status: str | None
    title: str
    year: str | None
    project_uid: str | None
    evaluated: bool
    search_terms: str


def _number(n: int, language: str) -> str:
    text = f"{n:,}"
    return text.replace(",", ".") if language == "de" else text


def _quote(title: str, language: str) -> str:
    return f"„{title}“" if language == "de" else f"‘{title}’"


def relevant_entries(index: ProfileIndex, need: Need, entries: list[EntryFacts], experience_ids: list[int], most: int = 3) -> list[EntryFacts]:
    """The peer's entries that best explain the match: overlap with the need, experience first."""
    chosen = set(experience_ids)
    wanted = {index.words[t]: v for t, v in need.terms.items()}
    scored: list[tuple[float, int, EntryFacts]] = []
    for e in entries:
        stems = set(e.search_terms.split())
        overlap = sum(wanted[word] for word in wanted.keys() & stems) / math.sqrt(len(stems) or 1)
        score = overlap * 10 + (0.5 if e.id in chosen else 0.0)
        if score > 0:
            scored.append((score, -e.id, e))
    chosen_entries = [e for _, _, e in heapq.nlargest(most, scored, key=lambda x: (x[0], x[1]))]
    if not chosen_entries and entries:  # matched on controlled topics alone: its newest entry is the evidence
        chosen_entries = [max(entries, key=lambda e: e.id)]
    return chosen_entries


_PLAIN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})


def _surface_words(index: ProfileIndex, term_ids: list[int], facts: list[EntryFacts]) -> list[str]:
    """The shared stems as words people wrote: each stem is shown as it appears in a
    title of the peer's entries; stems that appear in no title are left out."""
    wanted = {index.words[t] for t in term_ids}
    # A stem keeps its word's first two letters (German stems without umlauts or ß): a title
    # word that starts otherwise cannot have a wanted stem, and is not stemmed (stemming is
    # what costs here, 0.3-0.5 ms a word that no cache holds).
    starts = {w[:2] for w in wanted}
    found: dict[str, str] = {}
    for e in facts:
        if len(found) == len(wanted):  # stop once every stem has its word
            break
        for word in _WORD.findall(e.title):
            lower = word.lower()
            if lower[:2] not in starts and lower.translate(_PLAIN)[:2] not in starts:
                continue
            for language in ("de", "en"):
                key = stem(lower, language)
                if key in wanted and key not in found:
                    found[key] = word
    return [found[index.words[t]] for t in term_ids if index.words[t] in found]


def _topics_text(
    index: ProfileIndex, need: Need, asker: Place, m: Match, shown: list[EntryFacts],
    language: str, entries: list[EntryFacts] | None = None,
) -> str:
    de = language == "de"
    parts: list[str] = []
    if need.source == "neighbours":
        parts.append(
            f"{asker.name} hat noch nichts veröffentlicht; die Themen kommen aus dem Kreis und "
            f"{need.neighbours} Nachbarn im Umkreis von {NEIGHBOUR_KM:.0f} km"
            if de else
            f"{asker.name} has not published anything yet; its topics are taken from its Kreis and "
            f"{need.neighbours} neighbours within {NEIGHBOUR_KM:.0f} km"
        )
    elif need.source == "none":
        return (f"weder {asker.name} noch Nachbarn haben Einträge veröffentlicht; kein Themenvergleich möglich"
                if de else f"neither {asker.name} nor its neighbours have published entries; topics cannot be compared")
    if not m.has_entries:
        parts.append("hat noch keine Einträge veröffentlicht" if de else "has not published any entries yet")
        return "; ".join(parts)
    if m.shared_topics:
        labels = [index.topic_labels[t][1 if de else 2] for t in m.shared_topics if t in index.topic_labels]
        parts.append(("gemeinsame Themen: " if de else "shared topics: ") + ", ".join(labels))
    words = _surface_words(index, m.shared_terms, list(shown) + list(entries or []))
    if words:
        parts.append(("gemeinsame Begriffe: " if de else "common terms: ") + ", ".join(words))
    concept_labels = index.vocabulary.labels if index.vocabulary is not None else {}
    said = {w.lower() for w in words}
    concepts: list[str] = []
    for t in m.shared_concepts:
        pair = concept_labels.get(index.words[t])
        if pair is not None and pair[0 if de else 1].lower() not in said:
            concepts.append(pair[0 if de else 1])
    if concepts:
        parts.append(("gemeinsame Konzepte: " if de else "shared concepts: ") + ", ".join(concepts))
    if shown:
        titles = ", ".join(_quote(e.title, language) for e in shown[:2])
        parts.append(("ähnliche Einträge: " if de else "similar entries: ") + titles)
    if not parts:
        parts.append("kaum gemeinsame Themen" if de else "few topics in common")
    n = m.entry_count
    parts.append((f"{n} Eintrag" if n == 1 else f"{n} Einträge") + " insgesamt" if de
                 else (f"{n} entry" if n == 1 else f"{n} entries") + " in all")
    return "; ".join(parts)


def _experience_text(m: Match, entries: list[EntryFacts], language: str) -> str:
    de = language == "de"
    by_id = {e.id: e for e in entries}
    items = [by_id[i] for i in m.experience_ids if i in by_id]
    projects = [e for e in items if e.kind == "project"]
    lessons = [e for e in entries if e.kind == "lesson"]
    parts: list[str] = []
    told = 0
    for p in projects[:2]:
        told += 1
        year = f" ({p.year})" if p.year else ""
        has_lesson = any(x.project_uid == p.uid for x in lessons)
        text = (f"hat {_quote(p.title, language)}{year} abgeschlossen" if de
                else f"completed {_quote(p.title, language)}{year}")
        if has_lesson:
            text += " und Erfahrungen dazu aufgeschrieben" if de else " and wrote a lesson learned on it"
        if p.evaluated:
            text += " (mit gemessenen Indikatoren)" if de else " (with measured indicators)"
        parts.append(text)
    linked = {p.uid for p in projects}
    for x in [e for e in items if e.kind == "lesson" and e.project_uid not in linked][:2]:
        told += 1
        parts.append(f"Erfahrungsbericht {_quote(x.title, language)}" if de
                     else f"lesson learned {_quote(x.title, language)}")
    if not parts:
        return ("noch kein abgeschlossenes Projekt und kein Erfahrungsbericht zu diesen Themen" if de
                else "no completed project or lesson learned on these topics yet")
    more = len(m.experience_ids) - told - sum(1 for e in items if e.kind == "lesson" and e.project_uid in linked)
    if more > 0:
        parts.append(f"und {more} weitere" if de else f"and {more} more")
    return "; ".join(parts)


def _structure_text(asker: Place, m: Match, language: str) -> str:
    de = language == "de"
    p = m.place
    if p.level == ORGANISATION:
        if not p.land_name:
            return ("eine Organisation: Größe, Siedlungsdichte, Land und Entfernung werden nicht verglichen" if de
                    else "an organisation: size, density, Land and distance are not compared")
        same = bool(asker.land_code) and p.land_code == asker.land_code
        if de:
            return (f"eine Organisation, deren Partnerkommunen {'ebenfalls ' if same else ''}in {p.land_name} liegen;"
                    " Größe und Siedlungsdichte werden nicht verglichen")
        return (f"an organisation whose partner municipalities lie {'also ' if same else ''}in {p.land_name};"
                " size and density are not compared")
    parts: list[str] = []
    if p.size_class:
        same = p.size_class == asker.size_class
        people = f" ({_number(p.population, language)} {'Einwohner' if de else 'inhabitants'})" if p.population else ""
        if de:
            parts.append(("ebenfalls " if same else "") + p.size_class + people)
        else:
            parts.append(("also a " if same else "a ") + SIZE_EN.get(p.size_class, p.size_class) + people)
    elif p.population:
        parts.append(f"{_number(p.population, language)} {'Einwohner' if de else 'inhabitants'}")
    if m.distance_km is not None:
        parts.append(f"{m.distance_km:.0f} km " + ("entfernt" if de else "away"))
    if p.urbanisation in DENSITY:
        label = DENSITY[p.urbanisation][0 if de else 1]
        same = p.urbanisation == asker.urbanisation
        parts.append((("ebenfalls " if de else "also ") if same else "") + label)
    if p.land_name:
        same = p.land_code == asker.land_code
        parts.append((f"ebenfalls in {p.land_name}" if same else f"in {p.land_name}") if de
                     else (f"also in {p.land_name}" if same else f"in {p.land_name}"))
    text = ", ".join(parts) or ("keine Strukturdaten" if de else "no structural data")
    if asker.id < 0:  # `about` alone: nobody to compare with
        return ("nicht verglichen, ohne anfragende Kommune: " if de else "not compared, no asking municipality: ") + text
    if asker.level == ORGANISATION and not (asker.land_code or asker.located):
        return ("nicht verglichen, die anfragende Organisation hat keinen Ort: " if de
                else "not compared, the asking organisation has no place: ") + text
    return text


def reasons(index: ProfileIndex, need: Need, asker: Place, m: Match, entries: list[EntryFacts], shown: list[EntryFacts], language: str) -> list[Reason]:
    """One reason per signal, in German (`de`) or English, with the signal's score."""
    return [
        Reason("topics", round(m.topics, 3), _topics_text(index, need, asker, m, shown, language, entries)),
        Reason("experience", round(m.experience, 3), _experience_text(m, entries, language)),
        Reason("structure", round(m.structure, 3), _structure_text(asker, m, language)),
    ]
