"""Organisations as peers: ranked with the signals that apply to them, found through the database,
kept current by the catalogue, and left out where a question asks for municipalities or places."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.auth import Actor, Publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.db import Database
from exchange.errors import InvalidInputError, NotFoundError
from exchange.matching import Matcher, MatchQuery, ProfileStore, Weights
from exchange.matching.homes import NOWHERE, PartnerNames, home_of
from exchange.matching.profiles import ProfileIndex
from exchange.matching.rank import FLOOR, rank, score_of, topic_terms
from exchange.matching.store import org_place
from exchange.models import Municipality, Organisation
from federation.identity import NodeKey
from tests.exchange.matching_support import snapshot
from tests.exchange.test_matching import entry, place
from tests.helpers import MUNICIPALITIES, seed

FLENSBURG, WIGGENSBACH, KISSELBACH = (m["official_key"] for m in MUNICIPALITIES)
ABOUT = "Wir planen Parkplatzsensoren mit LoRaWAN, die freie Parkplätze melden."


def build() -> tuple[ProfileIndex, dict[str, object]]:
    index = ProfileIndex(org_base=100)
    asker = place(1, "Kleinhausen", 2900, "Landgemeinde", 47.70, 10.30)
    town = place(2, "Dorfwiesen", 3100, "Landgemeinde", 47.75, 10.20)
    far = place(3, "Fernau", 2500, "Landgemeinde", 51.2, 6.8, land="05", kreis="05154")
    institute = org_place({"id": 1, "slug": "institut", "name": "Institut für Sensorik"}, 100)
    verband = org_place({"id": 2, "slug": "zweckverband", "name": "Zweckverband Abfall"}, 100)
    for p in (asker, town, far, institute, verband):
        index.put_place(p)
    index.put(2, [entry("Parkplatzsensoren", "Sensoren melden freie Parkplätze")])
    index.put(3, [entry("Radwegekonzept", "Neue Radwege in der Innenstadt")])
    index.put(101, [entry("Parkplatzsensoren mit LoRaWAN", "LoRaWAN-Sensoren melden freie Parkplätze am Bahnhof",
                          kind="lesson", status=None)])
    index.put(102, [entry("Abfallkalender", "Abfuhrtermine als App und als Kalenderdatei")])
    index.reweigh()
    return index, {"asker": asker, "institute": institute}


def test_an_organisation_with_the_best_evidence_ranks_first_among_all_publishers() -> None:
    index, p = build()
    _, matches = rank(index, MatchQuery(p["asker"], about=ABOUT, first=4, publishers="all").validated(),
                      Weights(), topic_terms(index))
    top = matches[0]
    assert top.place.name == "Institut für Sensorik" and top.place.level == "organisation"
    assert not top.structured and top.structure == 0.0
    # topics and experience share the whole weight: the score is neither lifted nor lowered by structure
    assert top.score == pytest.approx(score_of(Weights(), top.topics, top.experience, None))
    assert top.score > matches[1].score
    zweckverband = next(m for m in matches if m.place.name == "Zweckverband Abfall")
    assert zweckverband.score <= FLOOR  # no shared evidence: relevance first holds for organisations too


def test_who_may_be_a_peer() -> None:
    index, p = build()

    def names(publishers: str, **more: object) -> set[str]:
        q = MatchQuery(p["asker"], about=ABOUT, first=10, publishers=publishers, **more).validated()  # type: ignore[arg-type]
        return {m.place.name for m in rank(index, q, Weights(), topic_terms(index))[1]}

    assert names("municipalities") == {"Dorfwiesen", "Fernau"}
    assert names("organisations") == {"Institut für Sensorik", "Zweckverband Abfall"}
    assert names("all") == {"Dorfwiesen", "Fernau", "Institut für Sensorik", "Zweckverband Abfall"}
    # restrictions to a Land, a size or a radius are about places: organisations have none
    assert names("all", same_state=True) == {"Dorfwiesen"}
    assert names("all", radius_km=500.0) == {"Dorfwiesen", "Fernau"}
    with pytest.raises(InvalidInputError, match="publishers must be one of"):
        MatchQuery(p["asker"], publishers="everybody").validated()


def test_an_organisation_asks_for_peers_and_structure_is_not_compared() -> None:
    index, p = build()
    _, matches = rank(index, MatchQuery(p["institute"], first=3, publishers="all").validated(),  # type: ignore[arg-type]
                      Weights(), topic_terms(index))
    assert matches[0].place.name == "Dorfwiesen"
    assert all(not m.structured for m in matches) and "Institut für Sensorik" not in {m.place.name for m in matches}


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    return Catalogue(signer=NodeKey.load_or_create(tmp_path / "node.key", "http://node-a.test"))


async def municipality(key: str) -> Actor:
    m = await Municipality.get(official_key=key)
    return Actor(Publisher("municipality", m.id, key, m.name), frozenset({"publish"}))


async def organisation(slug: str) -> Actor:
    o = await Organisation.get(slug=slug)
    return Actor(Publisher("organisation", o.id, slug, o.name), frozenset({"publish"}))


def guide(title: str) -> EntryInput:
    return EntryInput(kind="guide", title=title, summary=f"{title}: Schritt für Schritt.", language="de",
                      topics=["verkehr"], visibility="public", audience="Bauamt",
                      checklist=["Gateways planen", "Sensoren ausschreiben"])


async def test_organisations_are_found_kept_current_and_reasoned_in_both_languages(
        db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    matcher = Matcher()
    catalogue.listeners.append(matcher.on_entry)
    await matcher.startup()
    await catalogue.publish(await municipality(KISSELBACH), guide("Radwege im Dorf"))
    published = await catalogue.publish(await organisation("kompetenzzentrum"),
                                        guide("Parkplatzsensoren mit LoRaWAN planen"))
    _, results = await matcher.peers(WIGGENSBACH, about="Parkplatzsensoren mit LoRaWAN", first=3,
                                     publishers="all", language="en")
    top = results[0]
    assert isinstance(top.publisher, Organisation) and top.publisher.slug == "kompetenzzentrum"
    assert [e.title for e in top.relevant] == ["Parkplatzsensoren mit LoRaWAN planen"]
    assert top.reasons[2].explanation.startswith("an organisation: size, density, Land and distance")
    _, results = await matcher.peers(WIGGENSBACH, about="Parkplatzsensoren", first=3, publishers="municipalities")
    assert all(isinstance(r.publisher, Municipality) for r in results)

    # the organisation asks, by its slug: structure is not compared, and the reason says so in German
    _, results = await matcher.peers("kompetenzzentrum", organisation=True, first=2, publishers="all")
    assert results and all(r.publisher.name != "Kompetenzzentrum Digitale Kommune" for r in results)
    assert "nicht verglichen" in results[0].reasons[2].explanation
    with pytest.raises(NotFoundError, match="no organisation"):
        await matcher.peers("nobody-here", organisation=True)

    # a load builds the same index as the updates did; an unpublish takes the organisation out
    assert snapshot(matcher.store.index) == snapshot(await ProfileStore().load())
    await catalogue.unpublish(await organisation("kompetenzzentrum"), str(published.uid))
    _, results = await matcher.peers(WIGGENSBACH, about="Parkplatzsensoren", first=3, publishers="organisations")
    assert results == []


def test_an_organisation_lies_where_its_partner_municipalities_lie() -> None:
    allgaeu = [place(1, "Kempten, Stadt", 70000, "Mittelstadt", 47.72, 10.31),
               place(2, "Wiggensbach, M", 5000, "Kleinstadt", 47.75, 10.23),
               place(3, "Sonthofen, St", 21000, "Mittelstadt", 47.51, 10.28)]
    home = home_of(allgaeu)
    assert (home.land_code, home.land_name) == ("09", "Bayern")
    assert home.latitude == pytest.approx(47.66) and home.longitude == pytest.approx(10.273, abs=0.001)
    # two thirds in one Land give the Land; partners spread over the country give no position
    spread = [*allgaeu[:2], place(4, "Fernau", 2500, "Landgemeinde", 51.2, 6.8, land="05", kreis="05154")]
    assert (home_of(spread).land_code, home_of(spread).latitude) == ("09", None)
    assert home_of([allgaeu[0], spread[2]]) == home_of([]) == NOWHERE  # one each: no Land, 600 km apart
    # names as the editor writes them (abbreviations spelled out), as typed, or the short name; never a guess
    twin = place(5, "Wiggensbach", 800, "Landgemeinde", 50.0, 8.0, land="05", kreis="05154")
    names = PartnerNames([*allgaeu, twin])
    assert names.resolve(" Kempten, Stadt ") is allgaeu[0] and names.resolve("sonthofen") is allgaeu[2]
    assert names.resolve("Sonthofen, Stadt") is allgaeu[2] and names.resolve("Wiggensbach, Markt") is allgaeu[1]
    assert names.resolve("Wiggensbach") is None and names.resolve("Neustadt") is None


def test_an_organisation_with_a_region_is_compared_by_land_and_distance_only() -> None:
    index, p = build()
    home = home_of([p["asker"], index.places[2]])  # both in the Allgäu
    regional = org_place({"id": 1, "slug": "institut", "name": "Institut für Sensorik"}, 100, home)
    index.put_place(regional)
    q = MatchQuery(p["asker"], about=ABOUT, first=4, publishers="all").validated()
    top = rank(index, q, Weights(), topic_terms(index))[1][0]
    assert top.place is regional and top.structured and top.structure > 0.9  # same Land, 5 km away
    names = {m.place.name for m in rank(index, MatchQuery(p["asker"], about=ABOUT, first=10, publishers="all",
                                                            same_state=True).validated(), Weights(), topic_terms(index))[1]}
    assert names == {"Dorfwiesen", "Institut für Sensorik"}  # the Zweckverband still has no Land
    asking = rank(index, MatchQuery(regional, first=3).validated(), Weights(), topic_terms(index))[1]
    assert asking and all(m.structured for m in asking)  # an organisation with a region compares its Land too


async def test_partners_give_an_organisation_its_land_kept_current_by_the_catalogue(
        db: Database, catalogue: Catalogue) -> None:
    await seed(db)
    matcher = Matcher()
    catalogue.listeners.append(matcher.on_entry)
    await matcher.startup()
    project = EntryInput(kind="project", title="Parkplatzsensoren mit LoRaWAN", language="de", status="running",
                         summary="Sensoren melden freie Parkplätze an das Parkleitsystem.", topics=["verkehr"],
                         visibility="public", partners=["Wiggensbach, Markt", "Nirgendwo"])
    published = await catalogue.publish(await organisation("kompetenzzentrum"), project)
    _, results = await matcher.peers(WIGGENSBACH, about="Parkplatzsensoren mit LoRaWAN", first=3, publishers="all")
    top = results[0]
    assert isinstance(top.publisher, Organisation) and top.match.structured and top.match.structure > 0
    assert top.reasons[2].explanation.startswith("eine Organisation, deren Partnerkommunen ebenfalls in Bayern")
    _, english = await matcher.peers(FLENSBURG, about="Parkplatzsensoren mit LoRaWAN", first=3,
                                     publishers="organisations", language="en")
    assert english[0].reasons[2].explanation.startswith("an organisation whose partner municipalities lie in Bayern")
    assert snapshot(matcher.store.index) == snapshot(await ProfileStore().load())  # a load places it the same

    # the partner removed in a revision: the organisation has no Land any more
    await catalogue.revise(await organisation("kompetenzzentrum"), str(published.uid), published.version,
                           EntryInput(partners=["Nirgendwo"]))
    _, results = await matcher.peers(WIGGENSBACH, about="Parkplatzsensoren mit LoRaWAN", first=3, publishers="all")
    assert results[0].reasons[2].explanation.startswith("eine Organisation: Größe, Siedlungsdichte, Land")
    assert snapshot(matcher.store.index) == snapshot(await ProfileStore().load())
