"""Importing a guide bundle: an organisation's folder of Markdown becomes its guides.

`import_guides` reads the bundle with `content.load_bundle`, checks everything
the database knows about (the organisation, topic slugs, related and
translated guides, asset sizes, the optional `collections.yaml`) and only then
writes, in one transaction: each guide is created or revised under a stable
id (uuid5 of node URL, organisation slug and guide id), so importing the same
folder twice changes nothing; a file whose content changed becomes a new
revision; a file that disappeared is reported, and withdrawn only with
`prune`. Images and other files the guides reference are stored as
`GuideAsset` rows and the body points at `/guides/assets/ORG/PATH`; links
between guides point at `/entries/UID`. Any problem, in any file, stops the
import before the first write and is reported with file and line.
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from tortoise.transactions import in_transaction

from content import Bundle, BundleInvalidError, GuideDoc, load_bundle
from exchange.auth import Actor, Publisher
from exchange.catalogue import Catalogue, EntryInput, parse_uid
from exchange.curation.collections import CollectionSpec, read_collections, save_collection
from exchange.curation.review import record_event, set_review_state
from exchange.errors import InvalidInputError, NotFoundError
from exchange.models import Entry, GuideAsset, GuideSource, Organisation, Topic

GUIDE_NAMESPACE = uuid.UUID("0b6f4d52-93a1-4c55-8a0e-5f3f2d7c9e10")
ASSET_PREFIX = "/guides/assets/"
GUIDE_LINK_PREFIX = "/entries/guide:"
MAX_ASSET_BYTES = 5 * 1024 * 1024
IMPORT_STATES = ("draft", "in_review", "published")
ASSET_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".svg": "image/svg+xml", ".pdf": "application/pdf",
    ".csv": "text/csv", ".txt": "text/plain", ".json": "application/json",
}  # fmt: skip


class GuideBundleError(InvalidInputError):
    """The bundle cannot be imported; `errors` lists every problem as `file:line: reason`."""

    code = "BAD_GUIDE_BUNDLE"

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"the guide bundle has {len(errors)} problem(s):\n" + "\n".join(errors))
        self.errors = errors


@dataclass
class FileReport:
    """What the import did with one guide file (or one removed guide)."""

    file: str
    guide_id: str
    action: str  # created | revised | unchanged | removed | withdrawn
    version: int | None = None
    state: str | None = None
    changed: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    organisation: str
    files: list[FileReport] = field(default_factory=list)
    assets_stored: int = 0
    collections: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for f in self.files if f.action == action)


def guide_uid(node_url: str, organisation: str, guide_id: str) -> uuid.UUID:
    """The stable entry id of a guide: the same on every import of the same bundle."""
    return uuid.uuid5(GUIDE_NAMESPACE, f"{node_url}|{organisation}|{guide_id}")


def asset_url(organisation: str, path: str) -> str:
    return ASSET_PREFIX + quote(organisation) + "/" + quote(path)


# -- pure: bodies, links and the comparison with what is stored -------------

_ORG_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_INLINE = re.compile(r"(\]\(\s*<?)([^)\s>]+)")
_REFERENCE = re.compile(r"^( {0,3}\[[^\]]+\]:[ \t]*<?)(\S+?)(?=>|\s|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _bundle_path(doc_dir: str, href: str) -> tuple[str, str] | None:
    """(bundle-relative path, suffix) of a relative link, or None for any other link."""
    if (
        not href
        or href.startswith(("/", "#", "\\"))
        or re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", href)
    ):
        return None
    cut = min((i for i in (href.find("?"), href.find("#")) if i >= 0), default=len(href))
    joined = posixpath.normpath(posixpath.join(doc_dir, unquote(href[:cut])))
    return joined, href[cut:]


def rewrite_body(
    doc: GuideDoc, organisation: str, uids: dict[str, uuid.UUID], assets: set[str]
) -> str:
    """Point links to other guides at /entries/UID and relative files at their asset URL."""
    doc_dir = posixpath.dirname(doc.path.as_posix())

    def target(href: str) -> str:
        if href.startswith(GUIDE_LINK_PREFIX):
            guide, _, fragment = href[len(GUIDE_LINK_PREFIX) :].partition("#")
            if guide in uids:
                return f"/entries/{uids[guide]}" + (f"#{fragment}" if fragment else "")
            return href
        found = _bundle_path(doc_dir, href)
        if found is not None and found[0] in assets:
            return asset_url(organisation, found[0]) + found[1]
        return href

    lines = doc.body_markdown.split("\n")
    fence: str | None = None
    for index, line in enumerate(lines):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        line = _INLINE.sub(lambda m: m.group(1) + target(m.group(2)), line)
        lines[index] = _REFERENCE.sub(lambda m: m.group(1) + target(m.group(2)), line)
    body = "\n".join(lines)
    if doc.language == "de" and doc.summary_en:
        body = body.rstrip("\n") + f"\n\n---\n\n*Summary in English:* {doc.summary_en}\n"
    return body


def guide_links(doc: GuideDoc, resolve: dict[str, uuid.UUID]) -> list[dict[str, str]]:
    """Entry links of a guide: translation_of first, then related guides and linked guides."""
    links: list[dict[str, str]] = []
    if doc.translation_of:
        links.append({"relation": "translation_of", "target": str(resolve[doc.translation_of])})
    seen: set[str] = set()
    for ref in [*doc.related, *doc.links.values()]:
        target = str(resolve[ref])
        if target not in seen and ref != doc.id:
            seen.add(target)
            links.append({"relation": "related", "target": target})
    return links


def desired_input(doc: GuideDoc, body: str, links: list[dict[str, str]]) -> EntryInput:
    """The catalogue input a guide file stands for (review state and visibility set by the caller)."""
    return EntryInput(
        kind="guide",
        title=doc.title.strip(),
        summary=doc.summary.strip(),
        body_markdown=body,
        language=doc.language,
        topics=list(dict.fromkeys(doc.topics)),
        license=doc.license,
        audience=doc.audience or "",
        checklist=[c.strip()[:500] for c in doc.checklist][:100],
        keywords=[k.strip()[:60] for k in doc.keywords if k.strip()][:30],
        links=links,
    )


_COMPARED = (
    "title",
    "summary",
    "body_markdown",
    "language",
    "license",
    "audience",
    "checklist",
    "keywords",
    "links",
)


def changed_fields(entry: Entry, topics: list[str], data: EntryInput) -> list[str]:
    """Names of the fields in which the stored guide differs from the file (content only)."""
    changed = [name for name in _COMPARED if getattr(entry, name) != getattr(data, name)]
    if sorted(topics) != sorted(data.topics or []):
        changed.append("topics")
    return changed


# -- validation against the database ----------------------------------------


async def _check(
    bundle: Bundle, organisation: Organisation, node_url: str, collections: list[CollectionSpec]
) -> tuple[dict[str, uuid.UUID], list[str]]:
    """Every reference of the bundle resolved to an entry id, or all problems found."""
    errors: list[str] = []
    ids = {g.id: guide_uid(node_url, organisation.slug, g.id) for g in bundle.guides}
    earlier = {
        str(s.guide_id): s.entry_uid
        for s in await GuideSource.filter(organisation_id=organisation.id)
    }
    resolve: dict[str, uuid.UUID] = {**earlier, **ids}
    known_topics: set[str] = {str(t) for t in await Topic.all().values_list("slug", flat=True)}
    for guide in bundle.guides:
        name = guide.path.as_posix()
        for slug in guide.topics:
            if slug not in known_topics:
                errors.append(
                    f"{name}: unknown topic {slug!r} (the topics query lists them)"
                )
        refs = [*guide.related] + ([guide.translation_of] if guide.translation_of else [])
        for ref in refs:
            if ref in resolve:
                continue
            try:
                uid = parse_uid(ref)
            except InvalidInputError:
                errors.append(
                    f"{name}: {ref!r} is neither a guide of this bundle or organisation nor an entry id"
                )
                continue
            if not await Entry.exists(uid=uid):
                errors.append(f"{name}: entry {ref} is not known on this node")
            resolve[ref] = uid
    for asset in bundle.assets:
        file = bundle.root / asset
        suffix = file.suffix.lower()
        if suffix not in ASSET_TYPES:
            errors.append(
                f"{asset}: files of type {suffix or '(none)'} cannot be served; use {', '.join(ASSET_TYPES)}"
            )
        elif file.stat().st_size > MAX_ASSET_BYTES:
            errors.append(f"{asset}: file is {file.stat().st_size} bytes, over {MAX_ASSET_BYTES}")
    for spec in collections:
        for item in spec.items:
            if item.guide is not None:
                if item.guide not in resolve:
                    errors.append(
                        f"collections.yaml: collection {spec.slug!r} names unknown guide {item.guide!r}"
                    )
            elif item.entry is not None and not await Entry.exists(uid=item.entry):
                errors.append(
                    f"collections.yaml: collection {spec.slug!r} names entry {item.entry}, unknown here"
                )
    return resolve, errors


def _check_sizes(bundle: Bundle, catalogue: Catalogue, bodies: dict[str, str]) -> list[str]:
    errors = []
    for guide in bundle.guides:
        name, body = guide.path.as_posix(), bodies[guide.id]
        if len(guide.title.strip()) > 300:
            errors.append(f"{name}: title is {len(guide.title)} characters; at most 300")
        if len(guide.summary.strip()) > 2000:
            errors.append(f"{name}: summary is {len(guide.summary)} characters; at most 2000")
        if len(guide.audience or "") > 200:
            errors.append(f"{name}: audience is longer than 200 characters")
        if len(body.encode("utf-8")) > catalogue.max_body_bytes:
            errors.append(f"{name}: body is over {catalogue.max_body_bytes} bytes")
    return errors


# -- the import ---------------------------------------------------------------


async def import_guides(
    catalogue: Catalogue,
    directory: Path,
    organisation_slug: str,
    *,
    state: str | None = None,
    prune: bool = False,
    organisation_name: str | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Create or revise the organisation's guides from a bundle, all or nothing.

    `state`: review state of the guides this import creates or changes (new
    guides default to draft; changed guides keep their state when None).
    `organisation_name`: create the organisation when this node has none of that slug.
    """
    if state is not None and state not in IMPORT_STATES:
        raise InvalidInputError(f"state must be one of {', '.join(IMPORT_STATES)}, not {state!r}")
    async with in_transaction():  # a new organisation is only kept with its guides
        organisation = await Organisation.get_or_none(slug=organisation_slug)
        if organisation is None and not organisation_name:
            raise NotFoundError(
                f"no organisation with slug {organisation_slug!r} on this node; "
                "give its name to create it (--organisation-name)"
            )
        if organisation is None:
            if not _ORG_SLUG.match(organisation_slug) or len(organisation_name or "") > 200:
                raise InvalidInputError(
                    "an organisation slug is lowercase a-z, 0-9 and hyphens; its name at most 200 characters"
                )
            organisation = await Organisation.create(
                slug=organisation_slug,
                name=organisation_name,
                kind="umbrella",
                origin_node=catalogue.node_url,
            )
        return await _import(catalogue, directory, organisation, state, prune, now)


