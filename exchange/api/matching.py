"""GraphQL face of peer matching: `peerMatches`, `publisherMatches` and `matchingMethod`.

Resolvers stay thin: read the arguments, ask the node's matcher
(`info.context.services.matcher`), convert its results. Every match carries
its score, one reason per signal in German or English, the topics it shares
with the asker and the peer's entries that explain it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry import Info

from exchange import models
from exchange.access import may_see
from exchange.api.topics import Topic, topic_of
from exchange.api.types import Entry, Municipality, Organisation, Publisher, entry_of
from exchange.matching import Matcher, PeerResult

SIGNAL_TEXT = {
    "topics": ("Themen: Ähnlichkeit der Begriffe (BM25, Wortstämme) und der Themen aller öffentlichen Einträge",
               "Topics: similarity of the terms (BM25 over stems) and topic tags of all public entries"),
    "experience": ("Erfahrung: abgeschlossene Projekte, Erfahrungsberichte und gemessene Indikatoren zu diesen Themen",
                   "Experience: completed projects, lessons learned and measured indicators on these topics"),
    "structure": ("Struktur: Größenklasse und Einwohnerzahl, Verstädterungsgrad, Land, Entfernung",
                  "Structure: size class and population, degree of urbanisation, Land, distance"),
}
SOURCES = (
    ("Public entries of this node and of the nodes it federates with (title, summary, body, keywords, "
     "topics, project status, indicators)"),
    "Gemeindeverzeichnis GV100AD (Destatis): size class, population, Land, Kreis",
    "Destatis GV-ISys extract 2020: coordinates of administrative centres, DEGURBA urbanisation",
)


@strawberry.type(description="Why a peer matched: one signal, its score and an explanation from the data.")
class MatchReason:
    signal: str = strawberry.field(description="topics, experience or structure.")
    score: float = strawberry.field(description="The signal's score in [0, 1].")
    explanation: str = strawberry.field(description="The reason in words, in the requested language.")


@strawberry.type(description="A municipality that works on similar things, with its score and reasons.")
class PeerMatch:
    municipality: Municipality = strawberry.field(description="The peer.")
    score: float = strawberry.field(description=(
        "Relevance first, in [0, 1]: the topic score raised by experience and structure (see /matching)."
    ))
    reasons: list[MatchReason] = strawberry.field(description="One reason per signal.")
    shared_topics: list[Topic] = strawberry.field(description="Controlled topics both work on.")
    has_entries: bool = strawberry.field(description="False when the peer has no public entries (structure only).")
    distance_km: float | None = strawberry.field(description="Distance between the administrative centres.")
    _entries: strawberry.Private[list[models.Entry]]

    @strawberry.field(description="The peer's entries that explain the match (at most three).")
    def relevant_entries(self, info: Info) -> list[Entry]:
        return [entry_of(e) for e in self._entries if may_see(e, info.context.actor)]


@strawberry.type(description=(
    "A publisher (a municipality or an organisation such as a research institute or a Zweckverband) "
    "that works on similar things, with its score and reasons."
))
class PublisherMatch:
    publisher: Publisher = strawberry.field(description="The peer: a Municipality or an Organisation.")
    score: float = strawberry.field(description=(
        "Relevance first, in [0, 1]: the topic score raised by experience and structure (see /matching); "
        "for an organisation, which has no size or place, by experience alone."
    ))
    reasons: list[MatchReason] = strawberry.field(description="One reason per signal.")
    shared_topics: list[Topic] = strawberry.field(description="Controlled topics both work on.")
    has_entries: bool = strawberry.field(description="False when the peer has no public entries (structure only).")
    distance_km: float | None = strawberry.field(description="Distance between the administrative centres.")
    _entries: strawberry.Private[list[models.Entry]]

    @strawberry.field(description="The peer's entries that explain the match (at most three).")
    def relevant_entries(self, info: Info) -> list[Entry]:
        return [entry_of(e) for e in self._entries if may_see(e, info.context.actor)]


@strawberry.enum(description="Who may be a peer.")
class PeerKind(Enum):
    MUNICIPALITIES = "municipalities"
    ORGANISATIONS = "organisations"
    ALL = "all"


@strawberry.type(description="One weight of the matching method.")
class MatchingWeight:
    name: str = strawberry.field(description="Signal or part, e.g. topics or structure.distance.")
    weight: float = strawberry.field(description="Its weight (signals are normalised to sum 1).")
    description: str = strawberry.field(description="What it measures.")


@strawberry.type(description="How peer matching works on this node: criteria, weights, data sources.")
class MatchingMethod:
    summary: str = strawberry.field(description="The method in a few sentences.")
    weights: list[MatchingWeight] = strawberry.field(description="Signals and their parts with weights.")
    data_sources: list[str] = strawberry.field(description="Where the data comes from.")
    publishers_profiled: int = strawberry.field(description=(
        "Publishers (municipalities and organisations) with public entries in the profiles."))
    documentation: str = strawberry.field(description="Path of the public page that explains the method.")


@strawberry.input(description=(
    "Weights for one request, to see what other weights would change; unset ones keep the node's. Each "
    "between 0 and 10 (only their ratios count); topics at least a fifth of topics + experience + "
    "structure; distanceKm between 1 and 1000. See /matching."
))
class MatchingWeightsInput:
    topics: float | None = strawberry.field(default=None, description="Topics and terms of public entries.")
    experience: float | None = strawberry.field(default=None, description="Completed projects and lessons learned.")
    structure: float | None = strawberry.field(default=None, description="Size, urbanisation, Land, distance.")
    distance_km: float | None = strawberry.field(default=None, description="Distance at which the distance part halves.")

    def mapping(self) -> dict[str, float]:
        given = {"topics": self.topics, "experience": self.experience, "structure": self.structure,
                 "distance_km": self.distance_km}
        return {k: v for k, v in given.items() if v is not None}


def _publisher(row: models.Municipality | models.Organisation) -> Publisher:
    if isinstance(row, models.Municipality):
        return Municipality.from_model(row)
    return Organisation.from_model(row)


async def _fields(results: list[PeerResult]) -> list[dict[str, Any]]:
    """What a PeerMatch and a PublisherMatch share, for each result (the topics in one query)."""
    slugs = {s for r in results for s, _, _ in r.shared_topics}
    topics = {t.slug: t for t in await models.Topic.filter(slug__in=list(slugs))} if slugs else {}
    return [
        {
            "score": round(r.match.score, 4),
            "reasons": [MatchReason(signal=x.signal, score=x.score, explanation=x.explanation) for x in r.reasons],
            "shared_topics": [topic_of(topics[s]) for s, _, _ in r.shared_topics if s in topics],
            "has_entries": r.match.has_entries,
            "distance_km": round(r.match.distance_km, 1) if r.match.distance_km is not None else None,
            "_entries": r.relevant,
        }
        for r in results
    ]


def matcher_of(info: Info) -> Matcher:
    services = info.context.services
    if services.matcher is None:
        services.matcher = Matcher()
    return services.matcher  # type: ignore[no-any-return]


@strawberry.type
class Query:
    @strawberry.field(description=(
        "Peers of a municipality: who works on similar topics, has experience with them and is alike in "
        "structure; with `about`, peers for a planned project described in free text (German or English), "
        "also without `officialKey` (no structural signal then); `weights` tries other weights for this "
        "request. "
        "Every match explains itself; see `matchingMethod` and /matching."
    ))
    async def peer_matches(
        self,
        info: Info,
        official_key: str | None = None,
        first: int | None = 10,
        about: str | None = None,
        same_state: bool | None = None,
        size_classes: list[str] | None = None,
        radius_km: float | None = None,
        language: str | None = "de",
        weights: MatchingWeightsInput | None = None,
    ) -> list[PeerMatch]:
        _, results = await matcher_of(info).peers(
            official_key, about=about, first=10 if first is None else first, same_state=bool(same_state),
            size_classes=size_classes or (), radius_km=radius_km, language=language or "de",
            weights=weights.mapping() if weights is not None else None,
        )
        return [PeerMatch(municipality=Municipality.from_model(r.publisher), **fields)  # type: ignore[arg-type]
                for r, fields in zip(results, await _fields(results))]

    @strawberry.field(description=(
        "Peers among all publishers: municipalities and organisations (research institutes, "
        "Zweckverbände, alliances) that work on similar topics. `publisher` is the asker's official key "
        "or an organisation's slug; without it, `about` alone describes the planned project. `peers` "
        "says who may be a peer (default ALL). An organisation has no size or place: structure does not "
        "count for it, and `sameState`, `sizeClasses` and `radiusKm` leave it out. See /matching."
    ))
    async def publisher_matches(
        self,
        info: Info,
        publisher: str | None = None,
        first: int | None = 10,
        about: str | None = None,
        peers: PeerKind = PeerKind.ALL,
        same_state: bool | None = None,
        size_classes: list[str] | None = None,
        radius_km: float | None = None,
        language: str | None = "de",
        weights: MatchingWeightsInput | None = None,
    ) -> list[PublisherMatch]:
        _, results = await matcher_of(info).peers(
            publisher, about=about, first=10 if first is None else first, same_state=bool(same_state),
            size_classes=size_classes or (), radius_km=radius_km, language=language or "de",
            weights=weights.mapping() if weights is not None else None, publishers=peers.value,
            organisation=publisher is not None and not publisher.strip().isdigit(),
        )
        return [PublisherMatch(publisher=_publisher(r.publisher), **fields)
                for r, fields in zip(results, await _fields(results))]

    @strawberry.field(description="How peer matching works: criteria, weights and data sources.")
    async def matching_method(self, info: Info, language: str = "de") -> MatchingMethod:
        matcher = matcher_of(info)
        await matcher.ensure_loaded()
        m = matcher.method()
        i = 0 if language == "de" else 1
        weights = [MatchingWeight(name=k, weight=round(v, 4), description=SIGNAL_TEXT[k][i])
                   for k, v in m["signals"].items()]
        weights += [MatchingWeight(name=f"topics.{k}", weight=v, description=k) for k, v in m["topics"].items()]
        weights += [MatchingWeight(name=f"structure.{k}" if k != "distance_km" else k, weight=v, description=k)
                    for k, v in m["structure"].items()]
        summary = (
            "Relevanz zuerst: Erfahrung und Struktur ordnen nur thematisch passende Kommunen um, eine Kommune "
            "ohne gemeinsame Begriffe oder Themen erreicht höchstens 0,01. Jedes der drei Signale in [0, 1] "
            "nennt seinen Wert und seine Gründe. Große Städte werden je Veröffentlicher normalisiert, damit sie kleine "
            "Gemeinden mit einem passenden Erfahrungsbericht nicht verdrängen."
            if i == 0 else
            "Relevance first: experience and structure only re-rank topically relevant peers; a peer sharing "
            "no term or topic scores at most 0.01. Each of the three signals in [0, 1] states its score and its "
            "reasons. Publishers are normalised one by one, so a big city with hundreds of entries does not "
            "crowd out a small town with one relevant lesson learned."
        )
        return MatchingMethod(summary=summary, weights=weights, data_sources=list(SOURCES),
                              publishers_profiled=m["publishers"], documentation="/matching")
