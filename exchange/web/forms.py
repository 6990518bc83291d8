"""Sign-in, the session cookie and CSRF tokens of the web forms.

A publisher signs in with an API token. The session cookie holds only a
random session id, signed with the node's secret (itsdangerous) so that a
forged one is dropped before the database is asked. Whether that id is signed
in is decided on the server (`exchange.sessions`): signing out, idling,
the end of the session's lifetime and revoking its token end it there, so a
copied cookie is worth nothing afterwards. Every form carries a CSRF token,
an HMAC of the session id; a POST whose token does not match is refused.
Signing in and out issue a new session id (no fixation).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeTimedSerializer

from exchange.auth import Actor
from exchange.sessions import LIFETIME, new_session_id, open_session

COOKIE = "exchange_session"
MAX_AGE = int(LIFETIME.total_seconds())


@dataclass(frozen=True)
class Session:
    """What the session cookie holds: the session id, nothing else."""

    sid: str

    @classmethod
    def new(cls) -> Session:
        return cls(sid=new_session_id())


class SessionCodec:
    """Turns sessions into signed cookie values and back; computes CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="exchange-web-session")
        self._csrf_key = hmac.new(secret, b"csrf", hashlib.sha256).digest()

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps({"sid": session.sid})

    def loads(self, value: str | None) -> Session | None:
        """The session of a cookie value; None when missing, tampered with or too old."""
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        return Session(sid=data["sid"])

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf_token(session), str(submitted))


async def sign_in(token: str, *, now: datetime) -> tuple[Actor, Session]:
    """Check an API token and open a fresh server-side session for it; raises TokenRefusedError."""
    session = Session.new()
    actor = await open_session(token, sid=session.sid, scope="publish", now=now)
    return actor, session


def split_list(text: str) -> list[str]:
    """Comma- or line-separated values of a form field, stripped, empty ones dropped."""
    parts = text.replace("\n", ",").split(",")
    return [p.strip() for p in parts if p.strip()]
