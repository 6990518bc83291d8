"""People for the tests: one person per role, signed in on the web or holding a personal token.

`staff` adds to the seeded node of `webkit.populate`: an editor and a
publisher-admin of Kisselbach, an editor of Wiggensbach (another publisher),
a curator of the Kompetenzzentrum, and an operator; each gets a personal
token (the operator one without a publisher). `web_client` signs a person
in by opening a server-side session and giving the browser its cookie, as
the sign-in pages do after a link or the OpenID provider vouched for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from exchange.accounts.models import Membership, Person
from exchange.accounts.people import add_operator
from exchange.auth import find_publisher, person_actor
from exchange.db import Database
from exchange.sessions import LIFETIME, open_person_session
from exchange.tokens import create_own
from exchange.web.forms import COOKIE, Session
from tests.web.webkit import KISSELBACH, WIGGENSBACH, Content, page_client

ORG = "kompetenzzentrum"


@dataclass
class Staff:
    people: dict[str, Person] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    memberships: dict[str, int] = field(default_factory=dict)


async def add_member(email: str, name: str, publisher_key: str, role: str, now: datetime) -> tuple[Person, int]:
    person = await Person.create(email=email, display_name=name, created_at=now)
    publisher = await find_publisher(publisher_key)
    column = "municipality_id" if publisher.kind == "municipality" else "organisation_id"
    m = await Membership.create(person_id=person.id, role=role, created_at=now, **{column: publisher.id})
    return person, m.id


async def staff() -> Staff:
    now = datetime.now(UTC)
    s = Staff()
    for name, (email, key, role) in {
        "editor": ("erika@kisselbach.example", KISSELBACH, "editor"),
        "publisher-admin": ("anna@kisselbach.example", KISSELBACH, "publisher-admin"),
        "other editor": ("otto@wiggensbach.example", WIGGENSBACH, "editor"),
        "curator": ("carla@kompetenzzentrum.example", ORG, "curator"),
    }.items():
        person, mid = await add_member(email, name.title(), key, role, now)
        s.people[name], s.memberships[name] = person, mid
        actor = await person_actor(person)
        assert actor.publisher is not None
        scopes = sorted(actor.scopes)
        s.tokens[name], _ = await create_own(actor, publisher_key=actor.publisher.key, scopes=scopes,
                                             label="test", valid_days=30, now=now)
    operator, _ = await add_operator("olga@node.example", name="Olga Operator", now=now)
    s.people["operator"] = operator
    s.tokens["operator"], _ = await create_own(await person_actor(operator), publisher_key="", scopes=[],
                                               label="test", valid_days=30, now=now)
    return s


async def web_client(content: Content, db: Database, person: Person | None, *, expired: bool = False
                     ) -> httpx.AsyncClient:
    """A browser of `person` (None: anonymous), its session opened as sign-in does (or long ago)."""
    client = page_client(content, db)
    if person is not None:
        session = Session.new()
        now = datetime.now(UTC) - (LIFETIME + timedelta(minutes=1) if expired else timedelta(0))
        await open_person_session(person, sid=session.sid, now=now, client="test")
        web = content.node.extra.get("web", None)
        assert web is not None, "page_client builds the web face first"
        client.cookies.set(COOKIE, web.sessions.dumps(session))
    return client
