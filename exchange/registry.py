"""The German municipality register: the Destatis Gemeindeverzeichnis (GV100AD).

GV100AD is a fixed-width file (220 characters a record) with one record per
Land (Satzart 10), Regierungsbezirk (20), Region (30), Kreis (40),
Gemeindeverband (50) and Gemeinde (60). `parse_gv100ad` turns its lines into a
`Register` of plain values and refuses a malformed file with the line number
(`RegisterFormatError`); it touches no database. `import_register` stores a
register into `Municipality` (Gemeinden and Kreise, scheme "de-ars") in one
transaction: new rows are created, known rows updated in place, rows missing
from the file deactivated, never deleted. A snapshot of the file and a slim
coordinates table (GV-ISys 2020, administrative centres) ship in
`exchange/data/`; see its README for sources and licences.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from tortoise.transactions import in_transaction

from exchange.errors import RegisterFormatError
from exchange.freshness import state_changed
from exchange.models import Municipality, NodeState

DATA_DIR = Path(__file__).parent / "data"
SNAPSHOT_NAME = "GV100AD_30112025.txt.gz"
COORDINATES_NAME = "coordinates_2020.csv.gz"
SCHEME = "de-ars"
RECORD_LENGTH = 220
# A record may lose its trailing blanks (editors, mail) but must keep its fields.
MIN_LENGTH = {"10": 23, "20": 23, "30": 23, "40": 124, "50": 124, "60": 161}
KEY_SPANS = {"10": (10, 12), "20": (10, 13), "30": (10, 14), "40": (10, 15)}
KREIS_TYPES = {
    "41": "Kreisfreie Stadt",
    "42": "Stadtkreis",
    "43": "Kreis",
    "44": "Landkreis",
    "45": "Regionalverband",
}
VERBAND_TYPES = {
    "50": "verbandsfreie Gemeinde",
    "51": "Amt",
    "52": "Samtgemeinde",
    "53": "Verbandsgemeinde",
    "54": "Verwaltungsgemeinschaft",
    "55": "Kirchspielslandgemeinde",
    "56": "Verwaltungsverband",
    "57": "VG Trägermodell",
    "58": "Erfüllende Gemeinde",
}
GEMEINDE_TYPES = {
    "60": "Markt",
    "61": "Kreisfreie Stadt",
    "62": "Stadtkreis",
    "63": "Stadt",
    "64": "Kreisangehörige Gemeinde",
    "65": "gemeindefreies Gebiet, bewohnt",
    "66": "gemeindefreies Gebiet, unbewohnt",
    "67": "Große Kreisstadt",
}
UNINCORPORATED = {"65", "66"}
SIZE_CLASSES = ("Landgemeinde", "Kleinstadt", "Mittelstadt", "Großstadt")
_DIGITS = re.compile(r"[0-9]+")
CHUNK = 500


def size_class(population: int) -> str:
    """The BBSR size class (Stadt- und Gemeindetyp by population) as a German name."""
    if population < 0:
        raise ValueError(f"population cannot be negative: {population}")
    if population < 5_000:
        return "Landgemeinde"
    if population < 20_000:
        return "Kleinstadt"
    if population < 100_000:
        return "Mittelstadt"
    return "Großstadt"


@dataclass(frozen=True, slots=True)
class Kreis:
    key: str  # 5 digits: Land, RB, Kreis
    name: str
    type_code: str
    type_label: str
    seat: str
    land_code: str


@dataclass(frozen=True, slots=True)
class Verband:
    key: str  # 9 digits: Kreis key + Verband
    name: str
    type_code: str
    type_label: str


@dataclass(frozen=True, slots=True)
class Gemeinde:
    ars: str
    ags: str
    name: str
    type_code: str
    type_label: str
    land_code: str
    land_name: str
    kreis_key: str  # "" for gemeindefreie Gebiete directly under a Land
    kreis_name: str
    verband_key: str
    verband_name: str
    area_ha: int
    population: int
    postcode: str
    register_date: str
    size_class: str  # "" for gemeindefreie Gebiete: they are not municipalities


@dataclass(frozen=True)
class Register:
    date: str  # Gebietsstand, YYYYMMDD
    lands: dict[str, str]
    kreise: dict[str, Kreis]
    verbaende: dict[str, Verband]
    gemeinden: list[Gemeinde]


def _number(line: str, start: int, end: int, number: int, what: str) -> str:
    value = line[start:end]
    if not _DIGITS.fullmatch(value):
        raise RegisterFormatError(
            number, f"{what} (positions {start + 1}–{end}) must be digits, found {value!r}"
        )
    return value


def _code(line: str, number: int, table: dict[str, str], what: str) -> str:
    code = line[122:124]
    if code not in table:
        raise RegisterFormatError(number, f"unknown {what} Textkennzeichen {code!r}")
    return code


def parse_gv100ad(lines: Iterable[str]) -> Register:
    """Parse GV100AD records (decoded text lines) into a `Register`."""
    date = ""
    lands: dict[str, str] = {}
    kreise: dict[str, Kreis] = {}
    verbaende: dict[str, Verband] = {}
    raw: list[tuple[int, str]] = []
    for number, text in enumerate(lines, start=1):
        line = text.rstrip("\r\n")
        if number == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        kind = line[:2]
        if kind not in MIN_LENGTH:
            raise RegisterFormatError(
                number, f"unknown Satzart {kind!r} (expected 10, 20, 30, 40, 50 or 60)"
            )
        if len(line) > RECORD_LENGTH and line[RECORD_LENGTH:].strip():
            raise RegisterFormatError(
                number, f"record is {len(line)} characters long, GV100AD records have 220"
            )
        if len(line) < MIN_LENGTH[kind]:
            raise RegisterFormatError(
                number,
                f"record is truncated: {len(line)} characters, a Satzart {kind} "
                f"record needs at least {MIN_LENGTH[kind]} (220 expected)",
            )
        line = line[:RECORD_LENGTH].ljust(RECORD_LENGTH)
        stand = _number(line, 2, 10, number, "Gebietsstand")
        if not date:
            try:
                datetime.strptime(stand, "%Y%m%d")
            except ValueError:
                raise RegisterFormatError(number, f"Gebietsstand {stand} is not a date") from None
            date = stand
        elif stand != date:
            raise RegisterFormatError(
                number, f"inconsistent Gebietsstand {stand}: earlier records say {date}"
            )
        name = line[22:72].strip()
        if kind == "60":
            _number(line, 10, 22, number, "Regionalschlüssel")
            raw.append((number, line))
        elif kind == "50":
            key = _number(line, 10, 15, number, "Kreis key") + _number(
                line, 18, 22, number, "Verband key"
            )
            code = _code(line, number, VERBAND_TYPES, "Gemeindeverband")
            verbaende[key] = Verband(key, name, code, VERBAND_TYPES[code])
        else:
            start, end = KEY_SPANS[kind]
            key = _number(line, start, end, number, "Regionalschlüssel")
            if kind == "10":
                lands[key] = name
            elif kind == "40":
                code = _code(line, number, KREIS_TYPES, "Kreis")
                kreise[key] = Kreis(
                    key, name, code, KREIS_TYPES[code], line[72:122].strip(), key[:2]
                )
    if not date:
        raise RegisterFormatError(1, "the file holds no GV100AD records")
    gemeinden = [_gemeinde(n, line, date, lands, kreise, verbaende) for n, line in raw]
    return Register(date, lands, kreise, verbaende, gemeinden)


def _gemeinde(
    number: int,
    line: str,
    date: str,
    lands: dict[str, str],
    kreise: dict[str, Kreis],
    verbaende: dict[str, Verband],
) -> Gemeinde:
    land, kreis_key, verband_key = line[10:12], line[10:15], line[10:15] + line[18:22]
    code = _code(line, number, GEMEINDE_TYPES, "Gemeinde")
    if land not in lands:
        raise RegisterFormatError(number, f"Gemeinde refers to Land {land}, which has no record")
    kreis = kreise.get(kreis_key)
    if kreis is None and kreis_key[3:] != "00":
        raise RegisterFormatError(
            number, f"Gemeinde refers to Kreis {kreis_key}, which has no record"
        )
    verband = verbaende.get(verband_key)
    if verband is None:
        raise RegisterFormatError(
            number, f"Gemeinde refers to Gemeindeverband {verband_key}, which has no record"
        )
    population = int(_number(line, 139, 150, number, "population"))
    postcode = line[165:170].strip()
    if postcode and not _DIGITS.fullmatch(postcode):
        raise RegisterFormatError(number, f"postcode must be digits, found {postcode!r}")
    return Gemeinde(
        ars=line[10:15] + line[18:22] + line[15:18],
        ags=line[10:18],
        name=line[22:72].strip(),
        type_code=code,
        type_label=GEMEINDE_TYPES[code],
        land_code=land,
        land_name=lands[land],
        kreis_key=kreis.key if kreis else "",
        kreis_name=kreis.name if kreis else "",
        verband_key=verband_key,
        verband_name=verband.name,
        area_ha=int(_number(line, 128, 139, number, "area")),
        population=population,
        postcode=postcode,
        register_date=date,
        size_class="" if code in UNINCORPORATED else size_class(population),
    )


def decode_register(data: bytes) -> str:
    """Text of a GV100AD download: gzip or plain; UTF-8, else the Destatis cp1252/latin-1."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1")


