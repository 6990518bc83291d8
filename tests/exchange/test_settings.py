"""Settings: one table drives the environment, `--help` and the README."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from exchange.cli import main
from exchange.errors import InvalidInputError
from exchange.settings import SETTINGS, Settings, load_settings, markdown_table, parse_weights

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("<!-- settings-table -->")[1].split("<!-- /settings-table -->")[0]


def test_the_readme_table_is_the_generated_one() -> None:
    assert readme_table().strip() == markdown_table().strip(), (
        "README's settings table differs from exchange.settings.markdown_table(); paste its output")


def test_every_setting_is_documented_in_the_readme_with_its_default() -> None:
    table = readme_table()
    for s in SETTINGS:
        row = next((line for line in table.splitlines() if line.startswith(f"| `{s.env}`")), None)
        assert row is not None, f"{s.env} is missing from the README's settings table"
        default = f"`{s.default}`" if s.default else "–"
        assert f"| {default} |" in row, f"{s.env}: README default differs from {s.default!r}"
        assert s.help in row, f"{s.env}: README text differs from the setting's help"


def test_help_lists_every_setting() -> None:
    out = CliRunner().invoke(main, ["--help"]).output
    for s in SETTINGS:
        assert s.env in out


def test_defaults_match_the_dataclass() -> None:
    assert load_settings({}, cwd=Path("/srv/node")) == Settings(database_url="sqlite:///srv/node/exchange.db")


def test_environment_overrides_and_normalises() -> None:
    s = load_settings({
        "EXCHANGE_DATABASE_URL": "postgresql://u:p@h/db",
        "EXCHANGE_NODE_URL": "https://node.example.org/",
        "EXCHANGE_MATCHING_WEIGHTS": "topics=1,structure=0",
        "EXCHANGE_LOG_LEVEL": "debug",
    })
    assert s.database_url == "postgres://u:p@h/db"
    assert s.node_url == "https://node.example.org"
    assert s.matching_weights == {"topics": 1.0, "structure": 0.0}
    assert s.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EXCHANGE_MAX_BODY_BYTES": "many"}, "not a number"),
        ({"EXCHANGE_MATCHING_WEIGHTS": "topics"}, "name=number"),
        ({"EXCHANGE_MATCHING_WEIGHTS": "topics=x"}, "not a number"),
        ({"EXCHANGE_MATCHING_WEIGHTS": "topics=-1"}, "negative"),
        ({"EXCHANGE_PEER_DEADLINE": "0"}, "EXCHANGE_PEER_DEADLINE must be a positive number"),
        ({"EXCHANGE_PEER_DEADLINE": "soon"}, "not a number"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        load_settings(env)


def test_key_file_defaults_next_to_the_sqlite_file() -> None:
    assert str(Settings(database_url="sqlite:///srv/node/ex.db").resolved_key_file) == "/srv/node/ex.key"
    assert str(Settings(database_url="postgres://x/y").resolved_key_file) == "exchange-node.key"
    assert parse_weights("") == {}
