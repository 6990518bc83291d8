"""Sign-in through the alliance's OpenID provider: authorization code flow with PKCE.

The protocol pieces are Authlib's (the authorization request, PKCE S256,
the ID token's claims: issuer, audience, expiry, nonce) and joserfc's (the
ID token's signature against the issuer's JWKS); this module does the HTTP
with the httpx client it is given and nothing else. `begin` makes the
request and the `Pending` values (state, nonce, code verifier) that the
browser carries in a signed, short-lived cookie; `finish` checks the answer
against them and returns the verified identity. Every failure, including a
provider that is down or answers garbage, is an `OidcError` with a message
naming the problem; no session exists until `finish` succeeded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from exchange.errors import ExchangeError

DISCOVERY_TTL = 3600.0  # seconds a provider's configuration and keys are kept
ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


class OidcError(ExchangeError):
    code = "SIGN_IN_FAILED"


@dataclass(frozen=True)
class Pending:
    """What the browser keeps between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class OidcClient:
    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str,
                 http: httpx.AsyncClient) -> None:
        self.issuer, self.client_id, self.client_secret = issuer.rstrip("/"), client_id, client_secret
        self.redirect_uri, self.http = redirect_uri, http
        self._config: tuple[float, ProviderConfig] | None = None
        self._keys: tuple[float, KeySet] | None = None

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url, timeout=10.0)
        except httpx.HTTPError as exc:
            raise OidcError(f"the identity provider cannot be reached ({what}: {type(exc).__name__})") from None
        return _json_of(response, what)

    async def config(self) -> ProviderConfig:
        if self._config is not None and time.monotonic() - self._config[0] < DISCOVERY_TTL:
            return self._config[1]
        data = await self._get_json(f"{self.issuer}/.well-known/openid-configuration", "discovery")
        try:
            config = ProviderConfig(str(data["issuer"]).rstrip("/"), str(data["authorization_endpoint"]),
                                    str(data["token_endpoint"]), str(data["jwks_uri"]))
        except KeyError as exc:
            raise OidcError(f"the identity provider's discovery document lacks {exc.args[0]}") from None
        if config.issuer != self.issuer:
            raise OidcError(f"the identity provider calls itself {config.issuer}, not {self.issuer}")
        self._config = (time.monotonic(), config)
        return config

    async def _key_set(self, config: ProviderConfig, *, fresh: bool = False) -> KeySet:
        if not fresh and self._keys is not None and time.monotonic() - self._keys[0] < DISCOVERY_TTL:
            return self._keys[1]
        data = await self._get_json(config.jwks_uri, "keys")
        try:
            keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise OidcError(f"the identity provider's keys (JWKS) cannot be read: {exc}") from None
        self._keys = (time.monotonic(), keys)
        return keys

    async def begin(self) -> tuple[str, Pending]:
        """The URL to send the browser to, and what it must bring back."""
        config = await self.config()
        pending = Pending(state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64))
        url = prepare_grant_uri(
            config.authorization_endpoint, self.client_id, "code", redirect_uri=self.redirect_uri,
            scope="openid email profile", state=pending.state, nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.verifier), code_challenge_method="S256",
        )
        return str(url), pending

    async def finish(self, params: dict[str, str], pending: Pending, *, now: float | None = None) -> Identity:
        """Check the provider's answer (the callback's query) and redeem its code."""
        if params.get("error"):
            detail = params.get("error_description") or params["error"]
            raise OidcError(f"the identity provider did not sign you in: {detail[:200]}")
        if params.get("state") != pending.state:
            raise OidcError("the sign-in answer does not belong to the sign-in this browser started "
                            "(state differs); please start again")
        code = params.get("code")
        if not code:
            raise OidcError("the identity provider's answer has no authorization code")
        config = await self.config()
        try:
            response = await self.http.post(
                config.token_endpoint, timeout=10.0, auth=(self.client_id, self.client_secret),
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                      "code_verifier": pending.verifier},
            )
        except httpx.HTTPError as exc:
            raise OidcError(f"the identity provider cannot be reached (token: {type(exc).__name__})") from None
        tokens = _json_of(response, "token")
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the identity provider's answer has no ID token")
        claims = await self._verified(config, id_token)
        validator = CodeIDToken(claims, {}, options={
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.client_id},
            "sub": {"essential": True},
        }, params={"nonce": pending.nonce, "client_id": self.client_id})
        try:
            validator.validate(now=int(now if now is not None else time.time()), leeway=30)
        except JoseError as exc:
            raise OidcError(f"the ID token was refused: {_claim_problem(exc)}") from None
        return Identity(issuer=self.issuer, subject=str(claims["sub"]), email=str(claims.get("email") or ""),
                        email_verified=claims.get("email_verified") is True,
                        name=str(claims.get("name") or claims.get("preferred_username") or ""))

    async def _verified(self, config: ProviderConfig, id_token: str) -> dict[str, Any]:
        for fresh in (False, True):  # a key the provider rolled over since: fetch the keys again once
            keys = await self._key_set(config, fresh=fresh)
            try:
                return dict(jwt.decode(id_token, keys, algorithms=ALGORITHMS).claims)
            except JoseError as exc:
                if fresh or "key" not in type(exc).__name__.lower() and "key" not in str(exc).lower():
                    raise OidcError(f"the ID token's signature does not verify with the provider's keys: "
                                    f"{exc.error}") from None
            except ValueError as exc:
                raise OidcError(f"the ID token is malformed: {exc}") from None
        raise OidcError("the ID token's signature does not verify with the provider's keys")


def _json_of(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        detail = ""
        try:
            body = response.json()
            detail = f": {body.get('error_description') or body.get('error')}" if isinstance(body, dict) else ""
        except ValueError:
            pass
        raise OidcError(f"the identity provider answered {response.status_code} ({what}){detail}"[:300])
    try:
        data = response.json()
    except ValueError:
        raise OidcError(f"the identity provider answered something that is not JSON ({what})") from None
    if not isinstance(data, dict):
        raise OidcError(f"the identity provider answered JSON that is not an object ({what})")
    return data


def _claim_problem(exc: JoseError) -> str:
    name = type(exc).__name__
    claim = getattr(exc, "claim", None) or str(exc)
    if name == "ExpiredTokenError":
        return "it has expired"
    if "nonce" in str(claim):
        return "its nonce does not match this sign-in (replayed?)"
    if "iss" in str(claim):
        return "it was issued by another identity provider"
    if "aud" in str(claim):
        return "it was issued for another client"
    return f"{exc.error}: {exc.description or claim}"
