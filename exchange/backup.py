"""Backups of a node: its database and its key in one file, and their restore.

A backup is a tar file holding `manifest.json` (format, node URL, key id,
dialect, the migrations applied, and the SHA-256 of each member), the
database (`database.sqlite`, taken with SQLite's online backup API while the
node may be serving; or `database.pgdump`, PostgreSQL's `pg_dump -Fc`) and
`node.key`, and every file of the attachment store
(`attachments/ab/cd/<sha256>`, as the store keeps them). Restore checks the whole file before it touches anything: a
truncated or altered file, a file of a newer version, of another node or of
the other database kind, and a target that already holds a node's data are
refused in one line, and nothing is changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from exchange.attachments import is_digest
from exchange.errors import ExchangeError
from exchange.settings import Settings, sqlite_path

FORMAT = "exchange-backup"
FORMAT_VERSION = 2  # 2: the attachments' files are members too (1 had none)
KEY_MEMBER = "node.key"
SEED_MEMBER = "node.key.seed"
FILES_MEMBER = "attachments/"  # + ab/cd/<sha256>: the blobs of the attachment store


class BackupError(ExchangeError):
    code = "BAD_BACKUP"


@dataclass(frozen=True)
class Manifest:
    node_url: str
    key_id: str
    dialect: str
    migrations: list[str]
    created: str
    members: dict[str, str]  # name -> sha256

    def as_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, "node_url": self.node_url,
                           "key_id": self.key_id, "dialect": self.dialect, "migrations": self.migrations,
                           "created": self.created, "members": self.members}, indent=2).encode()


def _pg_env(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password goes by environment, not argv."""
    parts = urlsplit(url)
    args = ["-h", parts.hostname or "localhost", "-p", str(parts.port or 5432),
            "-U", unquote(parts.username or ""), "-d", parts.path.lstrip("/")]
    env = dict(os.environ, PGPASSWORD=unquote(parts.password or ""), PGCONNECT_TIMEOUT="5")
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is needed for a PostgreSQL database (apt-get install postgresql-client)")
    return found


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return _stream_sha256(handle)


def _stream_sha256(handle: IO[bytes]) -> str:
    """The SHA-256 of a member read in blocks (a database of 100,000 entries is hundreds of MB)."""
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _applied(settings: Settings, db_file: Path | None) -> list[str]:
    if db_file is not None:
        with sqlite3.connect(db_file) as con:
            rows = con.execute("SELECT name FROM tortoise_migrations WHERE app = 'models' ORDER BY name").fetchall()
        con.close()
        return [r[0] for r in rows]
    args, env = _pg_env(settings.database_url)
    out = subprocess.run([_tool("psql"), *args, "-At", "-c",
                          "SELECT name FROM tortoise_migrations WHERE app = 'models' ORDER BY name"],
                         env=env, capture_output=True, text=True, timeout=60, check=False)
    if out.returncode:
        raise BackupError(f"psql: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else 'failed'}")
    return out.stdout.split()


def create_backup(settings: Settings, key_id: str, target: Path) -> Manifest:
    """Write a backup of the node's database and key to `target` (atomically)."""
    key_file = settings.resolved_key_file
    if not key_file.is_file():
        raise BackupError(f"the node key {key_file} is missing (EXCHANGE_KEY_FILE)")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as work:
        folder = Path(work)
        source = sqlite_path(settings.database_url)
        if source:
            name, dialect = "database.sqlite", "sqlite"
            src = sqlite3.connect(source)
            dst = sqlite3.connect(folder / name)
            with dst:
                src.backup(dst)  # the online backup API: consistent while the node writes
            src.close()
            dst.close()
            migrations = _applied(settings, folder / name)
        else:
            name, dialect = "database.pgdump", "postgres"
            args, env = _pg_env(settings.database_url)
            # -Z 1: light compression. The default (6) spent 14 of 15 CPU seconds at 100,000
            # entries compressing, for a file 20 % smaller
            done = subprocess.run([_tool("pg_dump"), "-Fc", "-Z", "1", "--no-owner", "-f", str(folder / name), *args],
                                  env=env, capture_output=True, text=True, check=False)
            if done.returncode:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()[-300:]}")
            migrations = _applied(settings, None)
        shutil.copyfile(key_file, folder / KEY_MEMBER)
        members = [name, KEY_MEMBER]
        seed = key_file.with_name(key_file.name + ".seed")  # after a key rotation: the secrets' seed
        if seed.is_file():
            shutil.copyfile(seed, folder / SEED_MEMBER)
            members.append(SEED_MEMBER)
        files = _attachment_files(settings)  # after the database: every file its rows name is there
        checksums = {n: _sha256(folder / n) for n in members}
        checksums.update({name: _sha256(path) for name, path in files.items()})
        manifest = Manifest(node_url=settings.node_url, key_id=key_id, dialect=dialect, migrations=migrations,
                            created=datetime.now(UTC).isoformat(timespec="seconds"), members=checksums)
        partial = folder / "backup.tar"
        with tarfile.open(partial, "w") as tar:
            data = manifest.as_json()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            for member in manifest.members:
                tar.add(files.get(member, folder / member), arcname=member)
        os.chmod(partial, 0o600)  # it holds the node's private key
        os.replace(partial, target)
    return manifest


