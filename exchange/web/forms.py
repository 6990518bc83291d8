"""Sign-in, the session cookie and CSRF tokens of the web forms.

A publisher signs in with an API token. The session is a cookie signed with
the node's secret (itsdangerous): it holds a random session id and, once
signed in, the SHA-256 of the token, never the token itself. Each request
looks the token up again, so revoking it signs the browser out at once. Every
form carries a CSRF token, an HMAC of the session id; a POST whose token does
not match is refused. Signing in issues a new session id (no fixation).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from exchange.auth import ANONYMOUS, Actor, authenticate, hash_token, publisher_of
from exchange.errors import UnauthenticatedError
from exchange.models import ApiToken

COOKIE = "exchange_session"
MAX_AGE = 8 * 3600  # one working day


@dataclass(frozen=True)
class Session:
    """What the session cookie holds: an id and, when signed in, the token's hash."""

    sid: str
    token_hash: str | None = None

    @classmethod
    def new(cls, token_hash: str | None = None) -> Session:
        return cls(sid=secrets.token_urlsafe(18), token_hash=token_hash)


class SessionCodec:
    """Turns sessions into signed cookie values and back; computes CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="exchange-web-session")
        self._csrf_key = hmac.new(secret, b"csrf", hashlib.sha256).digest()

    def dumps(self, session: Session) -> str:
        data: dict[str, Any] = {"sid": session.sid}
        if session.token_hash:
            data["th"] = session.token_hash
        return self._serializer.dumps(data)

    def loads(self, value: str | None) -> Session | None:
        """The session of a cookie value; None when missing, tampered with or expired."""
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        token_hash = data.get("th")
        return Session(sid=data["sid"], token_hash=token_hash if isinstance(token_hash, str) else None)

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf_token(session), str(submitted))


async def actor_of(session: Session, *, now: datetime) -> Actor:
    """The publisher a session is signed in as (anonymous when the token is gone)."""
    if not session.token_hash:
        return ANONYMOUS
    row = await ApiToken.get_or_none(token_hash=session.token_hash).prefetch_related(
        "municipality", "organisation"
    )
    if row is None or row.revoked or (row.expires_at is not None and row.expires_at <= now):
        return ANONYMOUS
    return Actor(publisher=publisher_of(row.municipality, row.organisation),
                 scopes=frozenset(row.scopes), token_id=row.id)


async def sign_in(token: str, *, now: datetime) -> tuple[Actor, Session]:
    """Check an API token and open a fresh session for it; raises UnauthenticatedError."""
    token = token.strip()
    if not token:
        raise UnauthenticatedError("empty token")
    actor = await authenticate(f"Bearer {token}", now=now)
    if "publish" not in actor.scopes:
        raise UnauthenticatedError("the token lacks the publish scope")
    return actor, Session.new(hash_token(token))


def split_list(text: str) -> list[str]:
    """Comma- or line-separated values of a form field, stripped, empty ones dropped."""
    parts = text.replace("\n", ",").split(",")
    return [p.strip() for p in parts if p.strip()]