async def _import(
    catalogue: Catalogue,
    directory: Path,
    organisation: Organisation,
    state: str | None,
    prune: bool,
    now: datetime | None,
) -> ImportReport:
    try:
        bundle = load_bundle(directory)
    except BundleInvalidError as exc:
        raise GuideBundleError([str(e) for e in exc.errors]) from None
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidInputError(f"{directory} is not a folder") from None
    collections, collection_errors = read_collections(bundle.root)
    resolve, errors = await _check(bundle, organisation, catalogue.node_url, collections)
    errors = collection_errors + errors
    assets = set(bundle.assets)
    bodies = {g.id: rewrite_body(g, organisation.slug, resolve, assets) for g in bundle.guides}
    errors += _check_sizes(bundle, catalogue, bodies)
    if errors:
        raise GuideBundleError(errors)

    publisher = Publisher("organisation", organisation.id, organisation.slug, organisation.name)
    actor = Actor(publisher=publisher, scopes=frozenset({"publish", "curate"}))
    moment = now or catalogue.clock()
    report = ImportReport(organisation=organisation.slug)
    report.assets_stored = await _store_assets(bundle, organisation, moment)
    # Originals before translations, so a translation links to a stored guide.
    for guide in sorted(
        bundle.guides, key=lambda g: (g.translation_of is not None, g.path.as_posix())
    ):
        data = desired_input(guide, bodies[guide.id], guide_links(guide, resolve))
        report.files.append(
            await _import_one(catalogue, actor, organisation, guide, data, state, moment)
        )
    wanted = {g.id for g in bundle.guides}
    for source in await GuideSource.filter(organisation_id=organisation.id).order_by("path"):
        if source.guide_id not in wanted:
            removed = await _removed(catalogue, actor, source, prune)
            if removed is not None:
                report.files.append(removed)
    for spec in collections:
        await save_collection(catalogue, actor, spec, resolve, now=moment)
        report.collections.append(spec.slug)
    return report


