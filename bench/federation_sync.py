"""Benchmark: pull sync between two nodes on loopback, printed as JSON.

Node B runs as a real `exchange serve` process; node A is this process,
pulling with the same `Syncer` that `exchange sync` uses (signed requests,
every origin signature checked, merge, apply in one transaction per page).
B's catalogue is bulk-generated straight into its database (rows, signed
envelopes, change feed, search index), not through 100,000 GraphQL calls.

Figures: the initial sync of N entries (entries/s), an incremental sync of
100 new entries on top of 1,000 and on top of N (cost should follow the
change, not the catalogue), and an empty sync (one small request). The
initial sync also reports the pulling side's CPU seconds (entries per CPU
second), which moves far less than wall time on a machine shared with others.
After each sync, A must hold exactly B's entries in B's versions, or the run stops.

    python bench/federation_sync.py                  # N = 100,000
    python bench/federation_sync.py --entries 5000   # a smoke run
    python bench/federation_sync.py --entries 3000 --profile /tmp/pull.prof
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange.app import build_node
from exchange.auth import Publisher
from exchange.catalogue import build_envelope
from exchange.db import Database, current_connection, dialect_of
from exchange.envelope import canonical_json
from exchange.models import Change, Entry, Organisation, Revision
from exchange.search import index as search_index
from exchange.settings import Settings
from federation import store
from federation.identity import NodeKey
from federation.routes import Federation

BODY = ("## Ausgangslage\n\nDie Verwaltung wollte Anträge online annehmen. "
        "Wir haben mit drei Ämtern begonnen und nach sechs Monaten ausgewertet.\n\n"
        "- Bürgerservice\n- Bauamt\n- Ordnungsamt\n")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process on this machine, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _database_cpu(db: Database) -> float:
    """CPU seconds of the PostgreSQL backends serving `db`'s database (0 for SQLite: in-process)."""
    with db.bound():
        conn = current_connection()
        if dialect_of(conn) != "postgres":
            return 0.0
        _, rows = await conn.execute_query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return sum(_proc_cpu(int(row["pid"])) for row in rows)


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the sync's helper process, once closed)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def generate(db: Database, key: NodeKey, count: int, start: int) -> float:
    """Write `count` signed public entries into B's database; returns seconds taken."""
    began = time.perf_counter()
    with db.bound():
        org, _ = await Organisation.get_or_create(slug="bench-verbund", defaults={"name": "Bench-Verbund"})
        publisher = Publisher("organisation", org.id, org.slug, org.name)
        now = datetime.now(UTC)
        for offset in range(0, count, 1000):
            rows = []
            for i in range(start + offset, start + min(offset + 1000, count)):
                moment = now + timedelta(microseconds=i)
                rows.append(Entry(
                    uid=uuid.uuid4(), kind="project", origin_node=key.node_url, version=1,
                    title=f"Digitale Antragsstrecke {i}", summary=f"Erfahrungen aus Vorhaben {i}",
                    body_markdown=BODY, body_html="", language="de", visibility="public",
                    organisation_id=org.id, status="running", search_terms=f"digital antrag {i}",
                    created_at=moment, updated_at=moment))
            await Entry.bulk_create(rows)
            stored = {e.uid: e for e in await Entry.filter(uid__in=[r.uid for r in rows])}
            revisions, changes = [], []
            for row in rows:
                entry = stored[row.uid]
                envelope = build_envelope(entry, [], publisher)
                revisions.append(Revision(entry_id=entry.id, version=1, envelope=envelope,
                                          signature=key.sign(canonical_json(envelope)),
                                          author="bench", note="generated", created_at=entry.updated_at))
                changes.append(Change(entry_uid=entry.uid, version=1, origin_node=key.node_url,
                                      visibility="public", created_at=entry.updated_at))
            await Revision.bulk_create(revisions)
            await Change.bulk_create(changes)
        await search_index.rebuild()
    return time.perf_counter() - began


