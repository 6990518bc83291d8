"""peerMatches and matchingMethod over HTTP, against a node with the demo content."""

from __future__ import annotations

import pytest

from exchange.auth import create_token
from tests.contract.conftest import DemoNode, operation
from tests.helpers import NOW

pytestmark = pytest.mark.asyncio(loop_scope="module")

WIESENBACH = "082265005097"  # demo: Digitales Rathaus, completed, with a lesson learned
HALLENBERG = "059580020020"  # demo: LoRaWAN sensor network and its lesson learned
BAMMENTAL = "082265005006"  # same Kreis as Wiesenbach, no entries
FULL = """query Full($key: String!, $about: String, $first: Int, $language: String, $radius: Float,
  $same: Boolean, $sizes: [String!]) {
  peerMatches(officialKey: $key, about: $about, first: $first, language: $language, radiusKm: $radius,
              sameState: $same, sizeClasses: $sizes) {
    municipality { officialKey name sizeClass state }
    score hasEntries distanceKm
    reasons { signal score explanation }
    sharedTopics { slug }
    relevantEntries { id title kind }
  }
}"""


PUBLISHERS = """query Publishers($publisher: String, $about: String, $peers: PeerKind, $language: String,
  $same: Boolean) {
  publisherMatches(publisher: $publisher, about: $about, peers: $peers, first: 5, language: $language,
                   sameState: $same) {
    publisher { __typename name ... on Organisation { slug kind } ... on Municipality { officialKey state } }
    score hasEntries
    reasons { signal score explanation }
    relevantEntries { title }
  }
}"""
ALLIANZ = "allianz-laendlicher-raum-digital-demo"  # demo: the LoRaWAN checklist and rural car sharing


def _code(body: dict) -> str:
    assert body.get("errors"), body
    return str(body["errors"][0]["extensions"]["code"])


async def test_acceptance_operation_returns_scored_and_explained_peers(demo_node: DemoNode) -> None:
    body = await demo_node.gql(operation("PeerMatches"), {"officialKey": WIESENBACH, "first": 5})
    assert "errors" not in body, body
    matches = body["data"]["peerMatches"]
    assert len(matches) == 5
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    for m in matches:
        assert m["municipality"]["officialKey"] != WIESENBACH and m["municipality"]["name"]
        assert [r["signal"] for r in m["reasons"]] == ["topics", "experience", "structure"]
        assert all(0 <= r["score"] <= 1 and r["explanation"] for r in m["reasons"])
    assert "Einwohner" in matches[0]["reasons"][2]["explanation"]


async def test_reasons_in_english_and_relevant_entries_for_a_planned_project(demo_node: DemoNode) -> None:
    about = "We want to build a LoRaWAN sensor network with gateways for the whole town."
    body = await demo_node.gql(FULL, {"key": WIESENBACH, "about": about, "first": 3, "language": "en"})
    assert "errors" not in body, body
    top = body["data"]["peerMatches"][0]
    assert top["municipality"]["officialKey"] == HALLENBERG
    assert any("LoRaWAN" in e["title"] for e in top["relevantEntries"])
    texts = " ".join(r["explanation"] for r in top["reasons"])
    assert "inhabitants" in texts and "km away" in texts and "lesson learned" in texts


async def test_filters_restrict_the_peers(demo_node: DemoNode) -> None:
    body = await demo_node.gql(FULL, {"key": WIESENBACH, "first": 10, "same": True})
    assert {m["municipality"]["state"] for m in body["data"]["peerMatches"]} == {"Baden-Württemberg"}
    body = await demo_node.gql(FULL, {"key": WIESENBACH, "first": 5, "sizes": ["Großstadt"]})
    assert {m["municipality"]["sizeClass"] for m in body["data"]["peerMatches"]} == {"Großstadt"}
    body = await demo_node.gql(FULL, {"key": WIESENBACH, "first": 5, "radius": 40.0})
    assert all(m["distanceKm"] <= 40 for m in body["data"]["peerMatches"])


