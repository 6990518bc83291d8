"""Small builders the tests share: a node with topics, a few municipalities, tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from exchange.app import build_node, create_app
from exchange.auth import create_token
from exchange.db import Database
from exchange.models import Municipality, Organisation
from exchange.settings import Settings
from exchange.topics import import_topics

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

# Real register rows (Destatis GV100AD 30.11.2025; coordinates from the GV-ISys extract 2020).
MUNICIPALITIES: list[dict[str, Any]] = [
    {"official_key": "010010000000", "ags": "01001000", "name": "Flensburg, Stadt", "land_code": "01",
         "land_name": "Schleswig-Holstein", "kreis_key": "01001", "kreis_name": "Flensburg, Stadt",
         "population": 96326, "size_class": "Mittelstadt", "latitude": 54.78252, "longitude": 9.43751},
    {"official_key": "097800146146", "ags": "09780146", "name": "Wiggensbach, M", "land_code": "09",
         "land_name": "Bayern", "kreis_key": "09780", "kreis_name": "Oberallgäu",
         "population": 5065, "size_class": "Kleinstadt", "latitude": 47.745013, "longitude": 10.231536},
    {"official_key": "071405008068", "ags": "07140068", "name": "Kisselbach", "land_code": "07",
         "land_name": "Rheinland-Pfalz", "kreis_key": "07140", "kreis_name": "Rhein-Hunsrück-Kreis",
         "population": 602, "size_class": "Landgemeinde", "latitude": 50.05099, "longitude": 7.610701},
]


async def seed(db: Database) -> None:
    """Topics, three municipalities and one organisation."""
    await import_topics()
    for row in MUNICIPALITIES:
        await Municipality.create(level="gemeinde", **row)
    await Organisation.create(slug="kompetenzzentrum", name="Kompetenzzentrum Digitale Kommune", kind="umbrella")


async def token_for(key: str, scopes: tuple[str, ...] = ("publish",)) -> str:
    token, _ = await create_token(key, list(scopes), now=NOW)
    return token


def settings_for(db: Database, tmp_path: Path, url: str = "http://node-a.test") -> Settings:
    return Settings(database_url=db.url, node_url=url, node_name="Test node",
                    key_file=str(tmp_path / "node.key"), attachments_dir=str(tmp_path / "attachments"))


def client_for(db: Database, tmp_path: Path, url: str = "http://node-a.test") -> httpx.AsyncClient:
    """An in-process client of a node over `db` (already migrated and open)."""
    settings = settings_for(db, tmp_path, url)
    node = build_node(settings, database=db)
    app = create_app(settings, node=node, migrate=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=url)
