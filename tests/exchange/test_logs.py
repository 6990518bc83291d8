"""Request ids and JSON log lines: taken or made, returned, in every line, on error pages; and a
real `exchange serve` with EXCHANGE_LOG_FORMAT=json writing its access lines as JSON with the id."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from exchange.db import Database
from exchange.errors import InvalidInputError
from exchange.logs import JsonFormatter, RequestIdFilter, log_config, take_or_make
from exchange.settings import load_settings
from tests.helpers import client_for


def test_a_sane_id_is_taken_anything_else_is_replaced() -> None:
    assert take_or_make("4bf92f3577b34da6a3ce929d0e0e4736") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert take_or_make("req-1.2:3_x") == "req-1.2:3_x"
    for bad in (None, "", "two words", "x" * 129, "line\nbreak", "<script>", "ü"):
        made = take_or_make(bad)
        assert made != bad and len(made) == 16 and int(made, 16) >= 0


async def test_the_id_is_returned_logged_and_shown_on_error_pages(db: Database, tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("exchange.federation")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        async with client_for(db, tmp_path) as client:
            sent = await client.post("/federation/hint", content=b"{}", headers={"X-Request-ID": "trace-42"})
            made = await client.post("/federation/hint", content=b"{}", headers={"X-Request-ID": "no good"})
            page = await client.get("/no-such-page", headers={"Accept": "text/html", "X-Request-ID": "page-7"})
            plain = await client.get("/healthz")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert sent.status_code == 401 and sent.headers["x-request-id"] == "trace-42"
    assert made.headers["x-request-id"] != "no good" and len(made.headers["x-request-id"]) == 16
    assert len(plain.headers["x-request-id"]) == 16
    assert page.status_code == 404 and page.headers["x-request-id"] == "page-7"
    assert "page-7" in page.text  # the reference for the operator is the request's id
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    refused = [line for line in lines if line["message"].startswith("hint refused")]
    assert [line["request_id"] for line in refused] == ["trace-42", made.headers["x-request-id"]]
    assert all(line["level"] == "INFO" and line["logger"] == "exchange.federation" for line in refused)


def test_json_lines_of_access_and_errors() -> None:
    formatter = JsonFormatter()
    access = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/healthz", "1.1", 200), None)
    line = json.loads(formatter.format(access))
    assert line["message"] == '127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200'
    assert (line["method"], line["path"], line["status"], line["client"]) == ("GET", "/healthz", 200, "127.0.0.1:5000")
    try:
        raise ValueError("kaputt")
    except ValueError:
        failed = logging.LogRecord("exchange", logging.ERROR, __file__, 1, "failed: %s", ("x",), sys.exc_info())
    line = json.loads(formatter.format(failed))
    assert line["message"] == "failed: x" and "ValueError: kaputt" in line["error"] and line["request_id"] is None
    assert log_config("json", "INFO")["formatters"]["line"] == {"()": "exchange.logs.JsonFormatter"}


def test_the_log_format_setting_is_checked() -> None:
    assert load_settings({"EXCHANGE_LOG_FORMAT": "JSON"}).log_format == "json"
    assert load_settings({}).log_format == "text"
    with pytest.raises(InvalidInputError, match="EXCHANGE_LOG_FORMAT must be text or json, not 'xml'"):
        load_settings({"EXCHANGE_LOG_FORMAT": "xml"})


@pytest.mark.slow
def test_a_served_node_logs_json_lines_with_request_ids(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")},
           "EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path / 'node.db'}", "EXCHANGE_NODE_URL": url,
           "EXCHANGE_SYNC_INTERVAL": "0", "EXCHANGE_LOG_FORMAT": "json", "EXCHANGE_LOG_LEVEL": "INFO"}
    log_path = tmp_path / "serve.err"
    with open(log_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    r = httpx.get(url + "/healthz", headers={"X-Request-ID": "probe-1"}, timeout=1)
                    if r.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            assert r.headers["x-request-id"] == "probe-1"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]  # every line JSON
    access = [line for line in lines if line["logger"] == "uvicorn.access" and line["request_id"] == "probe-1"]
    assert access and access[-1]["path"] == "/healthz" and access[-1]["status"] == 200
    assert any(line["logger"] == "uvicorn.error" and "startup complete" in line["message"] for line in lines)


def _command(tmp_path: Path, database: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    plain = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    return subprocess.run([sys.executable, "-m", "exchange", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False, env={**plain, "EXCHANGE_DATABASE_URL": database,
                                                         "EXCHANGE_NODE_URL": "http://node-a.test", **env})


@pytest.mark.slow  # three processes of the command line
def test_other_commands_log_json_lines_too(tmp_path: Path) -> None:
    done = _command(tmp_path, "sqlite://./node.db", "peers", "list", EXCHANGE_LOG_FORMAT="json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]  # every line JSON
    assert any(line["level"] == "INFO" and str(tmp_path / "node.db") in line["message"] for line in lines), lines

    # a command's one-line error is a JSON line too, and the exit code says it failed
    missing = f"sqlite://{tmp_path / 'nowhere' / 'node.db'}"
    done = _command(tmp_path, missing, "peers", "list", EXCHANGE_LOG_FORMAT="json")
    assert done.returncode == 1
    [line] = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert line["level"] == "ERROR" and "nowhere" in line["message"] and "EXCHANGE_DATABASE_URL" in line["message"]

    # text stays text
    done = _command(tmp_path, missing, "peers", "list")
    assert done.returncode == 1 and done.stderr.startswith("Error: ") and len(done.stderr.splitlines()) == 1
