"""The municipality register: parsing the shipped GV100AD snapshot and importing it."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

import pytest

from exchange.db import Database
from exchange.errors import RegisterFormatError
from exchange.models import Municipality, NodeState
from exchange.registry import (
    Locations,
    Register,
    decode_register,
    import_register,
    load_locations,
    load_snapshot,
    parse_gv100ad,
    read_register,
    register_path,
    size_class,
)


@cache
def snapshot() -> Register:
    return load_snapshot()


@cache
def snapshot_lines() -> tuple[str, ...]:
    return tuple(decode_register(register_path().read_bytes()).split("\n"))


def head(count: int = 8) -> list[str]:
    """The first records of the real file: Land, Kreis, Verband, Gemeinde (Flensburg, Kiel)."""
    return list(snapshot_lines()[:count])


def test_counts_match_the_official_totals() -> None:
    register = snapshot()
    assert register.date == "20251130"
    assert len(register.gemeinden) == 10_953
    assert len(register.kreise) == 400
    assert len(register.lands) == 16
    assert len(register.verbaende) == 4_590
    assert sum(g.population for g in register.gemeinden) == 83_577_140


def test_flensburg() -> None:
    flensburg = next(g for g in snapshot().gemeinden if g.ars == "010010000000")
    assert flensburg.ags == "01001000"
    assert flensburg.name == "Flensburg, Stadt"
    assert (flensburg.type_code, flensburg.type_label) == ("61", "Kreisfreie Stadt")
    assert (flensburg.land_code, flensburg.land_name) == ("01", "Schleswig-Holstein")
    assert (flensburg.kreis_key, flensburg.verband_key) == ("01001", "010010000")
    assert (flensburg.population, flensburg.area_ha, flensburg.postcode) == (96_326, 5_673, "24937")
    assert flensburg.size_class == "Mittelstadt"
    assert flensburg.register_date == "20251130"


def test_small_landgemeinde_in_an_amt() -> None:
    arkebek = next(g for g in snapshot().gemeinden if g.ags == "01051002")
    # ARS puts the Gemeindeverband (Amt Mitteldithmarschen, 5175) before the Gemeinde (002).
    assert arkebek.ars == "010515175002"
    assert arkebek.name == "Arkebek"
    assert arkebek.population == 225
    assert arkebek.size_class == "Landgemeinde"
    assert arkebek.kreis_name == "Dithmarschen"
    assert (arkebek.verband_key, arkebek.verband_name) == ("010515175", "Mitteldithmarschen")
    assert snapshot().verbaende["010515175"].type_label == "Amt"


def test_kreis() -> None:
    kreis = snapshot().kreise["01053"]
    assert kreis.name == "Herzogtum Lauenburg"
    assert (kreis.type_code, kreis.type_label, kreis.seat) == ("43", "Kreis", "Ratzeburg")


def test_unincorporated_areas_without_kreis_have_no_size_class() -> None:
    coast = next(g for g in snapshot().gemeinden if g.ars == "130009999999")
    assert coast.kreis_key == "" and coast.size_class == ""
    assert coast.type_code == "66"


def test_every_ars_derives_from_its_ags() -> None:
    for g in snapshot().gemeinden:
        assert len(g.ars) == 12 and len(g.ags) == 8
        assert g.ars[:5] + g.ars[9:] == g.ags
        assert g.ars[:9] == g.verband_key


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        (0, "Landgemeinde"),
        (4_999, "Landgemeinde"),
        (5_000, "Kleinstadt"),
        (19_999, "Kleinstadt"),
        (20_000, "Mittelstadt"),
        (99_999, "Mittelstadt"),
        (100_000, "Großstadt"),
        (3_685_265, "Großstadt"),
    ],
)
def test_size_class_boundaries(population: int, expected: str) -> None:
    assert size_class(population) == expected


def test_size_class_refuses_negative_population() -> None:
    with pytest.raises(ValueError):
        size_class(-1)


def test_latin1_variant_and_trimmed_blanks_are_accepted() -> None:
    lines = list(snapshot_lines()[:10])  # up to Lübeck, a name with an umlaut
    data = "\r\n".join(line.rstrip() for line in lines).encode("cp1252")
    register = parse_gv100ad(decode_register(data).split("\n"))
    assert register.kreise["01003"].name == "Lübeck, Hansestadt"


def test_reads_plain_and_gzipped_files(tmp_path: Path) -> None:
    plain = tmp_path / "GV100AD.txt"
    plain.write_text("\n".join(head()) + "\n", encoding="utf-8")
    packed = tmp_path / "GV100AD.txt.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_register(plain) == read_register(packed)
    assert [g.name for g in read_register(plain).gemeinden] == [
        "Flensburg, Stadt",
        "Kiel, Landeshauptstadt",
    ]


def _broken(line_number: int, change: str) -> list[str]:
    lines = head()
    line = lines[line_number - 1]
    if change == "truncate":
        lines[line_number - 1] = line[:100]
    elif change == "letters in population":
        lines[line_number - 1] = line[:139] + "0000009x326" + line[150:]
    elif change == "unknown satzart":
        lines[line_number - 1] = "70" + line[2:]
    elif change == "other date":
        lines[line_number - 1] = line[:2] + "20241231" + line[10:]
    elif change == "too long":
        lines[line_number - 1] = line + "trailing garbage"
    elif change == "missing kreis":
        lines[line_number - 1] = line[:13] + "09" + line[15:]
    return lines


@pytest.mark.parametrize(
    ("line_number", "change", "reason"),
    [
        (4, "truncate", "truncated"),
        (4, "letters in population", "population"),
        (3, "unknown satzart", "unknown Satzart '70'"),
        (7, "other date", "inconsistent Gebietsstand"),
        (2, "too long", "236 characters"),
        (7, "missing kreis", "Kreis 01009"),
    ],
)
def test_malformed_records_name_their_line(line_number: int, change: str, reason: str) -> None:
    with pytest.raises(RegisterFormatError) as caught:
        parse_gv100ad(_broken(line_number, change))
    assert caught.value.line == line_number
    assert reason in caught.value.reason
    assert caught.value.code == "BAD_REGISTER_FILE"


@pytest.mark.parametrize(
    ("change", "line_number"),
    [("truncate", 4), ("letters in population", 4), ("unknown satzart", 3), ("empty", 1)],
)
async def test_malformed_file_writes_nothing(
    db: Database, tmp_path: Path, change: str, line_number: int
) -> None:
    path = tmp_path / "GV100AD.txt"
    text = "" if change == "empty" else "\n".join(_broken(line_number, change)) + "\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegisterFormatError) as caught:
        await import_register(read_register(path), locations=Locations())
    assert caught.value.line == line_number
    assert await Municipality.all().count() == 0


async def test_full_import_then_reimport_is_idempotent(db: Database) -> None:
    calls: list[tuple[int, int]] = []
    report = await import_register(
        snapshot(), progress=lambda done, total: calls.append((done, total))
    )
    assert (report.created, report.updated, report.deactivated) == (10_953 + 400, 0, 0)
    assert report.located > 10_900
    assert calls[0] == (0, 11_353) and calls[-1] == (11_353, 11_353)
    assert await Municipality.filter(level="gemeinde").count() == 10_953
    assert await Municipality.filter(level="kreis").count() == 400
    flensburg = await Municipality.get(scheme="de-ars", official_key="010010000000")
    assert (flensburg.ags, flensburg.population, flensburg.size_class) == (
        "01001000",
        96_326,
        "Mittelstadt",
    )
    assert flensburg.latitude == pytest.approx(54.78252) and flensburg.urbanisation == "01"
    kreis = await Municipality.get(scheme="de-ars", official_key="01053")
    assert (kreis.level, kreis.name, kreis.type_label) == ("kreis", "Herzogtum Lauenburg", "Kreis")
    assert kreis.population == sum(
        g.population for g in snapshot().gemeinden if g.kreis_key == "01053"
    )
    assert kreis.latitude is not None and 53.3 < kreis.latitude < 53.9
    assert (await NodeState.get(key="register_date")).value == "20251130"

    again = await import_register(snapshot())
    assert (again.created, again.updated, again.deactivated, again.unchanged) == (0, 0, 0, 11_353)
    assert await Municipality.all().count() == 11_353


async def test_changed_and_vanished_municipalities(db: Database, tmp_path: Path) -> None:
    lines = head(7)
    old = parse_gv100ad(lines)
    await import_register(old, locations=load_locations())
    # A later file: Kiel (line 7) grew and Flensburg (lines 2-4) is gone.
    kiel = lines[6]
    newer = [line[:2] + "20260331" + line[10:] for line in lines]
    newer[6] = newer[6][:139] + "00000300000" + kiel[150:]
    del newer[1:4]
    report = await import_register(parse_gv100ad(newer), locations=load_locations())
    assert (report.created, report.updated, report.deactivated) == (0, 2, 2)
    gone = await Municipality.get(official_key="010010000000")
    assert (gone.active, gone.superseded_at) == (False, "20260331")
    kiel_row = await Municipality.get(official_key="010020000000")
    assert (kiel_row.population, kiel_row.size_class, kiel_row.register_date) == (
        300_000,
        "Großstadt",
        "20260331",
    )
    # Coming back reactivates it in place.
    back = await import_register(old, locations=load_locations())
    assert back.created == 0 and back.deactivated == 0
    again = await Municipality.get(official_key="010010000000")
    assert (again.id, again.active, again.superseded_at) == (gone.id, True, None)
