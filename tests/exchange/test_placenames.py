"""Municipality names as people read them."""

from __future__ import annotations

import pytest

from exchange.placenames import display_name, short_name
from exchange.registry import load_snapshot


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
