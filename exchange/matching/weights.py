"""The weights of peer matching: the node's configuration and a request's own, within bounds.

Three signals — topics, experience, structure — and their parts. A node sets
them with `EXCHANGE_MATCHING_WEIGHTS`; a request (the GraphQL field, the web
form) may try others within the same bounds, so an alliance sees what would
change before it changes its configuration. The bound that matters: topics
keep at least `MIN_TOPICS_SHARE` of the three signals, because relevance comes
first (see `rank.score_of`): experience and structure re-rank topically
relevant peers, they never replace the topic evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from exchange.errors import InvalidInputError

MIN_TOPICS_SHARE = 0.2  # topics / (topics + experience + structure), at least
MAX_WEIGHT = 10.0  # any weight, at most (they are relative: only ratios count)
DISTANCE_KM = (1.0, 1000.0)  # bounds of distance_km

WEIGHT_KEYS = {
    "topics": "topics", "experience": "experience", "structure": "structure",
    "topics.terms": "terms", "topics.controlled": "controlled",
    "structure.size": "size", "structure.urbanisation": "urbanisation",
    "structure.land": "land", "structure.distance": "distance", "distance_km": "distance_km",
}


@dataclass(frozen=True)
class Weights:
    """Weights of the signals and of their parts; each group is normalised to sum 1."""

    topics: float = 0.5
    experience: float = 0.3
    structure: float = 0.2
    terms: float = 0.7  # within topics: stemmed terms of entries
    controlled: float = 0.3  # within topics: controlled topic tags
    size: float = 0.35  # within structure: size class and population ratio
    urbanisation: float = 0.2
    land: float = 0.15
    distance: float = 0.3
    distance_km: float = 50.0  # distance at which the distance part is 0.5

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> Weights:
        """From `EXCHANGE_MATCHING_WEIGHTS` (`topics=0.5,experience=0.3,structure.distance=0.4,…`)."""
        return cls().updated(values)

    def updated(self, values: Mapping[str, float]) -> Weights:
        """These weights with some replaced by name (`topics`, `structure.distance`, …), checked."""
        unknown = sorted(set(values) - set(WEIGHT_KEYS))
        if unknown:
            raise InvalidInputError(
                f"unknown matching weight(s) {', '.join(unknown)}; known: {', '.join(WEIGHT_KEYS)}"
            )
        changed: dict[str, float] = {}
        for key, value in values.items():
            v = float(value)
            if not 0.0 <= v <= MAX_WEIGHT:  # also refuses NaN
                raise InvalidInputError(f"matching weight {key} must be between 0 and {MAX_WEIGHT:g}, not {value}")
            changed[WEIGHT_KEYS[key]] = v
        w = replace(self, **changed)
        low, high = DISTANCE_KM
        if not low <= w.distance_km <= high:
            raise InvalidInputError(f"distance_km must be between {low:g} and {high:g}, not {w.distance_km:g}")
        total = w.topics + w.experience + w.structure
        if total <= 0:
            raise InvalidInputError("matching weights must not all be zero")
        if w.topics < MIN_TOPICS_SHARE * total - 1e-12:
            raise InvalidInputError(
                f"the topics weight must be at least {MIN_TOPICS_SHARE:.0%} of topics + experience + structure "
                f"(relevance comes first); it is {w.topics / total:.0%}"
            )
        if w.terms + w.controlled <= 0:
            raise InvalidInputError("topics.terms and topics.controlled must not both be zero")
        return w

    def signals(self) -> tuple[float, float, float]:
        total = self.topics + self.experience + self.structure
        return self.topics / total, self.experience / total, self.structure / total

    def named(self) -> dict[str, float]:
        """Every weight by its public name."""
        return {name: getattr(self, attr) for name, attr in WEIGHT_KEYS.items()}