async def _import_one(
    catalogue: Catalogue,
    actor: Actor,
    organisation: Organisation,
    guide: GuideDoc,
    data: EntryInput,
    state: str | None,
    now: datetime,
) -> FileReport:
    name = guide.path.as_posix()
    uid = guide_uid(catalogue.node_url, organisation.slug, guide.id)
    source = await GuideSource.get_or_none(organisation_id=organisation.id, guide_id=guide.id)
    if source is None:
        await GuideSource.create(
            organisation_id=organisation.id,
            guide_id=guide.id,
            entry_uid=uid,
            path=name,
            imported_at=now,
        )
    elif source.path != name:
        source.path = name
        await source.save(update_fields=["path"])
    entry = await Entry.get_or_none(uid=uid)
    if entry is None:
        new_state = state or "draft"
        data.review_state = new_state
        data.visibility = "public" if new_state == "published" else "draft"
        entry = await catalogue.publish(actor, data, uid=uid)
        await record_event(entry, None, new_state, actor, "imported", now)
        return FileReport(name, guide.id, "created", entry.version, new_state)
    if entry.deleted:
        raise InvalidInputError(
            f"{name}: guide {guide.id!r} was unpublished; give the file a new id"
        )
    topics = [t.slug for t in await catalogue.topics_of(entry)]
    changed = changed_fields(entry, topics, data)
    if not changed:
        return FileReport(name, guide.id, "unchanged", entry.version, entry.review_state)
    old_state = entry.review_state
    new_state = state or old_state or "draft"
    data.review_state = new_state
    data.visibility = "public" if new_state == "published" else "draft"
    note = f"bundle version {guide.version}: " + ", ".join(changed)
    entry = await catalogue.revise(actor, str(uid), entry.version, data, note=note)
    if new_state != old_state:
        await record_event(entry, old_state, new_state, actor, "imported", now)
    return FileReport(name, guide.id, "revised", entry.version, new_state, changed)


