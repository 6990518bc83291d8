"""Every command checks the database first: one line within 5 seconds, never a hang or traceback.

Real processes, as an operator meets them; one test per way a database can be
unusable, each timed.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

BOUND = 5.0


def run(cwd: Path, database_url: str, *args: str, env: dict[str, str] | None = None,
        timeout: float = 30) -> tuple[subprocess.CompletedProcess[str], float]:
    environ = dict(os.environ, EXCHANGE_DATABASE_URL=database_url, EXCHANGE_NODE_URL="http://127.0.0.1:8999")
    environ.pop("EXCHANGE_TEST_DATABASE_URL", None)
    environ.update(env or {})
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "exchange", *args], env=environ, cwd=cwd,
                            capture_output=True, text=True, timeout=timeout, check=False)
    return result, time.monotonic() - started


def assert_one_line(result: subprocess.CompletedProcess[str], elapsed: float, *needles: str) -> None:
    assert result.returncode != 0, result.stdout
    assert elapsed < BOUND, f"took {elapsed:.1f} s: {result.stderr}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_url() -> str:
    return os.environ.get("EXCHANGE_TEST_DATABASE_URL") or "postgres://exchange:exchange@127.0.0.1:5432/exchange_test"


def postgres_running() -> bool:
    parts = urlsplit(postgres_url())
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1).close()
    except OSError:
        return False
    return True


needs_postgres = pytest.mark.skipif(not postgres_running(), reason="no PostgreSQL server to refuse credentials")


@pytest.mark.parametrize("command", [["peers", "list"], ["serve", "--port", "8999"], ["tokens", "list"]])
def test_a_missing_folder_is_named(tmp_path: Path, command: list[str]) -> None:
    result, elapsed = run(tmp_path, "sqlite:///nonexistent/dir/x.db", *command)
    assert_one_line(result, elapsed, "/nonexistent/dir", "does not exist", "EXCHANGE_DATABASE_URL")


def test_a_folder_where_no_file_can_be_made_is_named(tmp_path: Path) -> None:
    """/proc looks writable to root, and the command waited for ever on the file it could not make."""
    result, elapsed = run(tmp_path, "sqlite:///proc/exchange-node.db", "peers", "list")
    assert_one_line(result, elapsed, "/proc/exchange-node.db", "EXCHANGE_DATABASE_URL")
    assert "cannot create" in result.stderr or "not writable" in result.stderr


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    db = tmp_path / "node.db"
    sqlite3.connect(db).close()
    if os.geteuid() == 0:  # root writes through any mode bits; the immutable flag stops it
        if subprocess.run(["chattr", "+i", str(db)], capture_output=True, check=False).returncode:
            pytest.skip("running as root on a file system without chattr +i")
        yield db
        subprocess.run(["chattr", "-i", str(db)], check=True)
    else:
        db.chmod(0o444)
        yield db


def test_an_unwritable_file_is_named(tmp_path: Path, unwritable: Path) -> None:
    result, elapsed = run(tmp_path, f"sqlite://{unwritable}", "peers", "list")
    assert_one_line(result, elapsed, str(unwritable), "not readable and writable", "EXCHANGE_DATABASE_URL")


def test_a_file_that_is_no_database_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("these are my notes, not a database\n" * 200)
    result, elapsed = run(tmp_path, f"sqlite://{tmp_path / 'notes.db'}", "peers", "list")
    assert_one_line(result, elapsed, "notes.db", "not a usable SQLite database")


def test_a_refused_postgres_is_named(tmp_path: Path) -> None:
    port = free_port()
    result, elapsed = run(tmp_path, f"postgres://exchange:secret@127.0.0.1:{port}/exchange", "peers", "list")
    assert_one_line(result, elapsed, f"127.0.0.1:{port}", "refused the connection", "EXCHANGE_DATABASE_URL")
    assert "secret" not in result.stderr


def test_an_unreachable_postgres_is_named_within_the_bound(tmp_path: Path) -> None:
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        result, elapsed = run(tmp_path, f"postgres://exchange:x@127.0.0.1:{port}/exchange", "peers", "list")
    finally:
        silent.close()
    assert_one_line(result, elapsed, f"127.0.0.1:{port}", "did not answer", "EXCHANGE_DATABASE_URL")


@needs_postgres
def test_wrong_credentials_are_named(tmp_path: Path) -> None:
    parts = urlsplit(postgres_url())
    wrong = parts._replace(netloc=f"{parts.username}:not-the-password@{parts.hostname}:{parts.port or 5432}")
    result, elapsed = run(tmp_path, wrong.geturl(), "peers", "list")
    assert_one_line(result, elapsed, f"refused user '{parts.username}'", "EXCHANGE_DATABASE_URL")
    assert "not-the-password" not in result.stderr


@needs_postgres
def test_a_missing_postgres_database_is_named(tmp_path: Path) -> None:
    parts = urlsplit(postgres_url())
    result, elapsed = run(tmp_path, parts._replace(path="/no_such_exchange_db").geturl(), "peers", "list")
    assert_one_line(result, elapsed, "no database 'no_such_exchange_db'")


def test_a_database_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'node.db'}"
    migrated, _ = run(tmp_path, url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(tmp_path / "node.db") as con:
        con.execute("INSERT INTO tortoise_migrations (app, name, applied_at) "
                    "VALUES ('models', '0999_from_the_future', '2030-01-01 00:00:00')")
    con.close()
    before = (tmp_path / "node.db").read_bytes()
    result, elapsed = run(tmp_path, url, "peers", "list")
    assert_one_line(result, elapsed, "0999_from_the_future", "newer", "upgrade the exchange")
    assert (tmp_path / "node.db").read_bytes() == before


def test_a_relative_sqlite_path_is_resolved_and_printed(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    result, _ = run(tmp_path, "sqlite://data/nod.db", "peers", "list")
    assert result.returncode == 0, result.stderr
    assert f"database: SQLite {tmp_path / 'data' / 'nod.db'} (new, created now)" in result.stderr
    again, _ = run(tmp_path, "sqlite://data/nod.db", "peers", "list")
    assert f"database: SQLite {tmp_path / 'data' / 'nod.db'}" in again.stderr
    assert "new" not in again.stderr
