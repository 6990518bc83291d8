"""Uploading and downloading a 20 MB attachment: throughput and the server's memory meanwhile.

    python bench/attachments.py [--mb 20] [--runs 5]

Starts a demo node as a real uvicorn process (`exchange serve --demo` on a
fresh SQLite file), makes an API token for a demo municipality and publishes
one entry. Then, `--runs` times: uploads a PDF of `--mb` MB (one large
stream object of incompressible bytes, as a scanned report has) with
`POST /api/entries/{id}/attachments`, streamed from this process in 1 MiB
chunks; downloads it with `GET /attachments/{digest}` and checks its
SHA-256; removes it again. A thread samples the server's resident memory
(VmRSS of /proc/PID/status) every 5 ms from before the first upload to
after the last download. Prints one JSON object: upload and download MB/s
(medians and each run), and the server's peak RSS above its idle RSS (the
issue asks for under 50 MB: the file is streamed, never held whole).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PUBLISH = (ROOT / "graphql" / "operations" / "Publish.graphql").read_text(encoding="utf-8")
PUBLISHER = "059580020020"  # Hallenberg, a demo municipality
CHUNK = 1024 * 1024


def big_pdf(size: int, seed: int = 7) -> bytes:
    """A valid PDF of about `size` bytes: one page, and one unreferenced stream of random bytes."""
    rng = random.Random(seed)
    payload = rng.randbytes(max(0, size - 1200))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
         b"/Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length 44 >>\nstream\nBT /F1 18 Tf 72 720 Td (Evaluation) Tj ET\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.005)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chunks(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), CHUNK):
        yield data[i:i + CHUNK]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=20.0, help="file size in MB (default 20)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = big_pdf(int(args.mb * 1_000_000))
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(tempfile.mkdtemp(prefix="bench-attachments-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EXCHANGE_DATABASE_URL": f"sqlite://{folder / 'node.db'}", "EXCHANGE_NODE_URL": base,
           "EXCHANGE_LOG_LEVEL": "WARNING", "EXCHANGE_SYNC_INTERVAL": "0"}
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--demo", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    result: dict[str, Any] = {"file_mb": round(len(data) / 1e6, 2), "runs": args.runs}
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, (folder / "server.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the node did not start"
            time.sleep(0.5)
        token = subprocess.run(
            [sys.executable, "-m", "exchange", "tokens", "create", "--publisher", PUBLISHER, "--scope", "publish"],
            env=env, cwd=folder, check=True, capture_output=True, text=True, timeout=120,
        ).stdout.strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=120) as client:
            published = client.post("/graphql", headers=auth, json={"query": PUBLISH, "variables": {"input": {
                "kind": "PROJECT", "title": "Evaluation des Bürgerbusses", "summary": "Bericht mit Anhang."}}})
            uid = published.json()["data"]["publishEntry"]["entry"]["id"]
            time.sleep(2)
            idle = rss_kb(server.pid)
            sampler = Sampler(server.pid)
            sampler.start()
            ups, downs = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                r = client.post(f"/api/entries/{uid}/attachments", params={"title": "Bericht", "filename": "b.pdf"},
                                headers={**auth, "Content-Length": str(len(data))}, content=chunks(data))
                ups.append(time.perf_counter() - start)
                assert r.status_code == 201 and r.json()["digest"] == digest, r.text
                start = time.perf_counter()
                got = hashlib.sha256()
                with client.stream("GET", f"/attachments/{digest}") as response:
                    for part in response.iter_bytes(CHUNK):
                        got.update(part)
                downs.append(time.perf_counter() - start)
                assert got.hexdigest() == digest
                assert client.delete(f"/api/entries/{uid}/attachments/{digest}", headers=auth).status_code == 204
            sampler.running = False
            sampler.join()
        mb = len(data) / 1e6
        result.update({
            "upload_mb_s": round(mb / statistics.median(ups), 1),
            "download_mb_s": round(mb / statistics.median(downs), 1),
            "upload_mb_s_each": [round(mb / t, 1) for t in ups],
            "download_mb_s_each": [round(mb / t, 1) for t in downs],
            "server_idle_rss_mb": round(idle / 1024, 1),
            "server_peak_rss_mb": round(sampler.peak / 1024, 1),
            "server_peak_above_idle_mb": round((sampler.peak - idle) / 1024, 1),
        })
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
