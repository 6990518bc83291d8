"""Backup and restore time of a node with many entries (SQLite).

    python bench/backup.py [--entries 100000]

Builds a fresh SQLite node with the full register and N generated entries
(bench/catalogue.py's generator: texts recombined from the demo content,
one version each, so no revisions beyond the entries), then times the real
commands as an operator runs them: `exchange backup FILE` and `exchange
restore FILE` into an empty folder. Prints one JSON object: database and
backup size, wall time of each command (process start included), and
whether the restored database holds as many entries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from catalogue import generate

from exchange.db import Database
from exchange.registry import import_register, load_snapshot
from exchange.topics import import_topics
from federation.identity import NodeKey

URL = "http://bench.test"


def command(folder: Path, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env.update(EXCHANGE_DATABASE_URL=f"sqlite://{folder / 'node.db'}", EXCHANGE_NODE_URL=URL,
               PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "exchange", *args], env=env, cwd=folder, check=True,
                   capture_output=True, text=True)
    return round(time.perf_counter() - t0, 2)


def count(db_file: Path) -> int:
    with sqlite3.connect(db_file) as con:
        n = int(con.execute("SELECT count(*) FROM entry").fetchone()[0])
    con.close()
    return n


async def build(folder: Path, entries: int) -> None:
    db = Database(f"sqlite://{folder / 'node.db'}")
    await db.open(create=True)
    try:
        with db.bound():
            await db.migrate()
            await import_register(load_snapshot())
            await import_topics()
            await generate(entries)
    finally:
        await db.close()
    NodeKey.load_or_create(folder / "node.key", URL)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "a", Path(tmp) / "b"
        source.mkdir()
        target.mkdir()
        t0 = time.perf_counter()
        asyncio.run(build(source, args.entries))
        built = round(time.perf_counter() - t0, 1)
        backup_s = command(source, "backup", str(Path(tmp) / "node.backup"))
        restore_s = command(target, "restore", str(Path(tmp) / "node.backup"))
        print(json.dumps({
            "entries": args.entries, "database": "sqlite", "build_s": built,
            "database_mb": round((source / "node.db").stat().st_size / 1e6, 1),
            "backup_mb": round((Path(tmp) / "node.backup").stat().st_size / 1e6, 1),
            "backup_s": backup_s, "restore_s": restore_s,
            "restored_entries": count(target / "node.db"),
        }, indent=2))


if __name__ == "__main__":
    main()
