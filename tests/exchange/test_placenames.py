"""Municipality names as people read them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from exchange.placenames import display_name, short_name
from exchange.registry import load_snapshot
from exchange.web.charts import peer_map


@pytest.mark.parametrize(("official", "shown", "short"), [
    ("Haßfurt, St", "Haßfurt, Stadt", "Haßfurt"),
    ("Mitterfels, M", "Mitterfels, Markt", "Mitterfels"),
    ("Bad Reichenhall, GKSt", "Bad Reichenhall, Große Kreisstadt", "Bad Reichenhall"),
    ("Sachsenwald (Forstgutsbez.),gemfr.Geb.", "Sachsenwald (Forstgutsbez.), gemeindefreies Gebiet",
     "Sachsenwald (Forstgutsbez.)"),
    ("Kühlungsborn, Ostseebad, Stadt", "Kühlungsborn, Ostseebad, Stadt", "Kühlungsborn"),
    ("Flensburg, Stadt", "Flensburg, Stadt", "Flensburg"),
    ("Kisselbach", "Kisselbach", "Kisselbach"),
    ("Halle (Saale), Stadt", "Halle (Saale), Stadt", "Halle (Saale)"),
])
def test_names_are_spelt_out(official: str, shown: str, short: str) -> None:
    assert display_name(official) == shown
    assert short_name(official) == short


def test_no_name_of_the_register_keeps_an_abbreviated_suffix() -> None:
    register = load_snapshot()
    names = [g.name for g in register.gemeinden.values()] if isinstance(register.gemeinden, dict) \
        else [g.name for g in register.gemeinden]
    assert len(names) > 10_000
    left = [display_name(n) for n in names if any(display_name(n).endswith(s) for s in (", St", ", M", ", GKSt", ".Geb.", ", F"))]
    assert not left, left[:10]
    assert sum(1 for n in names if display_name(n) != n) > 600  # the abbreviations are common


def test_the_peer_map_names_places_as_people_read_them() -> None:
    home = SimpleNamespace(name="Mitterfels, M", latitude=48.97, longitude=12.68)
    peers = [SimpleNamespace(publisher=SimpleNamespace(name="Haßfurt, St", latitude=50.03, longitude=10.51))]
    svg = peer_map(home, peers, lambda text: text)  # type: ignore[arg-type]
    assert "Haßfurt, Stadt" in svg and "Mitterfels, Markt" in svg
    assert "Haßfurt, St<" not in svg and "Haßfurt, St;" not in svg and "Mitterfels, M " not in svg
