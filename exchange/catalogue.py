"""The catalogue of one node: publish, revise and unpublish entries.

Every write runs in one transaction: the entry row, its topics, the search
index, the signed revision and the change-feed row are stored together or not
at all. A revision names the version it expects to replace; a stale version
is a conflict, never an overwrite. Unpublishing removes the content and leaves a signed tombstone without it.
Listeners (peer-matching profiles, caches) are told after the commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from content import forbidden_character, render, search_document_of_text
from exchange import withdrawal
from exchange.access import may_see
from exchange.auth import Actor, Publisher, find_publisher, require
from exchange.budget import check_currency, envelope_budget
from exchange.calls.terms import clean_terms
from exchange.changes import append_change
from exchange.contacts import person_in_role, personal_address
from exchange.envelope import Signer, canonical_json
from exchange.errors import (
    N_,
    ConflictError,
    FieldError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from exchange.goals import check_period, clean_goals
from exchange.licences import canonical_licence
from exchange.models import (
    ENTRY_KINDS,
    LANGUAGES,
    PROJECT_STATUSES,
    REVIEW_STATES,
    VISIBILITIES,
    Entry,
    EntryTopic,
    Municipality,
    Organisation,
    Revision,
    Topic,
)
from exchange.search import index as search_index

Listener = Callable[["Entry"], Awaitable[None]]
# Told of many entries at once (a received batch): one query for all, not one per entry.
BatchListener = Callable[[Sequence["Entry"]], Awaitable[None]]
FEDERATING = ("public", "network")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class EntryInput:
    """What a publisher sends to publish or revise an entry (unset = keep on revise)."""

    kind: str | None = None
    title: str | None = None
    summary: str | None = None
    body_markdown: str | None = None
    language: str | None = None
    topics: list[str] | None = None
    keywords: list[str] | None = None
    license: str | None = None
    visibility: str | None = None
    contact_role: str | None = None
    contact_email: str | None = None
    contact_person: str | None = None
    status: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    budget_eur: int | None = None
    budget_currency: str | None = None
    funding_programme: str | None = None
    partners: list[str] | None = None
    goals: list[dict[str, Any]] | None = None
    audience: str | None = None
    checklist: list[str] | None = None
    review_state: str | None = None
    what_worked: str | None = None
    what_did_not: str | None = None
    transfer_preconditions: str | None = None
    costs_staffing: str | None = None
    project_id: str | None = None
    links: list[dict[str, str]] | None = None
    call: dict[str, Any] | None = None  # a call's terms (exchange.calls.clean_terms; unset keys kept)


# Fields copied 1:1 from input to the Entry row.
_PLAIN_FIELDS = (
    "title", "summary", "body_markdown", "language", "license", "visibility", "keywords",
    "contact_role", "contact_email", "contact_person", "status", "period_start", "period_end",
    "budget_eur", "budget_currency", "funding_programme", "partners", "goals", "audience", "checklist",
    "review_state", "what_worked", "what_did_not", "transfer_preconditions", "costs_staffing",
    "links",
)
# Fields that travel in a signed envelope (contact_person stays on this node).
ENVELOPE_FIELDS = tuple(f for f in _PLAIN_FIELDS if f != "contact_person") + ("kind",)
MAX_CHECKLIST = 100
MAX_PARTNERS = 50
LINK_RELATIONS = ("replicates", "related", "lesson_of", "translation_of")


def _limit(value: str, name: str, most: int, *, required: bool = False) -> str:
    value = value.strip() if name in {"title", "summary"} else value
    if required and not value:
        raise FieldError(name, N_("Please fill in this field."))
    if len(value) > most:
        raise FieldError(name, N_("This is %(length)s characters long; at most %(most)s are allowed."),
                         length=len(value), most=most)
    return value


@dataclass
class Catalogue:
    """The write side of one node's catalogue."""

    signer: Signer
    max_body_bytes: int = 200_000
    default_license: str = "CC-BY-4.0"
    clock: Callable[[], datetime] = utcnow
    listeners: list[Listener] = field(default_factory=list)
    batch_listeners: list[BatchListener] = field(default_factory=list)  # after `listeners`
    # What other parts add to an entry's envelope (the attachments' list): each gives keys for
    # the envelope's `entry`, or none. Passed in, so the core does not depend on them.
    envelope_parts: list[Callable[[Entry], Awaitable[dict[str, Any]]]] = field(default_factory=list)

    @property
    def node_url(self) -> str:
        return self.signer.node_url

    # -- reading -----------------------------------------------------------

    async def get(self, uid: str | uuid.UUID, actor: Actor | None = None) -> Entry:
        """The current version of an entry the actor may see (tombstones included)."""
        entry = await Entry.get_or_none(uid=parse_uid(uid))
        if entry is None or not may_see(entry, actor):
            raise NotFoundError(f"no entry with id {uid}")
        return entry

    # -- writing -----------------------------------------------------------

    async def publish(
        self,
        actor: Actor,
        data: EntryInput,
        *,
        publisher_key: str | None = None,
        uid: uuid.UUID | None = None,
    ) -> Entry:
        """Publish a new entry for the actor's publisher (`uid`: a stable id chosen by an importer)."""
        publisher = require(actor, "publish")
        if publisher_key is not None:
            wanted = await find_publisher(publisher_key)
            require(actor, "publish", wanted)
        if data.kind not in ENTRY_KINDS:
            raise InvalidInputError(f"kind must be one of {', '.join(ENTRY_KINDS)}, not {data.kind!r}")
        now = self.clock()
        if uid is not None and await Entry.exists(uid=uid):
            raise ConflictError(f"an entry with id {uid} exists already")
        entry = Entry(
            uid=uid or uuid.uuid4(),
            kind=data.kind,
            origin_node=self.node_url,
            version=1,
            municipality_id=publisher.id if publisher.kind == "municipality" else None,
            organisation_id=publisher.id if publisher.kind == "organisation" else None,
            license=self.default_license,
            created_at=now,
            updated_at=now,
        )
        topics = await self._apply(entry, data, creating=True)
        async with in_transaction():
            await entry.save()
            await self._store_version(entry, topics, actor, note="published")
        await self._notify(entry)
        return entry

    async def revise(
        self, actor: Actor, uid: str, expected_version: int, data: EntryInput, note: str = ""
    ) -> Entry:
        """Store a new version of an entry, if `expected_version` is still current."""
        entry = await self._owned(actor, uid)
        if entry.deleted:
            raise ConflictError(f"entry {uid} was unpublished; it cannot be revised")
        hit = forbidden_character(note)
        if hit is not None:
            raise InvalidInputError(hit.message("note"))
        if data.kind is not None and data.kind != entry.kind:
            raise InvalidInputError("the kind of an entry cannot change")
        topics = await self._apply(entry, data, creating=False)
        async with in_transaction():
            await self._bump(entry, expected_version)
            await self._store_version(entry, topics, actor, note=note or "revised")
        await self._notify(entry)
        return entry

    async def unpublish(self, actor: Actor, uid: str, expected_version: int | None = None) -> Entry:
        """Withdraw an entry: its content is removed here (`withdrawal.purge`), and a signed
        tombstone without content replaces it everywhere it travelled."""
        entry = await self._owned(actor, uid)
        if entry.deleted:
            raise ConflictError(f"entry {uid} is already unpublished")
        async with in_transaction():
            await self._bump(entry, expected_version if expected_version is not None else entry.version)
            await withdrawal.purge(entry)  # withdrawn content is gone, not hidden
            await self._store_version(entry, [], actor, note="unpublished")
        await self._notify(entry)
        return entry

    async def restamp(self, actor: Actor, uid: str, note: str) -> Entry:
        """A new version with the same content, when what the envelope lists beside it changed
        (a file added or removed), so that peers learn of it."""
        entry = await self._owned(actor, uid)
        if entry.deleted:
            raise ConflictError(f"entry {uid} was unpublished")
        topics = await self.topics_of(entry)
        async with in_transaction():
            await self._bump(entry, entry.version)
            await self._store_version(entry, topics, actor, note=note)
        await self._notify(entry)
        return entry

    async def seal_tombstones(self) -> int:
        """Sign this node's tombstones that have no signature (migration 0011 emptied the
        content of tombstones stored before withdrawals removed it); run at startup."""
        sealed = 0
        for rev in await Revision.filter(signature="", entry__deleted=True, entry__origin_node=self.node_url):
            if not withdrawal.is_stub(rev.envelope):
                signature = self.signer.sign(canonical_json(rev.envelope))
                await Revision.filter(id=rev.id).update(signature=signature)
                sealed += 1
        return sealed

    async def topics_of(self, entry: Entry) -> list[Topic]:
        return list(await Topic.filter(entry_links__entry_id=entry.id).order_by("position", "slug"))

    # -- helpers -----------------------------------------------------------

    async def _owned(self, actor: Actor, uid: str) -> Entry:
        require(actor, "publish")
        entry = await Entry.get_or_none(uid=parse_uid(uid))
        if entry is None or not may_see(entry, actor):
            raise NotFoundError(f"no entry with id {uid}")
        if entry.origin_node != self.node_url:
            raise PermissionDeniedError(
                f"entry {uid} belongs to the node {entry.origin_node}; only its origin can change it"
            )
        owner = await publisher_of_entry(entry)
        require(actor, "publish", owner)
        return entry

    async def _bump(self, entry: Entry, expected_version: int) -> None:
        """Raise the version by one, atomically against concurrent writers."""
        now = self.clock()
        updated = await Entry.filter(id=entry.id, version=expected_version).update(
            version=expected_version + 1, updated_at=now
        )
        if updated != 1:
            current = await Entry.get(id=entry.id).values_list("version", flat=True)
            raise ConflictError(
                f"entry {entry.uid} is at version {current}, not {expected_version}: "
                "someone changed it meanwhile; reload it and apply your change again"
            )
        entry.version = expected_version + 1
        entry.updated_at = now
        await entry.save()

    async def _apply(self, entry: Entry, data: EntryInput, *, creating: bool) -> list[Topic]:
        """Validate the input and copy it onto the entry; returns its topics."""
        check_characters(data)
        for name in _PLAIN_FIELDS:
            value = getattr(data, name)
            if value is not None:
                setattr(entry, name, value)
        entry.title = _limit(entry.title or "", "title", 300, required=True)
        entry.summary = _limit(entry.summary or "", "summary", 2000, required=True)
        body_bytes = len((entry.body_markdown or "").encode("utf-8"))
        if body_bytes > self.max_body_bytes:
            raise InvalidInputError(
                f"the body is {body_bytes} bytes long; this node accepts at most {self.max_body_bytes}"
            )
        if entry.language not in LANGUAGES:
            raise InvalidInputError(f"language must be one of {', '.join(LANGUAGES)}, not {entry.language!r}")
        if entry.visibility not in VISIBILITIES:
            raise InvalidInputError(
                f"visibility must be one of {', '.join(v.upper() for v in VISIBILITIES)}, not {entry.visibility!r}"
            )
        for name in ("contact_role", "contact_email", "contact_person", "audience", "funding_programme"):
            _limit(getattr(entry, name) or "", name, 200)
        if data.contact_role is not None:
            personal = person_in_role(entry.contact_role or "")
            if personal is not None:
                raise FieldError("contact_role", N_(
                    "This looks like a person (%(word)s). Please name the office or role instead, such as "
                    "Bauamt or Digitalisierungsbüro: a contact travels to every node, a person's name must not."),
                    word=personal)
        if data.contact_email is not None and entry.contact_email and personal_address(entry.contact_email):
            raise FieldError("contact_email", N_(
                "%(value)s looks like a person's own address. Please give the address of the office or role "
                "(such as bauamt@…): a contact travels to every node."), value=entry.contact_email)
        if entry.contact_email and "@" not in entry.contact_email:
            raise FieldError("contact_email", N_("%(value)s is not an e-mail address."), value=entry.contact_email)
        if data.license is not None or creating:
            entry.license = canonical_licence(entry.license or self.default_license)
        entry.keywords = [str(k).strip()[:60] for k in (entry.keywords or []) if str(k).strip()][:30]
        entry.partners = [str(p).strip()[:200] for p in (entry.partners or []) if str(p).strip()]
        entry.checklist = [str(c).strip()[:500] for c in (entry.checklist or []) if str(c).strip()]
        if len(entry.checklist) > MAX_CHECKLIST:
            raise FieldError("checklist", N_("A checklist holds at most %(most)s items, not %(count)s."),
                             most=MAX_CHECKLIST, count=len(entry.checklist))
        if len(entry.partners) > MAX_PARTNERS:
            raise FieldError("partners", N_("At most %(most)s partners per project."), most=MAX_PARTNERS)
        if entry.kind == "project":
            if entry.status is None:
                entry.status = "planned"
            if entry.status not in PROJECT_STATUSES:
                raise InvalidInputError(f"status must be one of {', '.join(PROJECT_STATUSES)}, not {entry.status!r}")
            entry.period_start, entry.period_end = check_period(entry.period_start, entry.period_end)
            if entry.budget_eur is not None and entry.budget_eur < 0:
                raise FieldError("budget_eur", N_("The budget cannot be negative."))
            entry.budget_currency = check_currency(entry.budget_currency)
            entry.goals = clean_goals(entry.goals or [], period_start=entry.period_start,
                                      today=self.clock().date())
        elif data.status is not None or data.goals:
            raise InvalidInputError("status and goals belong to project descriptions only")
        if entry.kind == "guide":
            entry.review_state = entry.review_state or "published"
            if entry.review_state not in REVIEW_STATES:
                raise InvalidInputError(f"review_state must be one of {', '.join(REVIEW_STATES)}")
            if entry.review_state != "published":
                # An unpublished guide is a draft: seen by its publisher only, never federated.
                entry.visibility = "draft"
        elif data.review_state is not None:
            raise InvalidInputError("review_state belongs to guides only")
        if entry.kind == "call":  # a deadline is judged when it is set, not when a call is closed later
            dated = creating or (data.call is not None and "deadline" in data.call
                                 and data.call["deadline"] != (entry.call or {}).get("deadline"))
            entry.call = clean_terms(data.call, today=self.clock().date() if dated else None, previous=entry.call)
        elif data.call is not None:
            raise InvalidInputError("the terms of a call belong to calls for partners only")
        if data.project_id is not None:
            if entry.kind != "lesson":
                raise InvalidInputError("only a lesson learned links to the project it comes from")
            if data.project_id == "":
                entry.project_uid = None
            else:
                project = await Entry.get_or_none(uid=parse_uid(data.project_id), deleted=False)
                if project is None or project.kind != "project":
                    raise InvalidInputError(f"project {data.project_id} is not a project description on this node")
                entry.project_uid = project.uid
        entry.links = _validate_links(entry.links or [])
        topics: list[Topic] | None = None
        if data.topics is not None:
            slugs = list(dict.fromkeys(s.strip() for s in data.topics if s.strip()))
            if len(slugs) > 10:
                raise InvalidInputError("at most 10 topics per entry")
            found = {t.slug: t for t in await Topic.filter(slug__in=slugs)}
            unknown = [s for s in slugs if s not in found]
            if unknown:
                raise InvalidInputError(f"unknown topic(s): {', '.join(unknown)} (see the topics query)")
            topics = [found[s] for s in slugs]
        elif creating:
            topics = []
        else:
            topics = await self.topics_of(entry)
        # Rendering and stemming a body take 1-30 ms: done in a worker thread, so that the
        # event loop (other requests, /healthz) does not wait for them.
        entry.body_html, entry.search_terms = await asyncio.to_thread(
            entry_texts,
            entry.body_markdown or "",
            (entry.what_worked, entry.what_did_not, entry.transfer_preconditions),
            entry.title,
            entry.summary,
            list(entry.keywords) + [t.label_de for t in topics] + [t.label_en for t in topics],
            entry.language,
        )
        return topics

    async def _store_version(self, entry: Entry, topics: Sequence[Topic], actor: Actor, note: str) -> None:
        """Within the caller's transaction: topics, index, signed revision, change row."""
        await EntryTopic.filter(entry_id=entry.id).delete()
        if topics:
            await EntryTopic.bulk_create([EntryTopic(entry_id=entry.id, topic_id=t.id) for t in topics])
        await search_index.update(entry)
        publisher = await publisher_of_entry(entry)
        envelope = build_envelope(entry, [t.slug for t in topics], publisher)
        if not entry.deleted:
            for part in self.envelope_parts:
                envelope["entry"].update(await part(entry))
        signature = self.signer.sign(canonical_json(envelope))
        await Revision.create(
            entry_id=entry.id,
            version=entry.version,
            envelope=envelope,
            signature=signature,
            author=actor.label,
            person_id=actor.person_id,
            note=note,
            created_at=entry.updated_at,
        )
        await append_change(entry)

    async def _notify(self, entry: Entry) -> None:
        for listener in self.listeners:
            await listener(entry)
        for many in self.batch_listeners:
            await many([entry])


