"""`exchange match KEY`: a table with reasons, and one-line errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from exchange.auth import Actor, Publisher
from exchange.catalogue import Catalogue, EntryInput
from exchange.cli import main
from exchange.db import Database
from exchange.models import Municipality
from federation.identity import NodeKey
from tests.helpers import MUNICIPALITIES, seed

FLENSBURG, WIGGENSBACH, KISSELBACH = (m["official_key"] for m in MUNICIPALITIES)


def prepare(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite://{tmp_path / 'cli.db'}"

    async def go() -> None:
        db = Database(url)
        await db.open(create=True)
        with db.bound():
            await db.migrate()
            await seed(db)
            m = await Municipality.get(official_key=KISSELBACH)
            catalogue = Catalogue(signer=NodeKey.load_or_create(tmp_path / "cli.key", "http://node.test"))
            await catalogue.publish(
                Actor(Publisher("municipality", m.id, m.official_key, m.name), frozenset({"publish"})),
                EntryInput(kind="lesson", title="Dorfladen mit Lieferdienst", summary="Was wir gelernt haben.",
                           language="de", topics=["wirtschaft"], visibility="public"),
            )
        await db.close()

    asyncio.run(go())
    return {"EXCHANGE_DATABASE_URL": url, "EXCHANGE_KEY_FILE": str(tmp_path / "cli.key")}


def test_match_prints_a_table_with_reasons(tmp_path: Path) -> None:
    env = prepare(tmp_path)
    result = CliRunner().invoke(main, ["match", WIGGENSBACH, "--about", "Dorfladen", "--first", "2",
                                       "--language", "en"], env=env)
    assert result.exit_code == 0, result.output
    assert "Kisselbach" in result.output and "lesson learned" in result.output
    assert "topics" in result.output and "structure" in result.output


def test_match_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    env = prepare(tmp_path)
    result = CliRunner().invoke(main, ["match", "123"], env=env)
    assert result.exit_code == 1 and "BAD_USER_INPUT" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["match", WIGGENSBACH, "--first", "99"], env=env)
    assert result.exit_code == 1 and "first must be between 1 and 50" in result.output
