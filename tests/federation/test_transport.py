"""HTTPS between nodes: plain HTTP only on loopback, or when a closed network allows it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from exchange.cli import main
from exchange.errors import InvalidInputError
from exchange.settings import load_settings
from federation.client import PeerClient
from federation.errors import InsecureTransportError
from federation.identity import NodeKey
from tests.federation.fednodes import Net, close_all, make_node

KEY = NodeKey.generate("https://us.example.org")


def client(allow_plain_http: bool = False) -> tuple[PeerClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503)
    return PeerClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), KEY,
                      allow_plain_http=allow_plain_http), sent


@pytest.mark.parametrize("url", ["http://peer.example.org", "http://10.0.0.7:8000", "http://[2001:db8::1]"])
async def test_plain_http_outside_loopback_is_refused_before_anything_is_sent(url: str) -> None:
    peer, sent = client()
    for call in (peer.descriptor(url), peer.changes(url, None, peer_key=KEY.public_key_b64), peer.hint(url)):
        with pytest.raises(InsecureTransportError, match="plain HTTP .* refused.*EXCHANGE_ALLOW_PLAIN_HTTP"):
            await call
    assert sent == []


@pytest.mark.parametrize("url", ["https://peer.example.org", "http://127.0.0.1:8001", "http://127.8.0.1",
                                 "http://localhost:8002", "http://[::1]:8003"])
async def test_https_and_loopback_are_allowed(url: str) -> None:
    peer, sent = client()
    with pytest.raises(Exception) as caught:
        await peer.descriptor(url)
    assert getattr(caught.value, "code", "") == "PEER_UNREACHABLE" and len(sent) == 1


async def test_a_closed_network_may_allow_plain_http() -> None:
    peer, sent = client(allow_plain_http=True)
    with pytest.raises(Exception) as caught:
        await peer.descriptor("http://peer.example.org")
    assert getattr(caught.value, "code", "") == "PEER_UNREACHABLE" and len(sent) == 1
    assert load_settings({"EXCHANGE_ALLOW_PLAIN_HTTP": "true"}).allow_plain_http is True
    assert load_settings({}).allow_plain_http is False
    with pytest.raises(InvalidInputError, match="EXCHANGE_ALLOW_PLAIN_HTTP must be true or false"):
        load_settings({"EXCHANGE_ALLOW_PLAIN_HTTP": "perhaps"})


async def test_a_node_does_not_pull_over_plain_http_by_default(tmp_path: Path) -> None:
    net = Net()
    a = await make_node(tmp_path, "a", net, settings={"allow_plain_http": False})
    b = await make_node(tmp_path, "b", net)
    await b.add_peer(a)

    async def pin() -> None:
        from exchange.models import Peer
        await Peer.create(url=b.url, name="B", public_key=b.node.key.public_key_b64, key_id=b.node.key.key_id,
                          created_at=a.federation.clock())
    await a.run(pin)
    await b.publish("Eins")
    report = await a.pull(b)
    assert report.error_code == "INSECURE_TRANSPORT" and "plain HTTP" in report.error
    assert not any(r.url.host == "b.test" for r in net.requests)
    assert await a.entries() == {}
    await close_all(a, b)


def test_peers_add_refuses_plain_http_in_one_line(tmp_path: Path) -> None:
    env = {"EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path / 'node.db'}",
           "EXCHANGE_NODE_URL": "https://us.example.org", "EXCHANGE_KEY_FILE": str(tmp_path / "node.key")}
    result = CliRunner().invoke(main, ["peers", "add", "http://peer.example.org"], env=env)
    assert result.exit_code != 0
    assert "plain HTTP to a node outside loopback is refused" in result.output
    errors = [line for line in result.output.splitlines() if not line.startswith("database: ")]
    assert "Traceback" not in result.output and len(errors) == 1
