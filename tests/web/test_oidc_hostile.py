"""The OpenID client against a hostile provider: every bad answer is refused with a named reason.

A fake provider (httpx.MockTransport, as for hostile peers) signs ID tokens
with its own RSA key and serves discovery, keys and the token endpoint; each
case bends one thing. The real provider, end to end, is in test_oidc_browser.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from exchange.accounts.models import Person
from exchange.db import Database
from exchange.models import WebSession
from exchange.web.oidc import OidcClient, OidcError, Pending
from tests.web.webkit import Content, page_client, populate

ISSUER = "https://idp.example"
CLIENT = "exchange-node"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
PENDING = Pending(state="s" * 20, nonce="n" * 20, verifier="v" * 50)


def provider(claims: Callable[[dict[str, Any]], dict[str, Any]] = lambda c: c, *, key: RSAKey = KEY,
             token_body: Callable[[str], bytes] | None = None, discovery_issuer: str = ISSUER) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": discovery_issuer, "authorization_endpoint": f"{ISSUER}/auth",
                                             "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks"})
        if path == "/jwks":
            return httpx.Response(200, json={"keys": [KEY.as_dict(private=False)]})
        if path == "/token":
            now = int(time.time())
            base = {"iss": ISSUER, "sub": "u1", "aud": CLIENT, "iat": now, "exp": now + 300, "nonce": PENDING.nonce,
                    "email": "erika@kisselbach.example", "email_verified": True, "name": "Erika"}
            token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims(base), key)
            if token_body is not None:
                return httpx.Response(200, content=token_body(token))
            return httpx.Response(200, json={"access_token": "a", "token_type": "Bearer", "id_token": token})
        return httpx.Response(404)

    return httpx.MockTransport(handler)


def client_of(transport: httpx.BaseTransport) -> OidcClient:
    return OidcClient(ISSUER, CLIENT, "secret", "http://node-a.test/signin/oidc/callback",
                      httpx.AsyncClient(transport=transport))


CALLBACK = {"state": PENDING.state, "code": "c"}


async def test_a_good_answer_gives_the_identity() -> None:
    identity = await client_of(provider()).finish(CALLBACK, PENDING)
    assert (identity.issuer, identity.subject, identity.email, identity.email_verified) == (
        ISSUER, "u1", "erika@kisselbach.example", True)


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused")


@pytest.mark.parametrize(("case", "transport", "params", "reason"), [
    ("tampered state", provider(), {**CALLBACK, "state": "x" * 20}, "state differs"),
    ("wrong nonce", provider(lambda c: {**c, "nonce": "other"}), CALLBACK, "nonce does not match"),
    ("another issuer", provider(lambda c: {**c, "iss": "https://evil.example"}), CALLBACK,
     "issued by another identity provider"),
    ("another client", provider(lambda c: {**c, "aud": "someone-else"}), CALLBACK, "for another client"),
    ("expired", provider(lambda c: {**c, "exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
     CALLBACK, "expired"),
    ("forged signature", provider(key=OTHER_KEY), CALLBACK, "signature does not verify"),
    ("garbage token answer", provider(token_body=lambda t: b"<html>oops</html>"), CALLBACK, "not JSON"),
    ("no ID token", provider(token_body=lambda t: b'{"access_token": "a"}'), CALLBACK, "no ID token"),
    ("malformed ID token", provider(token_body=lambda t: b'{"id_token": "abc.def"}'), CALLBACK, "ID token"),
    ("discovery of another issuer", provider(discovery_issuer="https://evil.example"), CALLBACK,
     "calls itself https://evil.example"),
    ("provider down", httpx.MockTransport(down), CALLBACK, "cannot be reached"),
    ("error from the provider", provider(), {"error": "access_denied", "error_description": "User cancelled"},
     "User cancelled"),
])
async def test_each_bad_answer_is_refused_with_its_reason(
    case: str, transport: httpx.MockTransport, params: dict[str, str], reason: str
) -> None:
    with pytest.raises(OidcError) as refused:
        await client_of(transport).finish(params, PENDING)
    assert reason in refused.value.message, refused.value.message


@pytest.fixture
async def content(db: Database, tmp_path: Path) -> Content:
    content = await populate(db, tmp_path)
    node = content.node
    object.__setattr__(node, "settings", node.settings.with_(oidc_issuer=ISSUER, oidc_client_id=CLIENT,
                                                             oidc_client_secret="secret"))
    return content


@pytest.mark.parametrize("bend", ["nothing", "nonce", "iss", "exp"])
async def test_a_refused_callback_is_an_error_page_and_no_session(content: Content, db: Database, bend: str) -> None:
    now = int(time.time())
    bent = {"nothing": None, "nonce": "other", "iss": "https://evil.example", "exp": now - 3600}[bend]
    await Person.create(email="erika@kisselbach.example", display_name="Erika", created_at=__import__(
        "datetime").datetime.now(__import__("datetime").UTC))
    async with page_client(content, db) as browser:
        web = content.node.extra["web"]
        content.node.extra["oidc_http"] = httpx.AsyncClient(
            transport=provider(lambda c: c if bent is None else {**c, bend: bent}))
        start = await browser.get("/signin/oidc")
        assert start.status_code == 303 and start.headers["location"].startswith(f"{ISSUER}/auth?")
        state = httpx.URL(start.headers["location"]).params["state"]
        # The fake provider signs the nonce of PENDING; make the browser's cookie carry PENDING's.
        from itsdangerous import URLSafeTimedSerializer

        value = URLSafeTimedSerializer(web.cookie_secret, salt="exchange-oidc").dumps(
            [state, PENDING.nonce, PENDING.verifier])
        browser.cookies.set("exchange_oidc", value, path="/signin/oidc")
        r = await browser.get(f"/signin/oidc/callback?state={state}&code=c")
        if bent is None:  # the same path with nothing bent signs in
            assert r.status_code == 303 and r.headers["location"] == "/account", r.text
            assert await WebSession.filter(person_id__not_isnull=True, ended_at=None).count() == 1
            assert (await Person.get(email="erika@kisselbach.example")).oidc_subject == "u1"
            return
        assert r.status_code == 401, r.text
        assert "Anmeldung fehlgeschlagen" in r.text or "Sign-in failed" in r.text
        tampered = await browser.get("/signin/oidc/callback?state=tampered&code=c")
        assert tampered.status_code == 401 and "state" in tampered.text
    assert await WebSession.filter(person_id__not_isnull=True).count() == 0


async def test_an_unreachable_provider_is_a_clear_page(content: Content, db: Database) -> None:
    async with page_client(content, db) as browser:
        content.node.extra["oidc_http"] = httpx.AsyncClient(transport=httpx.MockTransport(down))
        r = await browser.get("/signin/oidc")
    assert r.status_code == 502 and "cannot be reached" in r.text