async def test_a_municipality_without_entries_gets_peers_and_is_told_why(demo_node: DemoNode) -> None:
    body = await demo_node.gql(FULL, {"key": BAMMENTAL, "first": 3})
    assert "errors" not in body, body
    matches = body["data"]["peerMatches"]
    assert matches
    assert "noch nichts veröffentlicht" in matches[0]["reasons"][0]["explanation"]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"key": "999999999999"}, "NOT_FOUND"),
        ({"key": "12ab"}, "BAD_USER_INPUT"),
        ({"key": WIESENBACH, "first": 0}, "BAD_USER_INPUT"),
        ({"key": WIESENBACH, "first": 51}, "BAD_USER_INPUT"),
        ({"key": WIESENBACH, "about": ""}, "BAD_USER_INPUT"),
        ({"key": WIESENBACH, "about": "Sensor " * 1000}, "BAD_USER_INPUT"),
        ({"key": WIESENBACH, "language": "fr"}, "BAD_USER_INPUT"),
        ({"key": WIESENBACH, "sizes": ["Metropole"]}, "BAD_USER_INPUT"),
        ({"key": WIESENBACH, "radius": -1.0}, "BAD_USER_INPUT"),
    ],
)
async def test_bad_input_gets_a_clear_error_never_a_500(demo_node: DemoNode, variables: dict, code: str) -> None:
    body = await demo_node.gql(FULL, variables)
    assert _code(body) == code
    assert body["errors"][0]["message"] and "Internal" not in body["errors"][0]["message"]


async def test_a_publish_reaches_the_profiles_without_a_rebuild(demo_node: DemoNode) -> None:
    about = "Zisternen mit Füllstandsmessung für Regenwasser im Neubaugebiet"
    before = await demo_node.gql(FULL, {"key": HALLENBERG, "about": about, "first": 3})
    assert all(m["municipality"]["officialKey"] != BAMMENTAL for m in before["data"]["peerMatches"])
    with demo_node.db.bound():
        token, _ = await create_token(BAMMENTAL, ["publish"], now=NOW)
    entry = {"kind": "PROJECT", "title": "Zisternen mit Füllstandsmessung", "summary": about,
             "bodyMarkdown": "Regenwasser sammeln, Füllstand messen.", "topics": ["klimaschutz-und-umweltschutz"],
             "language": "de", "visibility": "PUBLIC"}
    published = await demo_node.gql(operation("Publish"), {"input": entry}, token=token)
    assert "errors" not in published, published
    after = await demo_node.gql(FULL, {"key": HALLENBERG, "about": about, "first": 3})
    assert after["data"]["peerMatches"][0]["municipality"]["officialKey"] == BAMMENTAL


async def test_matching_method_discloses_weights_and_sources(demo_node: DemoNode) -> None:
    body = await demo_node.gql("{ matchingMethod(language: \"en\") { summary documentation publishersProfiled "
                               "dataSources weights { name weight description } } }")
    method = body["data"]["matchingMethod"]
    signals = {w["name"]: w["weight"] for w in method["weights"] if "." not in w["name"] and w["name"] != "distance_km"}
    assert set(signals) == {"topics", "experience", "structure"}
    assert sum(signals.values()) == pytest.approx(1.0, abs=1e-3)
    assert method["documentation"] == "/matching" and method["publishersProfiled"] > 10
    assert any("GV100AD" in s for s in method["dataSources"])


async def test_common_terms_are_words_from_the_peers_titles_not_stems(demo_node: DemoNode) -> None:
    body = await demo_node.gql(FULL, {"key": HALLENBERG, "first": 8, "language": "de"})
    assert "errors" not in body, body
    quoted = 0
    for m in body["data"]["peerMatches"]:
        topics = m["reasons"][0]["explanation"]
        assert "Wortstämme" not in topics
        if "gemeinsame Begriffe: " not in topics:
            continue
        words = topics.split("gemeinsame Begriffe: ")[1].split(";")[0].split(", ")
        titles = " ".join(e["title"] for e in m["relevantEntries"])
        named = [w for w in words if w in titles]
        quoted += len(named)
    assert quoted > 0  # at least some shared words are shown as they were written


ABOUT_ONLY = """query AboutOnly($about: String, $key: String, $weights: MatchingWeightsInput, $radius: Float) {
  peerMatches(about: $about, officialKey: $key, first: 5, language: "en", weights: $weights, radiusKm: $radius) {
    municipality { officialKey }
    score
    reasons { signal score explanation }
  }
}"""
LORAWAN = "We want to build a LoRaWAN sensor network with gateways for the whole town."


