"""One configuration for the server and the commands: environment over exchange.toml.

`exchange serve --port P` in one terminal and `exchange sync` in the next are
the same node: the URL the server serves is the id the command signs with.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from exchange.errors import InvalidInputError
from exchange.settings import Settings, configuration, load_settings, served_node_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    return {**env, "EXCHANGE_SYNC_INTERVAL": "0", "EXCHANGE_LOG_LEVEL": "WARNING", **extra}


def cli(cwd: Path, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exchange", *args], env=clean_env(**env), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


Servers = list[tuple[subprocess.Popen[bytes], BinaryIO]]


@pytest.fixture
def servers() -> Iterator[Servers]:
    started: Servers = []
    yield started
    for proc, log in started:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def serve(cwd: Path, port: int, servers: Servers) -> None:
    log = open(cwd / "serve.log", "wb")  # noqa: SIM115 - closed by the fixture
    proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(port)],
                            env=clean_env(), cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    servers.append((proc, log))
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, (cwd / "serve.log").read_text()
        time.sleep(0.2)


@pytest.mark.slow
def test_serve_on_a_port_and_sync_from_the_next_terminal(
        tmp_path: Path, servers: Servers) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    port_a, port_b = free_port(), free_port()
    serve(a, port_a, servers)
    serve(b, port_b, servers)
    assert f'node_url = "http://127.0.0.1:{port_a}"' in (a / "exchange.toml").read_text()
    added = cli(b, "peers", "add", f"http://127.0.0.1:{port_a}")
    assert added.returncode == 0, added.stderr
    added = cli(a, "peers", "add", f"http://127.0.0.1:{port_b}")
    assert added.returncode == 0, added.stderr
    synced = cli(a, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f"http://127.0.0.1:{port_b}: 0 applied" in synced.stdout


def test_serve_refuses_a_port_the_configured_url_does_not_name(tmp_path: Path) -> None:
    done = cli(tmp_path, "init", "--node-url", "http://127.0.0.1:8000", "--name", "Kreis")
    assert done.returncode == 0, done.stderr
    started = time.monotonic()
    refused = cli(tmp_path, "serve", "--port", "18101")
    assert refused.returncode != 0 and time.monotonic() - started < 5
    assert "http://127.0.0.1:8000" in refused.stderr and "--port 18101" in refused.stderr
    assert f"node_url in {tmp_path / 'exchange.toml'}" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr


def test_init_writes_the_file_every_command_reads(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    done = cli(tmp_path, "init", "--node-url", "https://node.kreis.example/", "--name", "Kreis",
               "--database", "sqlite://data/node.db")
    assert done.returncode == 0, done.stderr
    toml = tmp_path / "data" / "exchange.toml"
    assert (tmp_path / "data" / "node.db").is_file() and (tmp_path / "data" / "node.key").is_file()
    settings = configuration({"EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path / 'data' / 'node.db'}"}, cwd=tmp_path)
    assert settings.config_file == str(toml)
    assert (settings.node_url, settings.node_name) == ("https://node.kreis.example", "Kreis")
    assert settings.resolved_key_file == tmp_path / "data" / "node.key"
    again = cli(tmp_path, "init", "--node-url", "https://x.example", "--database", "sqlite://data/node.db")
    assert again.returncode != 0 and "exists already" in again.stderr


def test_the_environment_overrides_the_file_and_paths_resolve_beside_it(tmp_path: Path) -> None:
    (tmp_path / "exchange.toml").write_text(
        'node_url = "https://a.example"\ndatabase_url = "sqlite://node.db"\nkey_file = "keys/node.key"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"EXCHANGE_CONFIG": str(tmp_path / "exchange.toml"), "EXCHANGE_NODE_NAME": "Env"}
    s = configuration(env, cwd=elsewhere)
    assert s.database_url == f"sqlite://{tmp_path / 'node.db'}"
    assert s.key_file == str(tmp_path / "keys" / "node.key")
    assert (s.node_url, s.node_name) == ("https://a.example", "Env")
    assert s.origin("node_name") == "EXCHANGE_NODE_NAME"
    assert s.origin("node_url") == f"node_url in {tmp_path / 'exchange.toml'}"


@pytest.mark.parametrize(("text", "message"), [
    ("node_urll = 'x'\n", "unknown setting 'node_urll'"),
    ("node_url = \n", "not valid TOML"),
    ("sync_interval = true\n", "string or a number"),
])
def test_a_bad_file_is_named(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "exchange.toml").write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        configuration({}, cwd=tmp_path)


@pytest.mark.parametrize(("settings", "host", "port", "explicit", "expected"), [
    (Settings(), "127.0.0.1", 18101, None, ("http://127.0.0.1:18101", True)),
    (Settings(), "127.0.0.1", 8000, "https://n.example/", ("https://n.example", True)),
    (load_settings({"EXCHANGE_NODE_URL": "https://n.example"}), "127.0.0.1", 8001, None,
     ("https://n.example", False)),
    (load_settings({"EXCHANGE_NODE_URL": "http://127.0.0.1:8001"}), "127.0.0.1", 8001, None,
     ("http://127.0.0.1:8001", False)),
    (load_settings({"EXCHANGE_NODE_URL": "http://127.0.0.1:8000"}), "127.0.0.1", 18101, None,
     "names this machine on another port"),
    (load_settings({"EXCHANGE_NODE_URL": "https://n.example"}), "127.0.0.1", 8000, "https://m.example",
     "differs from the configured node URL"),
    (load_settings({"EXCHANGE_NODE_URL": "https://127.0.0.1:8443"}), "127.0.0.1", 8001, None,
     ("https://127.0.0.1:8443", False)),  # behind a proxy on this machine
    (Settings(), "0.0.0.0", 8000, None, "listens on every address"),
])
def test_the_served_url(settings: Settings, host: str, port: int, explicit: str | None,
                        expected: tuple[str, bool] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(InvalidInputError, match=expected):
            served_node_url(settings, host, port, explicit)
    else:
        assert served_node_url(settings, host, port, explicit) == expected
