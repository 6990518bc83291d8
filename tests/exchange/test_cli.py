"""The `exchange` command as an operator meets it: real processes, real files."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.registry import register_path


def run(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, EXCHANGE_DATABASE_URL=f"sqlite://{tmp_path / 'node.db'}",
               EXCHANGE_NODE_URL="http://127.0.0.1:8999")
    env.pop("EXCHANGE_TEST_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "exchange", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_migrate_then_nothing_left(tmp_path: Path) -> None:
    first = run(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert "0001_initial" in first.stdout
    again = run(tmp_path, "migrate")
    assert again.returncode == 0 and "applied 0 migration(s)" in again.stdout


def test_import_the_real_register_and_create_a_token(tmp_path: Path) -> None:
    plain = tmp_path / "GV100AD_30112025.txt"
    plain.write_bytes(gzip.decompress(register_path().read_bytes()))
    result = run(tmp_path, "import", "municipalities", str(plain))
    assert result.returncode == 0, result.stderr
    assert "10953" not in result.stdout  # counts are Gemeinden + Kreise
    assert "11353 created" in result.stdout
    again = run(tmp_path, "import", "municipalities", str(plain))
    assert "0 created, 0 updated, 11353 unchanged" in again.stdout
    token = run(tmp_path, "tokens", "create", "--publisher", "07140068", "--scope", "publish")
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("exg_")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("602025113001\n", "line 1"),
        ("this is not a register\n", "line 1"),
    ],
)
def test_a_malformed_register_is_refused_with_its_line(tmp_path: Path, content: str, expected: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(content, encoding="utf-8")
    result = run(tmp_path, "import", "municipalities", str(bad))
    assert result.returncode != 0
    assert expected in result.stderr and "bad.txt" in result.stderr
    assert "Traceback" not in result.stderr


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = run(tmp_path, "tokens", "create", "--publisher", "999999999999")
    assert result.returncode != 0
    assert "no municipality with official key 999999999999" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run(tmp_path, "import", "municipalities", str(tmp_path / "nope.txt"))
    assert missing.returncode != 0 and "does not exist" in missing.stderr


def test_every_command_has_help(tmp_path: Path) -> None:
    for args in (["--help"], ["serve", "--help"], ["import", "municipalities", "--help"],
                 ["tokens", "create", "--help"], ["export-schema", "--help"], ["migrate", "--help"]):
        result = run(tmp_path, *args)
        assert result.returncode == 0 and "Usage:" in result.stdout, args
