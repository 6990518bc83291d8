"""The deployment kit in deploy/, each file exercised.

- install.sh installs the exchange into a clean virtual environment (what the
  container image runs), and its `exchange` command works;
- the Containerfile runs install.sh, as a non-root user, with data and key in
  one volume and a health check on /healthz; the compose file starts the node
  after PostgreSQL and lets it wait for the database;
- the systemd unit passes `systemd-analyze verify`;
- nginx.conf (Debian's nginx, a locally generated certificate) in front of a
  real node: pages, GraphQL, the http -> https redirect, Secure cookies,
  redirects of the node, and signed federation requests whose signature
  covers the public https URL (a second node pulls through the proxy).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_image_runs_install_sh_as_a_non_root_user_with_one_volume_and_a_health_check() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    assert "RUN /src/deploy/install.sh /src /opt/exchange" in text
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and user[-1] not in ("root", "0")
    assert re.findall(r"^VOLUME (\S+)", text, re.MULTILINE) == ["/data"]
    assert "EXCHANGE_DATABASE_URL=sqlite:///data/" in text and "EXCHANGE_KEY_FILE=/data/" in text
    health = re.search(r"^HEALTHCHECK .*\n.*$", text, re.MULTILINE)
    assert health and "http://127.0.0.1:8000/healthz" in health.group(0)
    assert '"--proxy-headers"' in text


def test_compose_waits_for_postgres_and_keeps_the_key_in_the_volume() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    node, db = compose["services"]["node"], compose["services"]["db"]
    assert db["image"].startswith("docker.io/library/postgres:")
    assert node["build"]["dockerfile"] == "deploy/Containerfile"
    env = node["environment"]
    assert env["EXCHANGE_DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["EXCHANGE_DATABASE_URL"]
    assert float(env["EXCHANGE_DATABASE_WAIT"]) >= 60
    assert env["EXCHANGE_KEY_FILE"].startswith("/data/") and "data:/data" in node["volumes"]
    assert "db" in node["depends_on"]


def test_a_starting_node_waits_for_postgres_and_says_so(tmp_path: Path) -> None:
    """What the compose start meets: PostgreSQL not yet listening; the node logs each retry, then gives up."""
    port = free_port()
    env = {**os.environ, "EXCHANGE_DATABASE_URL": f"postgres://exchange:x@127.0.0.1:{port}/exchange",
           "EXCHANGE_DATABASE_WAIT": "5", "EXCHANGE_NODE_URL": "https://exchange.example.org"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "exchange", "serve", "--port", str(free_port())], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    took = time.monotonic() - started
    assert done.returncode != 0 and 4 < took < 15, (took, done.stderr)
    retries = [line for line in done.stderr.splitlines() if "retrying in 2 s" in line]
    assert len(retries) >= 2 and f"127.0.0.1:{port} refused the connection" in retries[0]
    assert "EXCHANGE_DATABASE_WAIT" in retries[0] and "Traceback" not in done.stderr


@pytest.mark.slow
def test_install_sh_installs_a_working_command_into_a_clean_venv(tmp_path: Path) -> None:
    prefix = tmp_path / "venv"
    done = subprocess.run([str(DEPLOY / "install.sh"), str(ROOT), str(prefix)], capture_output=True, text=True,
                          timeout=900, check=False, env={**os.environ, "PYTHON": sys.executable})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"into {prefix}" in done.stdout
    helped = subprocess.run([str(prefix / "bin" / "exchange"), "--help"], capture_output=True, text=True,
                            timeout=60, check=False, cwd=tmp_path)
    assert helped.returncode == 0 and "EXCHANGE_DATABASE_URL" in helped.stdout


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (Debian: apt-get install systemd)")
    unit = (DEPLOY / "exchange.service").read_text()
    # verify wants the program to exist: point it at this interpreter's exchange command
    command = Path(sys.executable).parent / "exchange"
    assert "ExecStart=/opt/exchange/bin/exchange serve" in unit
    (tmp_path / "exchange.service").write_text(unit.replace("/opt/exchange/bin/exchange", str(command)))
    done = subprocess.run([analyze, "verify", str(tmp_path / "exchange.service")], capture_output=True,
                          text=True, timeout=60, check=False)
    problems = [line for line in done.stderr.splitlines() if "exchange.service" in line]
    assert done.returncode == 0 and not problems, done.stderr


# -- behind nginx ------------------------------------------------------------------------------------


def certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def nginx_config(folder: Path, http_port: int, https_port: int, upstream: int, cert: Path, key: Path) -> Path:
    site = (DEPLOY / "nginx.conf").read_text()
    for old, new in (("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                     ("exchange.example.org", "127.0.0.1"),
                     ("/etc/ssl/exchange/fullchain.pem", str(cert)),
                     ("/etc/ssl/exchange/privkey.pem", str(key)),
                     ("http://127.0.0.1:8000", f"http://127.0.0.1:{upstream}")):
        assert old in site, old
        site = site.replace(old, new)
    temp = "\n".join(f"{name}_temp_path {folder / name};" for name in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = folder / "nginx.conf"
    conf.write_text(("user root;\n" if os.geteuid() == 0 else "") +
                    f"daemon off;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
                    f"events {{}}\nhttp {{\naccess_log off;\n{temp}\n{site}\n}}\n")
    return conf


class Node:
    def __init__(self, folder: Path, port: int, url: str) -> None:
        self.folder, self.port, self.url = folder, port, url
        folder.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: BinaryIO | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
        return {**env, "EXCHANGE_DATABASE_URL": f"sqlite://{self.folder / 'node.db'}", "EXCHANGE_NODE_URL": self.url,
                "EXCHANGE_SYNC_INTERVAL": "0", "EXCHANGE_LOG_LEVEL": "WARNING", **extra}

    def start(self) -> None:
        self.log = (self.folder / "serve.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "exchange", "serve", "--port", str(self.port),
                                      "--proxy-headers"], env=self.env(), cwd=self.folder, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, (self.folder / "serve.log").read_text()
            time.sleep(0.2)

    def cli(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "exchange", *args], env=self.env(**extra), cwd=self.folder,
                              capture_output=True, text=True, timeout=120, check=False)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        if self.log is not None:
            self.log.close()


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[tuple[Node, Node, Path]]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None:
        pytest.fail("nginx is missing: install Debian's nginx (apt-get install -y nginx)")
    cert, key = certificate(tmp_path)
    http_port, https_port, upstream = free_port(), free_port(), free_port()
    a = Node(tmp_path / "a", upstream, f"https://127.0.0.1:{https_port}")
    b = Node(tmp_path / "b", free_port(), "")
    b.url = f"http://127.0.0.1:{b.port}"
    conf = nginx_config(tmp_path, http_port, https_port, upstream, cert, key)
    with (tmp_path / "nginx.out").open("wb") as out:
        proxy = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp_path)], stdout=out, stderr=subprocess.STDOUT)
        try:
            a.start()
            b.start()
            yield a, b, cert
        finally:
            for node in (a, b):
                node.stop()
            proxy.terminate()
            proxy.wait(timeout=20)


@pytest.mark.slow
def test_a_node_behind_nginx_with_https(behind_nginx: tuple[Node, Node, Path]) -> None:
    a, b, cert = behind_nginx
    http_port = int(re.search(r"listen 127.0.0.1:(\d+);", (a.folder.parent / "nginx.conf").read_text())[1])  # type: ignore[index]
    with httpx.Client(base_url=a.url, verify=ssl.create_default_context(cafile=str(cert)), timeout=10) as client:
        home = client.get("/")
        assert home.status_code == 200 and "text/html" in home.headers["content-type"]
        answer = client.post("/graphql", json={"query": "{ node { id name } }"})
        assert answer.status_code == 200 and answer.json()["data"]["node"]["id"] == a.url
        # the sign-in form opens a session: its cookie is Secure behind https
        signin = client.get("/publish")
        assert signin.status_code == 200
        cookies = signin.headers.get_list("set-cookie")
        session = [c for c in cookies if "csrf" in c.lower() or "session" in c.lower()] or cookies
        assert session and all("Secure" in c and "HttpOnly" in c for c in session), cookies
        csrf = re.search(r'name="csrf" value="([^"]+)"', signin.text)
        assert csrf
        out = client.post("/publish/signout", data={"csrf": csrf[1]}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] in ("/", f"{a.url}/")
        assert client.get(out.headers["location"]).status_code == 200
    plain = httpx.get(f"http://127.0.0.1:{http_port}/entries?x=1", follow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["location"] == "https://127.0.0.1/entries?x=1"
    # signed federation through the proxy: B pulls A's feed at A's public https URL
    trust = {"SSL_CERT_FILE": str(cert)}
    pinned = b.cli("peers", "add", a.url, **trust)
    assert pinned.returncode == 0, pinned.stderr
    known = a.cli("peers", "add", b.url)
    assert known.returncode == 0, known.stderr
    synced = b.cli("sync", **trust)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f"{a.url}: 0 applied" in synced.stdout
    back = a.cli("sync")
    assert back.returncode == 0, back.stdout + back.stderr
    # /metrics: the proxy forwards the client's address, so a reader from elsewhere is refused
    # (no token configured); on the node's own machine it is read, and the peer shows
    with httpx.Client(base_url=a.url, verify=ssl.create_default_context(cafile=str(cert)), timeout=10) as client:
        refused = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert refused.status_code == 403, refused.text
        # the proxy names each request: the node logs and returns nginx's id
        traced = client.get("/healthz", headers={"X-Request-ID": "from-the-client"})
        assert re.fullmatch(r"[0-9a-f]{32}", traced.headers["x-request-id"]), traced.headers
    local = httpx.get(f"http://127.0.0.1:{a.port}/metrics", timeout=10)
    assert local.status_code == 200
    assert f'exchange_peer_failures{{peer="{b.url}"}} 0.0' in local.text


def test_nginx_lets_the_largest_attachment_through() -> None:
    """nginx refuses a larger body itself, with its own page instead of the node's message."""
    from exchange.settings import Settings

    size = re.search(r"client_max_body_size (\d+)m;", (DEPLOY / "nginx.conf").read_text())
    assert size and int(size[1]) * 1024 * 1024 > Settings().attachment_max_bytes


def test_the_readmes_settings_file_reads_alike_in_the_shell(tmp_path: Path) -> None:
    """The README's /etc/exchange/exchange.env is read by systemd and, for commands, by sh."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"exchange\.env <<'ENV'\n(.*?)\nENV\n", readme, re.DOTALL)
    assert block
    (tmp_path / "exchange.env").write_text(block[1] + "\n")
    done = subprocess.run(["sh", "-c", 'set -a && . "$1" && printf "%s|%s" "$EXCHANGE_NODE_NAME" "$EXCHANGE_NODE_URL"',
                           "sh", str(tmp_path / "exchange.env")], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert done.stdout == "Digitalnetz Kreis Beispiel|https://exchange.kreis-beispiel.de"


def test_the_caddyfile_is_valid(tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed here (Debian: apt-get install caddy; .ci/run installs it)")
    site = (DEPLOY / "Caddyfile").read_text()
    assert "reverse_proxy 127.0.0.1:8000" in site
    done = subprocess.run([caddy, "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
                          capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
                          env={**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)})
    assert done.returncode == 0 and "Valid configuration" in done.stdout + done.stderr, done.stderr