def entry_texts(markdown: str, more: Sequence[str | None], title: str, summary: str, keywords: list[str],
                language: str) -> tuple[str, str]:
    """An entry's page HTML and search terms (pure: it runs in a worker thread)."""
    rendered = render(markdown, tuple(m or "" for m in more))
    return rendered.html, search_document_of_text(title, summary, rendered.text, keywords, language)


def check_characters(data: EntryInput) -> None:
    """InvalidInputError naming the field when a text holds a character XML 1.0 forbids
    (feeds and exports of the entry, here and on every peer, would be unreadable)."""
    for f in fields(EntryInput):
        hit = forbidden_character(getattr(data, f.name))
        if hit is not None:
            raise InvalidInputError(hit.message(f.name))


def _validate_links(links: list[dict[str, str]]) -> list[dict[str, str]]:
    cleaned = []
    for link in links[:50]:
        relation = str(link.get("relation", ""))
        if relation not in LINK_RELATIONS:
            raise InvalidInputError(f"link relation must be one of {', '.join(LINK_RELATIONS)}, not {relation!r}")
        cleaned.append({"relation": relation, "target": str(parse_uid(str(link.get("target", ""))))})
    return cleaned


def parse_uid(value: str | uuid.UUID) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        raise InvalidInputError(f"{value!r} is not an entry id (a UUID)") from None