class Source:
    """Node B: a database, a key, and an `exchange serve` process."""

    def __init__(self, tmp: Path, name: str, db_url: str | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = db_url or f"sqlite://{tmp / (name + '.db')}"
        self.key_file = tmp / f"{name}.key"
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "EXCHANGE_DATABASE_URL": self.db_url, "EXCHANGE_NODE_URL": self.url,
                "EXCHANGE_KEY_FILE": str(self.key_file), "EXCHANGE_SYNC_INTERVAL": "0",
                "EXCHANGE_LOG_LEVEL": "WARNING"}

    def start(self) -> None:
        self.log = open(self.tmp / f"serve-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(self.port)],
                                     env=self.env(), stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit(f"node B did not start; see {self.log.name}")

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the serving process has used so far."""
        return 0.0 if self.proc is None else _proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
            self.log.close()


async def same_entries(a_db: Database, b_db: Database) -> None:
    """Stop unless A holds exactly B's entries, each in B's version (outside the timings)."""
    held = []
    for db in (a_db, b_db):
        with db.bound():
            held.append(set(await Entry.all().values_list("uid", "version")))
    if held[0] != held[1]:
        raise SystemExit(f"the sync lost or changed entries: {len(held[1] - held[0])} of the source's "
                         f"{len(held[1])} missing or in another version, {len(held[0] - held[1])} extra")


async def pair(tmp: Path, name: str, entries: int, source_db: str | None, target_db: str | None,
               profile: str | None = None) -> dict[str, Any]:
    """Build B with `entries`, start it, connect A; returns timings."""
    source = Source(tmp, f"{name}-b", source_db)
    await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "exchange", "migrate"],
                            env=source.env(), check=True, capture_output=True)
    b_db = Database(source.db_url)
    await b_db.open()
    b_key = NodeKey.load_or_create(source.key_file, source.url)
    generated = await generate(b_db, b_key, entries, 0)
    source.start()
    try:
        a_settings = Settings(database_url=target_db or f"sqlite://{tmp / (name + '-a.db')}",
                              node_url="http://127.0.0.1:1", key_file=str(tmp / f"{name}-a.key"))
        a_db = Database(a_settings.database_url)
        await a_db.open(create=True)
        fed = Federation(build_node(a_settings, database=a_db))
        with a_db.bound():
            await a_db.migrate()
            b = await fed.client().descriptor(source.url)
            await store.pin_peer(b, member=False, trust_relayed=False, confirm_key_change=False, now=fed.clock())
        with b_db.bound():
            from exchange.models import Peer
            await Peer.create(url=fed.key.node_url, name="A", public_key=fed.key.public_key_b64,
                              key_id=fed.key.key_id, created_at=fed.clock())

        cpu_took = [0.0, 0.0, 0.0, 0.0]

        async def pull(profile: str | None = None) -> tuple[float, Any]:
            with a_db.bound():
                peer = await store.get_peer(source.url)
                profiler = cProfile.Profile() if profile else None
                began, cpu_began, source_began = time.perf_counter(), time.process_time(), source.cpu_seconds()
                helper_began, db_began = _children_cpu(), await _database_cpu(a_db)
                if profiler is not None:
                    profiler.enable()
                report = await fed.syncer().sync_peer(peer)
                took = time.perf_counter() - began
                cpu_took[0] = time.process_time() - cpu_began
                cpu_took[1] = source.cpu_seconds() - source_began
                cpu_took[2] = _children_cpu() - helper_began  # the sync's helper, ended with it
                cpu_took[3] = await _database_cpu(a_db) - db_began
                if profiler is not None and profile:
                    profiler.disable()
                    profiler.dump_stats(profile)
            if not report.ok:
                raise SystemExit(f"sync failed: {report.error}")
            return took, report

        result: dict[str, Any] = {"generateSeconds": round(generated, 2)}
        try:
            took, report = await pull(profile)
            result["initial"] = {"entries": report.applied, "seconds": round(took, 2),
                                 "entriesPerSecond": round(report.applied / took) if took else None,
                                 "pullCpuSeconds": round(cpu_took[0], 2),
                                 "helperCpuSeconds": round(cpu_took[2], 2),
                                 "entriesPerPullCpuSecond": round(report.applied / cpu_took[0]) if cpu_took[0] else None,
                                 "sourceCpuSeconds": round(cpu_took[1], 2),
                                 "targetDatabaseCpuSeconds": round(cpu_took[3], 2),
                                 "loadAverage1m": os.getloadavg()[0],
                                 "batches": report.batches}
            await same_entries(a_db, b_db)
            await generate(b_db, b_key, 100, entries)
            took, report = await pull()
            result["incremental100"] = {"onTopOf": entries, "entries": report.applied,
                                        "seconds": round(took, 3)}
            await same_entries(a_db, b_db)
            result["sameEntriesAsSource"] = True
            took, report = await pull()
            result["empty"] = {"seconds": round(took, 4), "batches": report.batches, "applied": report.applied}
        finally:
            await fed.http.aclose()
            await a_db.close()
            await b_db.close()
        return result
    finally:
        source.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--source-db", default=None,
                        help="tortoise URL for B, an empty database (default: SQLite in a temp dir)")
    parser.add_argument("--target-db", default=None,
                        help="tortoise URL for A, an empty database (default: SQLite in a temp dir)")
    parser.add_argument("--profile", default=None,
                        help="write a cProfile of the initial pull (the pulling side) to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fed-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        small = await pair(tmp, "small", 1000, None, None)
        large = await pair(tmp, "large", args.entries, args.source_db, args.target_db, args.profile)
    print(json.dumps({
        "benchmark": "federation_sync",
        "python": platform.python_version(),
        "database": "sqlite" if not args.target_db else args.target_db.split(":")[0],
        "entries": args.entries,
        "initialSync": large["initial"],
        "incremental100OnTopOf1000": small["incremental100"],
        f"incremental100OnTopOf{args.entries}": large["incremental100"],
        "emptySync": large["empty"],
        "sameEntriesAsSource": small["sameEntriesAsSource"] and large["sameEntriesAsSource"],
        "generateSeconds": large["generateSeconds"],
        "targetEntriesPerSecond": 2000,
    }, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