def read_register(path: str | Path) -> Register:
    """Parse a GV100AD file as downloaded (plain or gzipped)."""
    return parse_gv100ad(decode_register(Path(path).read_bytes()).split("\n"))


def register_path() -> Path:
    """The shipped GV100AD snapshot."""
    return DATA_DIR / SNAPSHOT_NAME


def load_snapshot() -> Register:
    """The shipped register snapshot, parsed."""
    return read_register(register_path())


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    urbanisation: str  # DEGURBA 01 dicht, 02 mittel, 03 gering besiedelt


@dataclass(frozen=True)
class Locations:
    """Administrative centres of Gemeinden, found by ARS and, failing that, by AGS."""

    by_ars: dict[str, Location] = field(default_factory=dict)
    by_ags: dict[str, Location] = field(default_factory=dict)

    def find(self, ars: str, ags: str) -> Location | None:
        return self.by_ars.get(ars) or self.by_ags.get(ags)


def load_locations(path: str | Path | None = None) -> Locations:
    """The coordinates table (columns ars, ags, latitude, longitude, urbanisation)."""
    data = Path(path or DATA_DIR / COORDINATES_NAME).read_bytes()
    text = decode_register(data)
    locations = Locations()
    for row in csv.DictReader(io.StringIO(text)):
        place = Location(float(row["latitude"]), float(row["longitude"]), row["urbanisation"])
        locations.by_ars[row["ars"]] = place
        locations.by_ags.setdefault(row["ags"], place)
    return locations


