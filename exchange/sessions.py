"""Sessions of the web pages, kept on the server.

Signing in opens a session: a random id that goes into the browser's cookie,
and a `WebSession` row that stores only the SHA-256 of that id. A session
stands for a person (signed in by an e-mail link or an OpenID provider) or
for an API token. Every request looks the session up again, and a person's
memberships with it, so a session ends on the server and for good: when its
browser signs out, when the person signs out everywhere, when it was idle
for `IDLE`, when it is older than `LIFETIME`, and when the token it was
opened with is revoked or expires; a removed membership counts from the
next request. A copied cookie of an ended session signs nobody in.

Sessions, like the tokens they stand for, stay on this node: they are never
part of an envelope, a feed or an export. Rows whose lifetime is over are
deleted when the next session is opened.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from exchange.accounts.models import Person
from exchange.auth import (
    ANONYMOUS,
    Actor,
    TokenRefusedError,
    actor_of_token,
    check_token,
    note_use,
    person_actor,
)
from exchange.models import ApiToken, WebSession

IDLE = timedelta(hours=2)  # a session unused this long has ended
LIFETIME = timedelta(hours=8)  # one working day, however busy
SEEN_RESOLUTION = timedelta(minutes=1)  # how fresh `last_seen_at` is kept

# Why a session ended (`WebSession.end_reason`).
SIGNED_OUT = "signed out"
IDLE_TIMEOUT = "idle"
LIFETIME_OVER = "lifetime over"
TOKEN_ENDED = "token ended"
EVERYWHERE = "everywhere"
PERSON_GONE = "person removed"


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def hash_session_id(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


async def open_session(token: str, *, sid: str, scope: str, now: datetime) -> Actor:
    """Sign in with an API token under the new session id `sid`; raises TokenRefusedError."""
    token = token.strip()
    if not token:
        raise TokenRefusedError("unknown", "empty token")
    row = await check_token(token, now=now)
    if scope not in row.scopes:
        raise TokenRefusedError("scope", f"the token lacks the {scope} scope")
    await WebSession.filter(expires_at__lt=now).delete()
    expires = now + LIFETIME
    if row.expires_at is not None:
        expires = min(expires, row.expires_at)
    await WebSession.create(sid_hash=hash_session_id(sid), token_id=row.id, created_at=now,
                            last_seen_at=now, expires_at=expires)
    return await actor_of_token(row)


async def open_person_session(person: Person, *, sid: str, now: datetime, client: str = "") -> None:
    """Sign a person in under the new session id `sid` (the caller checked who they are)."""
    await WebSession.filter(expires_at__lt=now).delete()
    await WebSession.create(sid_hash=hash_session_id(sid), person_id=person.id, created_at=now,
                            last_seen_at=now, expires_at=now + LIFETIME, client=client[:200])
    await Person.filter(id=person.id).update(last_signed_in_at=now)


def acting_ref(acting: str) -> tuple[str, int] | None:
    kind, _, pk = acting.partition(":")
    return (kind, int(pk)) if kind in ("municipality", "organisation") and pk.isdigit() else None


async def resume_session(sid: str, *, now: datetime) -> Actor:
    """Who the session `sid` is signed in as; anonymous when it is unknown or has ended."""
    session = await WebSession.get_or_none(sid_hash=hash_session_id(sid), ended_at=None)
    if session is None:
        return ANONYMOUS
    reason = LIFETIME_OVER if now >= session.expires_at else IDLE_TIMEOUT if now - session.last_seen_at >= IDLE else ""
    if session.person_id is not None:
        person = None if reason else await Person.get_or_none(id=session.person_id)
        if person is None:
            await WebSession.filter(id=session.id, ended_at=None).update(
                ended_at=now, end_reason=reason or PERSON_GONE)
            return ANONYMOUS
        if now - session.last_seen_at >= SEEN_RESOLUTION:
            await WebSession.filter(id=session.id).update(last_seen_at=now)
        return await person_actor(person, acting=acting_ref(session.acting))
    token = None
    if not reason and session.token_id is not None:
        token = await ApiToken.filter(id=session.token_id).select_related("municipality", "organisation").first()
        if token is None or token.revoked or (token.expires_at is not None and token.expires_at <= now):
            reason = TOKEN_ENDED
    if reason or token is None:
        await WebSession.filter(id=session.id, ended_at=None).update(ended_at=now, end_reason=reason or TOKEN_ENDED)
        return ANONYMOUS
    if now - session.last_seen_at >= SEEN_RESOLUTION:
        await WebSession.filter(id=session.id).update(last_seen_at=now)
    await note_use(token, now)
    return await actor_of_token(token)


async def end_session(sid: str, *, now: datetime, reason: str = SIGNED_OUT) -> bool:
    """End the session `sid` on the server; False when it was not open."""
    ended = await WebSession.filter(sid_hash=hash_session_id(sid), ended_at=None).update(
        ended_at=now, end_reason=reason
    )
    return bool(ended)


async def end_sessions_of_token(token_id: int, *, now: datetime) -> int:
    """End every open session opened with the token; returns how many."""
    return int(await WebSession.filter(token_id=token_id, ended_at=None).update(ended_at=now, end_reason=TOKEN_ENDED))



async def act_for(sid: str, acting: tuple[str, int]) -> None:
    """Let the person of session `sid` act for another of their publishers."""
    await WebSession.filter(sid_hash=hash_session_id(sid), ended_at=None).update(acting=f"{acting[0]}:{acting[1]}")


async def sessions_of(person_id: int, *, now: datetime) -> list[WebSession]:
    """The person's open sessions, newest first."""
    rows = await WebSession.filter(person_id=person_id, ended_at=None, expires_at__gt=now).order_by("-created_at")
    return [r for r in rows if now - r.last_seen_at < IDLE]


async def end_sessions_of_person(person_id: int, *, now: datetime, reason: str = EVERYWHERE) -> int:
    """End every open session of the person (sign out everywhere); returns how many."""
    return int(await WebSession.filter(person_id=person_id, ended_at=None).update(ended_at=now, end_reason=reason))


def session_hash(sid: str) -> str:
    return hash_session_id(sid)
