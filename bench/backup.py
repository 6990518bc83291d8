"""Backup and restore time of a node with many entries, on SQLite and PostgreSQL.

    python bench/backup.py [--entries 100000] [--database sqlite,postgres]

Builds a fresh node with the full register and N generated entries
(bench/catalogue.py's generator: texts recombined from the demo content,
one version each, so no revisions beyond the entries): a SQLite file, or the
PostgreSQL database exchange_bench_backup_a. Then it times the real commands
as an operator runs them: `exchange backup FILE`, and `exchange restore FILE`
into an empty node (a new folder, or the empty database
exchange_bench_backup_b). Prints one JSON object, per database: database and
backup size, wall and CPU time of each command (process start included; CPU
of the command and its children such as pg_dump, not of the PostgreSQL
server), and whether the restored database holds as many entries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
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
PG_BASE = "postgres://exchange:exchange@127.0.0.1:5432/"


def database_url(kind: str, folder: Path) -> str:
    return f"sqlite://{folder / 'node.db'}" if kind == "sqlite" else PG_BASE + f"exchange_bench_backup_{folder.name}"


def command(kind: str, folder: Path, *args: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env.update(EXCHANGE_DATABASE_URL=database_url(kind, folder), EXCHANGE_NODE_URL=URL,
               EXCHANGE_KEY_FILE=str(folder / "node.key"), PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "exchange", *args], env=env, cwd=folder, check=False,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"exchange {' '.join(args)} failed: {done.stdout}{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


async def fresh_postgres(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_BASE.replace("postgres://", "postgresql://") + "exchange_test")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def count(kind: str, folder: Path) -> int:
    if kind == "sqlite":
        with sqlite3.connect(folder / "node.db") as con:
            n = int(con.execute("SELECT count(*) FROM entry").fetchone()[0])
        con.close()
        return n

    async def pg() -> int:
        import asyncpg

        url = database_url(kind, folder).replace("postgres://", "postgresql://")
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM entry"))
        finally:
            await conn.close()
    return asyncio.run(pg())


def size_mb(kind: str, folder: Path) -> float:
    if kind == "sqlite":
        return round((folder / "node.db").stat().st_size / 1e6, 1)

    async def pg() -> int:
        import asyncpg

        conn = await asyncpg.connect(database_url(kind, folder).replace("postgres://", "postgresql://"))
        try:
            return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
        finally:
            await conn.close()
    return round(asyncio.run(pg()) / 1e6, 1)


async def build(kind: str, folder: Path, entries: int) -> None:
    db = Database(database_url(kind, folder))
    await db.open(create=kind == "sqlite")
    try:
        with db.bound():
            await db.migrate()
            await import_register(load_snapshot())
            await import_topics()
            await generate(entries)
    finally:
        await db.close()
    NodeKey.load_or_create(folder / "node.key", URL)


def run(kind: str, entries: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "a", Path(tmp) / "b"
        source.mkdir()
        target.mkdir()
        if kind == "postgres":
            for folder in (source, target):
                asyncio.run(fresh_postgres(f"exchange_bench_backup_{folder.name}"))
        t0 = time.perf_counter()
        asyncio.run(build(kind, source, entries))
        built = round(time.perf_counter() - t0, 1)
        backup = command(kind, source, "backup", str(Path(tmp) / "node.backup"))
        restore = command(kind, target, "restore", str(Path(tmp) / "node.backup"))
        return {
            "entries": entries, "build_s": built, "database_mb": size_mb(kind, source),
            "backup_mb": round((Path(tmp) / "node.backup").stat().st_size / 1e6, 1),
            "backup": backup, "restore": restore, "restored_entries": count(kind, target),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    args = parser.parse_args()
    result: dict[str, object] = {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    kinds = args.database.split(",")
    for kind in kinds:
        if len(kinds) == 1:
            result[kind] = run(kind, args.entries)
        else:  # one process per database: tortoise holds one dialect per process
            done = subprocess.run([sys.executable, __file__, "--database", kind, "--entries", str(args.entries)],
                                  capture_output=True, text=True, check=False)
            result[kind] = json.loads(done.stdout)[kind] if done.returncode == 0 else {"error": done.stderr[-500:]}
        print(json.dumps({kind: result[kind]}), file=sys.stderr, flush=True)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