async def test_about_without_an_asker_ranks_by_topics_alone(demo_node: DemoNode) -> None:
    body = await demo_node.gql(ABOUT_ONLY, {"about": LORAWAN})
    assert "errors" not in body, body
    matches = body["data"]["peerMatches"]
    assert matches[0]["municipality"]["officialKey"] == HALLENBERG
    for m in matches:
        structure = m["reasons"][2]
        assert structure["score"] == 0 and structure["explanation"].startswith("not compared, no asking municipality")
    body = await demo_node.gql(ABOUT_ONLY, {})
    assert _code(body) == "BAD_USER_INPUT" and "officialKey" in body["errors"][0]["message"]
    body = await demo_node.gql(ABOUT_ONLY, {"about": LORAWAN, "radius": 30.0})
    assert _code(body) == "BAD_USER_INPUT" and "radiusKm" in body["errors"][0]["message"]


async def test_weights_per_request_change_the_scores_within_bounds(demo_node: DemoNode) -> None:
    node = await demo_node.gql(ABOUT_ONLY, {"about": LORAWAN, "key": WIESENBACH})
    text = await demo_node.gql(ABOUT_ONLY, {"about": LORAWAN, "key": WIESENBACH,
                                            "weights": {"topics": 1, "experience": 0, "structure": 0}})
    assert "errors" not in node and "errors" not in text, (node, text)
    by_node = {m["municipality"]["officialKey"]: m for m in node["data"]["peerMatches"]}
    top = text["data"]["peerMatches"][0]
    # text only: the score is the topic score (times 0.99); with the node's weights experience and structure count
    assert top["score"] == pytest.approx(0.99 * top["reasons"][0]["score"], abs=2e-3)
    assert by_node[top["municipality"]["officialKey"]]["score"] != top["score"]
    for weights, word in (({"topics": 0.1, "structure": 1}, "at least 20%"), ({"structure": -1}, "between 0 and 10"),
                          ({"distanceKm": 0}, "distance_km")):
        body = await demo_node.gql(ABOUT_ONLY, {"about": LORAWAN, "key": WIESENBACH, "weights": weights})
        assert _code(body) == "BAD_USER_INPUT" and word in body["errors"][0]["message"], body


async def test_publisher_matches_find_organisations_and_municipalities(demo_node: DemoNode) -> None:
    about = "Wir wollen ein LoRaWAN-Netz mit Gateways und Sensoren aufbauen: was müssen wir prüfen?"
    body = await demo_node.gql(PUBLISHERS, {"publisher": WIESENBACH, "about": about})
    assert "errors" not in body, body
    matches = body["data"]["publisherMatches"]
    kinds = {m["publisher"]["__typename"] for m in matches}
    assert kinds == {"Municipality", "Organisation"}
    allianz = next(m for m in matches if m["publisher"].get("slug") == ALLIANZ)
    assert any("LoRaWAN" in e["title"] for e in allianz["relevantEntries"])
    assert "eine Organisation" in allianz["reasons"][2]["explanation"]
    assert [m["score"] for m in matches] == sorted((m["score"] for m in matches), reverse=True)

    only = await demo_node.gql(PUBLISHERS, {"about": about, "peers": "ORGANISATIONS", "language": "en"})
    assert {m["publisher"]["__typename"] for m in only["data"]["publisherMatches"]} == {"Organisation"}
    assert any("LoRaWAN" in e["title"] for e in only["data"]["publisherMatches"][0]["relevantEntries"])
    same = await demo_node.gql(PUBLISHERS, {"publisher": WIESENBACH, "about": about, "same": True})
    assert {m["publisher"]["__typename"] for m in same["data"]["publisherMatches"]} == {"Municipality"}

    asked = await demo_node.gql(PUBLISHERS, {"publisher": ALLIANZ, "language": "en"})
    assert "errors" not in asked, asked
    assert all(m["publisher"].get("slug") != ALLIANZ for m in asked["data"]["publisherMatches"])
    assert "not compared" in asked["data"]["publisherMatches"][0]["reasons"][2]["explanation"]
    missing = await demo_node.gql(PUBLISHERS, {"publisher": "no-such-organisation"})
    assert _code(missing) == "NOT_FOUND"
