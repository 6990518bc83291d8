"""Benchmark: entries with files synced between two processes, printed as JSON.

Node B runs as a real `exchange serve` process with N entries and two files
each (a PDF report and a CSV table, every one distinct), written straight
into its database and attachment folder with signed envelopes that list the
files. Node A is this process: it pulls with the node's own `Syncer`, whose
pull is followed by fetching the files it lacks (signed requests, size and
SHA-256 checked while they stream, documents checked before they are kept).

Figures: the first sync (entries, files, seconds for the entries and for
the files, bytes of files moved, CPU seconds of the fetching process and of
the serving one while the files moved), and a second sync, which must move
no file bytes at all.

    python bench/attachments_sync.py                 # 1,000 entries, 2,000 files
    python bench/attachments_sync.py --entries 100   # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from federation_sync import Source

from exchange.app import build_node
from exchange.attachments import Attachment, AttachmentBlob, FileStore
from exchange.attachments.service import envelope_item
from exchange.auth import Publisher
from exchange.catalogue import build_envelope
from exchange.db import Database
from exchange.envelope import canonical_json
from exchange.models import Change, Entry, Organisation, Revision
from exchange.search import index as search_index
from exchange.settings import Settings
from federation import store
from federation.identity import NodeKey
from federation.routes import Federation


def report_pdf(number: int, rng: random.Random) -> bytes:
    """A one-page PDF naming its number, with 8 KB of incompressible bytes beside it."""
    stream = f"BT /F1 12 Tf 72 720 Td (Evaluationsbericht {number}) Tj ET".encode()
    payload = rng.randbytes(8192)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >> >>"),
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def table_csv(number: int, rng: random.Random) -> bytes:
    rows = ["Monat;Fahrgäste;Kilometer"] + [f"{m};{rng.randint(10, 900)};{rng.randint(100, 9000)}"
                                           for m in range(1, 121)]
    return "\n".join(rows).encode() + b"\n"


async def generate(db: Database, key: NodeKey, files_root: Path, count: int) -> tuple[int, int]:
    """`count` public entries with two files each; returns (files, bytes)."""
    rng = random.Random(17)
    blob_store = FileStore(files_root)
    total = 0
    with db.bound():
        org, _ = await Organisation.get_or_create(slug="bench-verbund", defaults={"name": "Bench-Verbund"})
        publisher = Publisher("organisation", org.id, org.slug, org.name)
        now = datetime.now(UTC)
        for offset in range(0, count, 500):
            rows = [Entry(uid=uuid.uuid4(), kind="project", origin_node=key.node_url, version=1,
                          title=f"Bürgerbus {i}", summary=f"Auswertung {i}", body_markdown="Text", body_html="",
                          language="de", visibility="public", organisation_id=org.id, status="completed",
                          search_terms=f"burgerbus {i}", created_at=now + timedelta(microseconds=i),
                          updated_at=now + timedelta(microseconds=i))
                    for i in range(offset, min(offset + 500, count))]
            await Entry.bulk_create(rows)
            stored = {e.uid: e for e in await Entry.filter(uid__in=[r.uid for r in rows])}
            blobs, attachments, revisions, changes = [], [], [], []
            for row in rows:
                entry = stored[row.uid]
                number = int(entry.title.rsplit(" ", 1)[1])
                mine = []
                for position, (data, media_type, title) in enumerate((
                        (report_pdf(number, rng), "application/pdf", "Bericht"),
                        (table_csv(number, rng), "text/csv", "Fahrgastzahlen"))):
                    digest = hashlib.sha256(data).hexdigest()
                    path = blob_store.workdir / digest
                    path.write_bytes(data)
                    await blob_store.put(path, digest)
                    total += len(data)
                    blobs.append(AttachmentBlob(digest=digest, size=len(data), media_type=media_type, created_at=now))
                    a = Attachment(entry_id=entry.id, digest=digest, size=len(data), media_type=media_type,
                                   filename=f"{title.lower()}.{media_type.rsplit('/', 1)[1]}", title=title,
                                   description="", license="CC-BY-4.0", language="de", position=position,
                                   present=True, notes=[], created_at=now)
                    attachments.append(a)
                    mine.append(envelope_item(a))
                envelope = build_envelope(entry, [], publisher)
                envelope["entry"]["attachments"] = mine
                revisions.append(Revision(entry_id=entry.id, version=1, envelope=envelope,
                                          signature=key.sign(canonical_json(envelope)), author="bench",
                                          note="generated", created_at=entry.updated_at))
                changes.append(Change(entry_uid=entry.uid, version=1, origin_node=key.node_url,
                                      visibility="public", created_at=entry.updated_at))
            await AttachmentBlob.bulk_create(blobs)
            await Attachment.bulk_create(attachments)
            await Revision.bulk_create(revisions)
            await Change.bulk_create(changes)
        await search_index.rebuild()
    return 2 * count, total


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-attachments-sync-"))
    source = Source(tmp, "b", None)
    await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "exchange", "migrate"],
                            env=source.env(), check=True, capture_output=True)
    b_db = Database(source.db_url)
    await b_db.open()
    b_key = NodeKey.load_or_create(source.key_file, source.url)
    files_root = Settings(database_url=source.db_url).resolved_attachments_dir
    file_count, file_bytes = await generate(b_db, b_key, files_root, args.entries)
    source.start()
    result: dict[str, Any] = {"entries": args.entries, "files": file_count, "fileBytes": file_bytes}
    try:
        a_settings = Settings(database_url=f"sqlite://{tmp / 'a.db'}", node_url="http://127.0.0.1:1",
                              key_file=str(tmp / "a.key"))
        a_db = Database(a_settings.database_url)
        await a_db.open(create=True)
        fed = Federation(build_node(a_settings, database=a_db))
        with a_db.bound():
            await a_db.migrate()
            descriptor = await fed.client().descriptor(source.url)
            await store.pin_peer(descriptor, member=False, trust_relayed=False, confirm_key_change=False,
                                 now=fed.clock())
        with b_db.bound():
            from exchange.models import Peer
            await Peer.create(url=fed.key.node_url, name="A", public_key=fed.key.public_key_b64,
                              key_id=fed.key.key_id, created_at=fed.clock())
        fetcher = fed.blobs()

        async def sync() -> dict[str, Any]:
            with a_db.bound():
                peer = await store.get_peer(source.url)
                syncer = fed.syncer()
                syncer.after_pull = None  # the files are fetched below, timed on their own
                began = time.perf_counter()
                report = await syncer.sync_peer(peer)
                entries_took = time.perf_counter() - began
                began, cpu_began, peer_cpu_began = time.perf_counter(), time.process_time(), source.cpu_seconds()
                blobs = await fetcher.fetch_missing(peer)
                files_took = time.perf_counter() - began
                cpu, peer_cpu = time.process_time() - cpu_began, source.cpu_seconds() - peer_cpu_began
                held = await Attachment.filter(present=True).count()
            if not report.ok:
                raise SystemExit(f"sync failed: {report.error}")
            return {"entriesApplied": report.applied, "entrySeconds": round(entries_took, 2),
                    "filesFetched": len(blobs.fetched), "fileBytesMoved": blobs.bytes,
                    "filesRefused": len(blobs.refused), "filesLater": len(blobs.later),
                    "fileSeconds": round(files_took, 2),
                    "fileCpuSeconds": {"fetching": round(cpu, 2), "serving": round(peer_cpu, 2)},
                    "filesPerSecond": round(len(blobs.fetched) / files_took, 1) if blobs.fetched else None,
                    "filesHeldAfter": held}

        try:
            result["first"] = await sync()
            result["second"] = await sync()
        finally:
            await fed.http.aclose()
            await a_db.close()
            await b_db.close()
    finally:
        source.stop()
    result["loadAverage1m"] = os.getloadavg()[0]  # the machine's load: figures stretch with it
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
