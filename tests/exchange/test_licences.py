"""The licences an entry may carry."""

from __future__ import annotations

import pytest

from exchange.errors import FieldError
from exchange.licences import LICENCES, canonical_licence
from exchange.opendata.dcat import LICENCES as DCAT_LICENCES


@pytest.mark.parametrize(("given", "stored"), [
    ("CC-BY-4.0", "CC-BY-4.0"), ("cc-by-4.0", "CC-BY-4.0"), (" cc0-1.0 ", "CC0-1.0"),
    ("dl-de-by-2.0", "DL-DE-BY-2.0"), ("dl-de/by-2-0", "DL-DE-BY-2.0"), ("dl-de/zero-2-0", "DL-DE-ZERO-2.0"),
])
def test_spellings_become_the_listed_id(given: str, stored: str) -> None:
    assert canonical_licence(given) == stored


@pytest.mark.parametrize("given", ["Namensnennung", "CC BY 4.0", "", "proprietary", "CC-BY-4.0; DROP TABLE"])
def test_anything_else_is_refused_naming_the_choices(given: str) -> None:
    with pytest.raises(FieldError) as caught:
        canonical_licence(given)
    assert caught.value.field == "license" and "CC-BY-4.0" in caught.value.message


def test_the_open_data_export_knows_most_of_them() -> None:
    known = [spdx for spdx in LICENCES if spdx.lower() in DCAT_LICENCES]
    assert len(known) >= len(LICENCES) - 2  # EUPL-1.2 goes out as another open licence
