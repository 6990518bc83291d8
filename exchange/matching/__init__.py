"""Peer matching: which municipalities and organisations work on similar things, and why.

`profiles` condenses what each municipality published into a profile held in
memory (its parts and the `Tally` that sums entries into one are in `tally`), which `store` loads and `writes` keeps current cheaply after each
write, with the concept terms of the bilingual `vocabulary`; `rank` scores and
ranks peers over those profiles with pure functions (topics, experience,
`structure`; relevance first, with `weights` from configuration or a request),
and `reasons` says why, in German and English; `service` (`Matcher`) is the one call the GraphQL API, the web pages
and the `exchange match` command use.
"""

from exchange.matching.rank import MatchQuery, Need, Weights
from exchange.matching.service import Matcher, PeerResult
from exchange.matching.store import ProfileStore

__all__ = ["MatchQuery", "Matcher", "Need", "PeerResult", "ProfileStore", "Weights"]
