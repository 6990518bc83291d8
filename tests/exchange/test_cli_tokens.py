"""`exchange tokens create|list|revoke` as an operator meets them: real processes, a real database file."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.exchange.test_cli import run

# real processes on a SQLite file of their own: they run once, not again for PostgreSQL
pytestmark = pytest.mark.slow

HALLENBERG = "059580020020"  # in the bundled register, which the first create loads


def test_create_list_and_revoke(tmp_path: Path) -> None:
    created = run(tmp_path, "tokens", "create", "--publisher", HALLENBERG, "--scope", "publish")
    assert created.returncode == 0, created.stderr
    assert re.fullmatch(r"exg_[A-Za-z0-9_-]{43}\n", created.stdout)  # the token, alone on stdout
    token = created.stdout.strip()
    in_a_year = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%d")
    assert f"expires {in_a_year}" in created.stderr
    short = run(tmp_path, "tokens", "create", "--publisher", HALLENBERG, "--scope", "admin",
                "--expires-in", "30", "--label", "Intranet")
    assert short.returncode == 0, short.stderr
    in_a_month = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")

    listed = run(tmp_path, "tokens", "list")
    assert listed.returncode == 0, listed.stderr
    header, first, second = listed.stdout.splitlines()
    assert header.split()[:4] == ["id", "prefix", "publisher", "scopes"]
    assert first.split()[:4] == ["1", token[:12], f"municipality:{HALLENBERG}", "publish"]
    assert in_a_year in first and "never" in first and first.split()[-1] == "active"
    assert in_a_month in second and "admin" in second and "Intranet" in second
    assert token not in listed.stdout and token[12:20] not in listed.stdout  # never the secret

    revoked = run(tmp_path, "tokens", "revoke", token[:12])  # by prefix
    assert revoked.returncode == 0 and "token 1" in revoked.stdout and "revoked" in revoked.stdout, revoked.stderr
    again = run(tmp_path, "tokens", "revoke", "1")  # by id
    assert again.returncode == 0 and "already revoked" in again.stdout
    listed = run(tmp_path, "tokens", "list", "--publisher", HALLENBERG[:5] + HALLENBERG[9:])  # by AGS
    assert "revoked" in listed.stdout.splitlines()[1] and "active" in listed.stdout.splitlines()[2]


def test_bad_references_and_expiries_are_one_line_errors(tmp_path: Path) -> None:
    assert run(tmp_path, "tokens", "create", "--publisher", HALLENBERG).returncode == 0
    for args, words in [
        (("tokens", "revoke", "42"), "no token with id 42"),
        (("tokens", "revoke", "exg_nothere1"), "no token with prefix"),
        (("tokens", "revoke", "hello"), "neither a token id nor a token prefix"),
        (("tokens", "create", "--publisher", HALLENBERG, "--expires-in", "0"), "--expires-in"),
        (("tokens", "list", "--publisher", "nobody"), "no organisation"),
    ]:
        result = run(tmp_path, *args)
        assert result.returncode != 0 and words in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
