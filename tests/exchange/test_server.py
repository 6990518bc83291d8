"""Slow clients against a real `exchange serve` process, over raw sockets.

With EXCHANGE_READ_TIMEOUT=1: a request whose headers trickle in, a body that
stalls half way, and a connection that never says anything are each ended
within seconds (408 where part of a request arrived), while a client that
sends a whole request at once is answered as ever, also on a kept-alive
connection after a pause.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 1.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("slow")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EXCHANGE_DATABASE_URL": f"sqlite://{folder / 'n.db'}",
           "EXCHANGE_NODE_URL": f"http://127.0.0.1:{port}", "EXCHANGE_SYNC_INTERVAL": "0",
           "EXCHANGE_LOG_LEVEL": "WARNING", "EXCHANGE_READ_TIMEOUT": str(TIMEOUT)}
    with open(folder / "serve.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, (folder / "serve.log").read_text()
                time.sleep(0.2)
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(10)  # far above TIMEOUT: a server that never gives up fails the test
    return sock


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_response(sock: socket.socket) -> bytes:
    """One whole response on a kept-alive connection (head, then content-length bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def trickle(sock: socket.socket, data: bytes, pause: float) -> bool:
    """Send `data` a byte at a time; False once the server closed the connection."""
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return False
        time.sleep(pause)
    return True


@pytest.mark.slow
def test_trickled_headers_get_408(server: int) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        trickle(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200, 0.05)
        answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"REQUEST_TIMEOUT" in answer and b"headers" in answer
        assert time.monotonic() - started < 5 * TIMEOUT + 2


@pytest.mark.slow
def test_a_stalled_body_gets_408(server: int) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"query\": \"")
        answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"body" in answer
        assert time.monotonic() - started < 3 * TIMEOUT + 2


@pytest.mark.slow
def test_a_silent_connection_is_closed(server: int) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""
        assert time.monotonic() - started < 3 * TIMEOUT + 2


@pytest.mark.slow
def test_whole_requests_are_answered_also_after_a_pause(server: int) -> None:
    with connect(server) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = read_response(sock)
            assert head.startswith(b"HTTP/1.1 200 "), head[:200]
            time.sleep(TIMEOUT * 1.5)  # longer than the read timeout, shorter than keep-alive (5 s)
        body = b'{"query": "{ entries(first: 1) { totalCount } }"}'
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        answer = read_response(sock)
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
