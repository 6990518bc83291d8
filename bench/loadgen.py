"""A wrk-like HTTP/1.1 load generator that costs the machine little: keep-alive connections, requests
encoded once, responses read by Content-Length, in a process of its own that reports its own CPU time.

    python bench/loadgen.py SPEC_JSON          # or `-`: the spec from standard input
    python bench/loadgen.py --wrk SPEC_JSON    # the same spec, sent by `wrk` (Debian package wrk)

SPEC_JSON: {"url": "http://127.0.0.1:8000", "connections": 10, "seconds": 8, "max": 20000,
            "requests": [{"method": "POST", "path": "/graphql", "headers": {...}, "body": "...",
                          "status": 200}, ...]}
Requests are sent round-robin. A response counts as an error when its status is not the expected
one, or when a 200 answer to a POST has `"errors"` in its body. Prints one JSON object: requests,
errors, seconds, rps, p50_ms, p99_ms, client_cpu_ms_per_request. With --wrk, only the first request
is sent (wrk's Lua script sends one), wrk's own latency distribution gives p50 and p99, and errors
are the answers with an unexpected status class (its body is not read).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any
from urllib.parse import urlsplit


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def encode(host: str, request: dict[str, Any]) -> bytes:
    body = str(request.get("body", "")).encode()
    lines = [f"{request.get('method', 'GET')} {request.get('path', '/')} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in request.get("headers", {}).items()]
    if body or request.get("method") == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, await reader.readexactly(length or 0)


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    url = urlsplit(spec["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    requests = [(encode(f"{host}:{port}", r), r.get("status", 200), r.get("method", "GET") == "POST")
                for r in spec["requests"]]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + spec["seconds"]
    counter = iter(range(spec["max"]))

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in counter:
                now = time.perf_counter()
                if now > deadline:
                    return
                data, expected, post = requests[i % len(requests)]
                writer.write(data)
                status, body = await _read_response(reader)
                latencies.append((time.perf_counter() - now) * 1000)
                if status != expected or (post and status == 200 and b'"errors"' in body):
                    errors += 1
        finally:
            writer.close()

    start = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(connection() for _ in range(spec["connections"])))
    elapsed = time.perf_counter() - start
    used = time.process_time() - cpu
    return {"requests": len(latencies), "errors": errors, "seconds": round(elapsed, 2),
            "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 2), "p99_ms": round(percentile(latencies, 0.99), 2),
            "client": "asyncio", "client_cpu_ms_per_request": round(used * 1000 / max(1, len(latencies)), 3)}


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def load_with_wrk(spec: dict[str, Any]) -> dict[str, Any]:
    """The same measurement by `wrk` (one thread, `connections` keep-alive connections)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    request = spec["requests"][0]
    script = (f"wrk.method = {json.dumps(request.get('method', 'GET'))}\n"
              f"wrk.body = {json.dumps(request.get('body', ''))}\n"
              + "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n"
                        for k, v in request.get("headers", {}).items()))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [wrk, "-t1", f"-c{spec['connections']}", f"-d{max(1, round(spec['seconds']))}s", "--latency", "--timeout", "30s",
             "-s", f.name, spec["url"].rstrip("/") + request.get("path", "/")],
            capture_output=True, text=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(f.name)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec:" not in out or "Latency Distribution" not in out:
        raise RuntimeError(f"wrk failed ({done.returncode}): {out} {done.stderr}")
    # the percentiles of the distribution (the thread stats above have percentages too)
    distribution = out.split("Latency Distribution", 1)[1]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"requests": count, "errors": int(bad.group(1)) if bad else 0,
            "seconds": spec["seconds"],
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50_ms": round(_ms(re.search(r"^\s*50%\s+(\S+)", distribution, re.MULTILINE).group(1)), 2),  # type: ignore[union-attr]
            "p99_ms": round(_ms(re.search(r"^\s*99%\s+(\S+)", distribution, re.MULTILINE).group(1)), 2),  # type: ignore[union-attr]
            "client": "wrk", "client_cpu_ms_per_request": round(used * 1000 / max(1, count), 3)}


def main() -> None:
    args = sys.argv[1:]
    with_wrk = args[:1] == ["--wrk"]
    text = (args[1:] if with_wrk else args)[0]
    spec = json.loads(sys.stdin.read() if text == "-" else text)
    if with_wrk:
        print(json.dumps(load_with_wrk(spec)))
        return
    try:
        import uvloop
    except ImportError:
        print(json.dumps(asyncio.run(load(spec))))
    else:
        print(json.dumps(uvloop.run(load(spec))))


if __name__ == "__main__":
    main()