async def _removed(
    catalogue: Catalogue, actor: Actor, source: GuideSource, prune: bool
) -> FileReport | None:
    entry = await Entry.get_or_none(uid=source.entry_uid)
    if entry is None or entry.deleted or entry.review_state == "withdrawn":
        return None
    if not prune:
        return FileReport(
            source.path, source.guide_id, "removed", entry.version, entry.review_state
        )
    entry = await set_review_state(
        catalogue,
        actor,
        str(entry.uid),
        "withdrawn",
        note="file removed from the bundle",
        check_move=False,
    )
    return FileReport(source.path, source.guide_id, "withdrawn", entry.version, "withdrawn")


async def _store_assets(bundle: Bundle, organisation: Organisation, now: datetime) -> int:
    """Store the referenced files whose bytes changed; returns how many were written."""
    stored = 0
    for path in bundle.assets:
        data = (bundle.root / path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        kind = (
            ASSET_TYPES.get(Path(path).suffix.lower())
            or mimetypes.guess_type(path)[0]
            or "application/octet-stream"
        )
        row = await GuideAsset.get_or_none(organisation_id=organisation.id, path=path)
        if row is not None and row.sha256 == digest:
            continue
        if row is None:
            await GuideAsset.create(
                organisation_id=organisation.id,
                path=path,
                content_type=kind,
                sha256=digest,
                size=len(data),
                data=data,
                updated_at=now,
            )
        else:
            await GuideAsset.filter(id=row.id).update(
                content_type=kind, sha256=digest, size=len(data), data=data, updated_at=now
            )
        stored += 1
    return stored


async def find_asset(organisation_slug: str, path: str) -> GuideAsset | None:
    """A stored asset by organisation and bundle-relative path."""
    return await GuideAsset.get_or_none(organisation__slug=organisation_slug, path=path)


def describe(report: ImportReport) -> dict[str, Any]:
    """The report as plain values (for the CLI and logs)."""
    return {
        "organisation": report.organisation,
        "files": [vars(f) for f in report.files],
        "assets": report.assets_stored,
        "collections": report.collections,
    }