def _attachment_files(settings: Settings) -> dict[str, Path]:
    """The store's blobs as backup members (name -> file); files on their way in are left out."""
    root = settings.resolved_attachments_dir
    if not root.is_dir():
        return {}
    return {f"{FILES_MEMBER}{p.name[:2]}/{p.name[2:4]}/{p.name}": p
            for p in sorted(root.glob("??/??/*")) if p.is_file() and is_digest(p.name)}


def read_manifest(source: Path, known_migrations: set[str]) -> Manifest:
    """Read and check a backup file whole; raise BackupError naming what is wrong."""
    if not source.is_file():
        raise BackupError(f"there is no backup file {source}")
    try:
        with tarfile.open(source, "r") as tar:
            names = tar.getnames()
            raw_member = tar.extractfile("manifest.json") if "manifest.json" in names else None
            if raw_member is None:
                raise BackupError(f"{source} is not a backup of the exchange (no manifest.json)")
            raw: dict[str, Any] = json.loads(raw_member.read())
            if raw.get("format") != FORMAT:
                raise BackupError(f"{source} is not a backup of the exchange")
            if int(raw.get("format_version", 0)) > FORMAT_VERSION:
                raise BackupError(f"{source} was written by a newer version of the exchange "
                                  f"(backup format {raw['format_version']}); upgrade the exchange to restore it")
            manifest = Manifest(node_url=raw["node_url"], key_id=raw["key_id"], dialect=raw["dialect"],
                                migrations=list(raw["migrations"]), created=raw["created"],
                                members=dict(raw["members"]))
            for member, expected in manifest.members.items():
                handle = tar.extractfile(member) if member in names else None
                if handle is None or _stream_sha256(handle) != expected:
                    raise BackupError(f"{source} is truncated or damaged: {member} does not match its checksum")
    except (tarfile.TarError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{source} is truncated or damaged ({type(exc).__name__}: {exc})") from None
    newer = sorted(set(manifest.migrations) - known_migrations)
    if newer:
        raise BackupError(f"{source} was written by a newer version of the exchange (schema {newer[-1]}); "
                          "upgrade the exchange to restore it")
    return manifest


def check_target(settings: Settings, source: Path, manifest: Manifest) -> None:
    """Refuse a backup of another node, or of the other kind of database, before anything is touched."""
    dialect = "sqlite" if sqlite_path(settings.database_url) else "postgres"
    if manifest.dialect != dialect:
        raise BackupError(f"{source} holds a {manifest.dialect} database; this node uses {dialect} "
                          "(EXCHANGE_DATABASE_URL)")
    if manifest.node_url != settings.node_url:
        raise BackupError(f"{source} is a backup of the node {manifest.node_url}, and this node is "
                          f"{settings.node_url} (node_url: {settings.origin('node_url')})")
    key_file = settings.resolved_key_file
    if key_file.exists() and key_file.read_bytes() != _member(source, KEY_MEMBER):
        raise BackupError(f"{source} is a backup of another node: its key {manifest.key_id} differs from "
                          f"this node's key {key_file} (EXCHANGE_KEY_FILE)")


def _member(source: Path, name: str) -> bytes:
    with tarfile.open(source, "r") as tar:
        handle = tar.extractfile(name)
        return handle.read() if handle else b""


def restore_backup(settings: Settings, source: Path, manifest: Manifest, *, target_is_empty: bool) -> None:
    """Restore a checked backup (`read_manifest`, `check_target`) into this node's empty database."""
    if not target_is_empty:
        raise BackupError("this node's database holds entries or peers already; restore into an empty "
                          "database (EXCHANGE_DATABASE_URL)")
    key_file = settings.resolved_key_file
    db_file = sqlite_path(settings.database_url)
    near = Path(db_file).parent if db_file else key_file.parent  # same file system: a rename, not a copy
    with tempfile.TemporaryDirectory(dir=near, prefix=".restore-") as work:
        folder = Path(work)
        with tarfile.open(source, "r") as tar:
            tar.extractall(folder, members=[tar.getmember(m) for m in manifest.members], filter="data")
        if db_file:
            for stale in ("-wal", "-shm", "-journal"):  # of the empty database being replaced
                Path(db_file + stale).unlink(missing_ok=True)
            os.replace(folder / "database.sqlite", db_file)
        else:
            args, env = _pg_env(settings.database_url)
            done = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                                   "--single-transaction", *args, str(folder / "database.pgdump")],
                                  env=env, capture_output=True, text=True, check=False)
            if done.returncode:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()[-300:]}")
        files_root = settings.resolved_attachments_dir
        for member in manifest.members:
            if member.startswith(FILES_MEMBER):
                target = files_root / member.removeprefix(FILES_MEMBER)
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    shutil.move(folder / member, target)
        for member, path in ((KEY_MEMBER, key_file), (SEED_MEMBER, key_file.with_name(key_file.name + ".seed"))):
            if member in manifest.members and not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write((folder / member).read_bytes())