async def publisher_of_entry(entry: Entry) -> Publisher:
    if entry.municipality_id is not None:
        m = await Municipality.get(id=entry.municipality_id)
        return Publisher("municipality", m.id, m.official_key, m.name)
    o = await Organisation.get(id=entry.organisation_id)
    return Publisher("organisation", o.id, o.slug, o.name)


def build_envelope(entry: Entry, topic_slugs: list[str], publisher: Publisher) -> dict[str, Any]:
    """The signed form of one version of an entry (what travels between nodes); a
    withdrawn entry's is a tombstone with kind and publisher only."""
    if entry.deleted:
        return {
            "type": "tombstone", "id": str(entry.uid), "origin": entry.origin_node,
            "version": entry.version, "visibility": entry.visibility,
            "updatedAt": entry.updated_at.isoformat(),
            "entry": {"kind": entry.kind, "publisher": {
                "type": publisher.kind, "key": publisher.key, "name": publisher.name}},
        }
    body: dict[str, Any] = {name: getattr(entry, name) for name in ENVELOPE_FIELDS if not name.startswith("budget_")}
    body.update(envelope_budget(entry.budget_eur, entry.budget_currency))
    body["topics"] = topic_slugs
    body["projectId"] = str(entry.project_uid) if entry.project_uid else None
    if entry.kind == "call":
        body["call"] = entry.call
    body["publisher"] = {"type": publisher.kind, "key": publisher.key, "name": publisher.name}
    body["createdAt"] = entry.created_at.isoformat()
    return {
        "type": "tombstone" if entry.deleted else "entry",
        "id": str(entry.uid),
        "origin": entry.origin_node,
        "version": entry.version,
        "visibility": entry.visibility,
        "updatedAt": entry.updated_at.isoformat(),
        "entry": body,
    }


def input_fields() -> list[str]:
    return [f.name for f in fields(EntryInput)]
