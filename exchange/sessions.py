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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from exchange.accounts import roles as R
from exchange.accounts.cache import accounts_changed, cache_of
from exchange.accounts.models import Person
from exchange.auth import (
    ANONYMOUS,
    Actor,
    Publisher,
    TokenRefusedError,
    actor_of_token,
    as_datetime,
    check_token,
    note_use,
)
from exchange.db import current_connection, dialect_of
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


# A session with its person and every membership of the person (and each membership's
# publisher), in one round trip: this runs on every page a signed-in person opens.
_SESSION_SQL = (
    "SELECT s.id, s.token_id, s.acting, s.expires_at, s.last_seen_at, "
    "p.id AS p_id, p.display_name AS p_name, p.operator AS p_operator, ms.role AS ms_role, "
    "m.id AS m_id, m.official_key AS m_key, m.name AS m_name, o.id AS o_id, o.slug AS o_key, o.name AS o_name "
    "FROM web_session s "
    "LEFT JOIN person p ON p.id = s.person_id "
    "LEFT JOIN membership ms ON ms.person_id = p.id "
    "LEFT JOIN municipality m ON m.id = ms.municipality_id "
    "LEFT JOIN organisation o ON o.id = ms.organisation_id "
    "WHERE s.sid_hash = {mark} AND s.ended_at IS NULL ORDER BY ms.id"
)


def _person_actor_of_rows(rows: list[dict[str, Any]], acting: tuple[str, int] | None) -> Actor:
    """What `person_actor` answers, from the rows of `_SESSION_SQL`."""
    first = rows[0]
    person = {"person_id": first["p_id"], "person_name": first["p_name"], "operator": bool(first["p_operator"])}
    for r in rows:
        if r["ms_role"] is None:
            continue
        if r["m_id"] is not None:
            publisher: Publisher | None = Publisher("municipality", r["m_id"], r["m_key"], r["m_name"])
        elif r["o_id"] is not None:
            publisher = Publisher("organisation", r["o_id"], r["o_key"], r["o_name"])
        else:
            publisher = None  # a membership of a publisher that is gone
        if acting is not None and (publisher is None or (publisher.kind, publisher.id) != acting):
            continue
        if publisher is None:
            break
        return Actor(publisher=publisher, scopes=R.scopes_of_role(r["ms_role"], publisher.kind), **person)
    return Actor(**person)


@dataclass(frozen=True)
class _KeptSession:
    """What `resume_session` answered for a person's session, kept while the accounts are unchanged."""

    actor: Actor
    expires_at: datetime
    last_seen_at: datetime


async def resume_session(sid: str, *, now: datetime) -> Actor:
    """Who the session `sid` is signed in as; anonymous when it is unknown or has ended."""
    conn = current_connection()
    key = hash_session_id(sid)
    cache = cache_of(conn)
    kept: _KeptSession | None = cache.get(key)
    if kept is not None and now < kept.expires_at and now - kept.last_seen_at < SEEN_RESOLUTION:
        return kept.actor  # seen less than a minute ago, so neither idle nor stamped again yet
    stamp = cache.stamp()
    mark = "$1" if dialect_of(conn) == "postgres" else "?"
    rows = await conn.execute_query_dict(_SESSION_SQL.format(mark=mark), [key])
    if not rows:
        return ANONYMOUS
    first = rows[0]
    expires_at, last_seen_at = as_datetime(first["expires_at"]), as_datetime(first["last_seen_at"])
    assert expires_at is not None and last_seen_at is not None
    reason = LIFETIME_OVER if now >= expires_at else IDLE_TIMEOUT if now - last_seen_at >= IDLE else ""
    if first["token_id"] is None:  # a person's session
        if reason or first["p_id"] is None:
            await WebSession.filter(id=first["id"], ended_at=None).update(
                ended_at=now, end_reason=reason or PERSON_GONE)
            await accounts_changed(conn)
            return ANONYMOUS
        actor = _person_actor_of_rows(rows, acting_ref(first["acting"] or ""))
        if now - last_seen_at >= SEEN_RESOLUTION:
            await WebSession.filter(id=first["id"]).update(last_seen_at=now)
        else:
            cache.put(key, _KeptSession(actor, expires_at, last_seen_at), stamp)
        return actor
    session = await WebSession.get(id=first["id"])
    token = None
    if not reason and session.token_id is not None:
        token = await ApiToken.filter(id=session.token_id).select_related("municipality", "organisation").first()
        if token is None or token.revoked or (token.expires_at is not None and token.expires_at <= now):
            reason = TOKEN_ENDED
    if reason or token is None:
        await WebSession.filter(id=session.id, ended_at=None).update(ended_at=now, end_reason=reason or TOKEN_ENDED)
        await accounts_changed(conn)
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
    await accounts_changed(current_connection())
    return bool(ended)


async def end_sessions_of_token(token_id: int, *, now: datetime) -> int:
    """End every open session opened with the token; returns how many."""
    ended = await WebSession.filter(token_id=token_id, ended_at=None).update(ended_at=now, end_reason=TOKEN_ENDED)
    await accounts_changed(current_connection())
    return int(ended)



async def act_for(sid: str, acting: tuple[str, int]) -> None:
    """Let the person of session `sid` act for another of their publishers."""
    await WebSession.filter(sid_hash=hash_session_id(sid), ended_at=None).update(acting=f"{acting[0]}:{acting[1]}")
    await accounts_changed(current_connection())


async def sessions_of(person_id: int, *, now: datetime) -> list[WebSession]:
    """The person's open sessions, newest first."""
    rows = await WebSession.filter(person_id=person_id, ended_at=None, expires_at__gt=now).order_by("-created_at")
    return [r for r in rows if now - r.last_seen_at < IDLE]


async def end_sessions_of_person(person_id: int, *, now: datetime, reason: str = EVERYWHERE) -> int:
    """End every open session of the person (sign out everywhere); returns how many."""
    ended = await WebSession.filter(person_id=person_id, ended_at=None).update(ended_at=now, end_reason=reason)
    await accounts_changed(current_connection())
    return int(ended)


def session_hash(sid: str) -> str:
    return hash_session_id(sid)