def municipality_values(register: Register, locations: Locations) -> dict[str, dict[str, object]]:
    """The Municipality field values of every Gemeinde and Kreis, by official key."""
    rows: dict[str, dict[str, object]] = {}
    sums: dict[str, list[float]] = {}  # Kreis key: area, population, weight, Σw·lat, Σw·lon
    for g in register.gemeinden:
        place = locations.find(g.ars, g.ags)
        values: dict[str, object] = {k: v for k, v in asdict(g).items() if k != "ars"}
        values["level"] = "gemeinde"
        values["latitude"] = place.latitude if place else None
        values["longitude"] = place.longitude if place else None
        values["urbanisation"] = place.urbanisation if place else ""
        rows[g.ars] = values
        if g.kreis_key:
            kreis = sums.setdefault(g.kreis_key, [0.0] * 5)
            kreis[0] += g.area_ha
            kreis[1] += g.population
            if place:  # population-weighted centroid; +1 so empty areas still count
                w = g.population + 1.0
                kreis[2] += w
                kreis[3] += w * place.latitude
                kreis[4] += w * place.longitude
    for k in register.kreise.values():
        area, population, w, lat, lon = sums.get(k.key, [0.0] * 5)
        rows[k.key] = {
            "ags": k.key,
            "level": "kreis",
            "name": k.name,
            "type_code": k.type_code,
            "type_label": k.type_label,
            "land_code": k.land_code,
            "land_name": register.lands.get(k.land_code, ""),
            "kreis_key": k.key,
            "kreis_name": k.name,
            "verband_key": "",
            "verband_name": "",
            "area_ha": int(area),
            "population": int(population),
            "size_class": "",  # BBSR size classes are for Gemeinden
            "postcode": "",
            "latitude": round(lat / w, 6) if w else None,
            "longitude": round(lon / w, 6) if w else None,
            "urbanisation": "",
        }
    for values in rows.values():
        values.update(register_date=register.date, active=True, superseded_at=None)
    return rows


@dataclass(frozen=True, slots=True)
class ImportReport:
    register_date: str
    created: int
    updated: int
    unchanged: int
    deactivated: int
    located: int  # Gemeinden with coordinates


async def import_register(
    register: Register,
    *,
    locations: Locations | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Store a register into Municipality in one transaction; idempotent."""
    wanted = municipality_values(register, locations or load_locations())
    fields = list(next(iter(wanted.values())).keys()) if wanted else []
    async with in_transaction() as conn:
        existing = {
            m.official_key: m for m in await Municipality.filter(scheme=SCHEME).using_db(conn)
        }
        created = [key for key in wanted if key not in existing]
        updated = [
            key
            for key, row in existing.items()
            if key in wanted and any(getattr(row, f) != v for f, v in wanted[key].items())
        ]
        gone = [m.id for key, m in existing.items() if key not in wanted and m.active]
        writes = [
            Municipality(scheme=SCHEME, official_key=k, **wanted[k]) for k in created + updated
        ]
        total = len(writes) + len(gone)
        if progress:
            progress(0, total)
        for start in range(0, len(writes), CHUNK):
            # An upsert on the natural key: far faster than bulk_update's CASE per field.
            await Municipality.bulk_create(
                writes[start : start + CHUNK],
                on_conflict=("scheme", "official_key"),
                update_fields=fields,
                using_db=conn,
            )
            if progress:
                progress(min(start + CHUNK, len(writes)), total)
        for start in range(0, len(gone), CHUNK):
            await (
                Municipality.filter(id__in=gone[start : start + CHUNK])
                .using_db(conn)
                .update(active=False, superseded_at=register.date)
            )
            if progress:
                progress(len(writes) + min(start + CHUNK, len(gone)), total)
        state_changed()  # publishers' names and places change with the register: no tag from before
        await NodeState.update_or_create(
            key="register_date", defaults={"value": register.date}, using_db=conn
        )
    located = sum(
        1 for v in wanted.values() if v["level"] == "gemeinde" and v["latitude"] is not None
    )
    return ImportReport(
        register.date,
        len(created),
        len(updated),
        len(wanted) - len(created) - len(updated),
        len(gone),
        located,
    )
