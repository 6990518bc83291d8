"""The public catalogue as DCAT-AP.de 2.0: an rdflib graph built from plain entry values.

Pure: `build_catalog` takes `CatalogInfo` (this node) and `EntryRecord`s and
returns a `Graph`; `serialize` writes it as Turtle, RDF/XML or JSON-LD and
`negotiate` picks the format from `?format=` or the Accept header. The node is
a `dcat:Catalog`; each public entry a `dcat:Dataset` (DCAT-AP.de has no class
for documents, deprecates `dct:type` on datasets, and harvesters such as GovData
take only datasets and data services; the kind becomes a keyword); its Markdown and HTML are two
`dcat:Distribution`s. Entries received from peers are described once, with
their origin's URIs, as datasets of the origin's own `dcat:Catalog`, which
this catalogue lists as `dct:hasPart` (how the DCAT-AP.de reference example
links a harvested portal). Municipal publishers carry their register key:
`dct:identifier` on the agent, `dcatde:politicalGeocodingURI` (regionalKey
from the 12-digit ARS, districtKey for a Kreis) and the level on the dataset,
where DCAT-AP.de defines both. Large catalogues are paged with Hydra
(`hydra:PartialCollectionView`, also typed as the older `hydra:PagedCollection`
that ckanext-dcat's harvester follows). The register's attribution (dl-de/by-2-0,
© Destatis) goes into the catalogue's `dct:rights` whenever a page shows
register data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from exchange.errors import InvalidInputError
from exchange.opendata.records import EntryRecord, FileRecord, PublisherRecord

DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
EU_THEME = "http://publications.europa.eu/resource/authority/data-theme"
EU_LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
IANA = "https://www.iana.org/assignments/media-types/"
GEOCODING = "http://dcat-ap.de/def/politicalGeocoding/"
LICENCE_BASE = "http://dcat-ap.de/def/licenses/"
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"

# Our licence ids (SPDX, compared case-insensitively; a few spellings people use)
# -> (DCAT-AP.de licence URI, whether it requires attribution, label).
LICENCES: dict[str, tuple[str, bool, str]] = {
    "cc-by-4.0": (LICENCE_BASE + "cc-by/4.0", True, "Creative Commons Namensnennung 4.0"),
    "cc-by-sa-4.0": (LICENCE_BASE + "cc-by-sa/4.0", True, "CC BY-SA 4.0"),
    "cc-by-nd-4.0": (LICENCE_BASE + "cc-by-nd/4.0", True, "CC BY-ND 4.0"),
    "cc-by-nc-4.0": (LICENCE_BASE + "cc-by-nc/4.0", True, "CC BY-NC 4.0"),
    "cc-by-3.0-de": (LICENCE_BASE + "cc-by-de/3.0", True, "CC BY 3.0 DE"),
    "cc0-1.0": (LICENCE_BASE + "cc-zero", False, "CC0 1.0"),
    "dl-de-by-2.0": (
        LICENCE_BASE + "dl-by-de/2.0",
        True,
        "Datenlizenz Deutschland – Namensnennung – 2.0",
    ),
    "dl-de/by-2-0": (
        LICENCE_BASE + "dl-by-de/2.0",
        True,
        "Datenlizenz Deutschland – Namensnennung – 2.0",
    ),
    "dl-de-zero-2.0": (
        LICENCE_BASE + "dl-zero-de/2.0",
        False,
        "Datenlizenz Deutschland – Zero – 2.0",
    ),
    "dl-de/zero-2-0": (
        LICENCE_BASE + "dl-zero-de/2.0",
        False,
        "Datenlizenz Deutschland – Zero – 2.0",
    ),
    "odbl-1.0": (LICENCE_BASE + "odbl", True, "Open Database License 1.0"),
    "apache-2.0": (LICENCE_BASE + "apache", True, "Apache License 2.0"),
    "gpl-3.0": (LICENCE_BASE + "gpl/3.0", True, "GNU GPL 3.0"),
    "gpl-3.0-only": (LICENCE_BASE + "gpl/3.0", True, "GNU GPL 3.0"),
}
OTHER_OPEN = (LICENCE_BASE + "other-open", True, "andere offene Lizenz")
REGISTER_LICENCE = LICENCE_BASE + "dl-by-de/2.0"
LANGUAGE_CODES = {"de": "DEU", "en": "ENG"}
# DCAT-AP.de 2.0 deprecates dct:type on datasets, so the kind travels as a keyword.
KIND_KEYWORDS = {
    "project": {"de": "Projektbeschreibung", "en": "project description"},
    "guide": {"de": "Leitfaden", "en": "guide"},
    "lesson": {"de": "Erfahrungsbericht", "en": "lesson learned"},
    "call": {"de": "Partnersuche", "en": "call for partners"},
}
# Markdown has no code in the EU file-type table (the 2018 edition we validate
# against); it is plain text, so TXT, with the exact IANA media type beside it.
DISTRIBUTIONS = (
    ("md", "Markdown", "TXT", "text/markdown"),
    ("html", "HTML", "HTML", "text/html"),
)
# An attachment's media type -> its code in the EU file-type table.
FILE_TYPES = {
    "application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP",
    "application/vnd.oasis.opendocument.text": "ODT",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "text/csv": "CSV",
}
# ?format= value -> (media type, rdflib format)
FORMATS: dict[str, tuple[str, str]] = {
    "turtle": ("text/turtle", "turtle"),
    "rdfxml": ("application/rdf+xml", "xml"),
    "jsonld": ("application/ld+json", "json-ld"),
}
FORMAT_ALIASES = {
    "ttl": "turtle",
    "rdf": "rdfxml",
    "xml": "rdfxml",
    "json-ld": "jsonld",
    "json": "jsonld",
}


@dataclass(frozen=True)
class CatalogInfo:
    """What the catalogue says about this node."""

    node_url: str
    name: str
    default_license: str = "CC-BY-4.0"
    modified: datetime | None = None
    # GovData's id for this data provider (http://dcat-ap.de/def/contributors/...), assigned
    # on registration with GovData; without it convention K12/13 is not met.
    contributor_id: str = ""


@dataclass(frozen=True)
class PageInfo:
    """Which page of how many public entries this graph holds (1-based)."""

    page: int
    size: int
    total: int

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.size))


def licence_of(spdx: str) -> tuple[str, bool, str]:
    """(DCAT-AP.de URI, attribution required, label) of a licence id; unknown ids map to
    `other-open`, which is what DCAT-AP.de prescribes for open licences not in its list."""
    return LICENCES.get(spdx.strip().casefold(), OTHER_OPEN)


def register_attribution(register_date: str = "") -> str:
    year = f", {register_date[:4]}" if register_date[:4].isdigit() else ""
    return (
        "Gemeindenamen und amtliche Schlüssel: © Statistisches Bundesamt (Destatis)"
        f"{year}, Datenlizenz Deutschland – Namensnennung – 2.0 (dl-de/by-2-0)"
    )


def catalog_uri(node_url: str) -> URIRef:
    return URIRef(f"{node_url.rstrip('/')}/catalog")


def page_uri(node_url: str, page: int) -> URIRef:
    return URIRef(f"{node_url.rstrip('/')}/catalog?page={page}")


def _agent_uri(node_url: str) -> URIRef:
    return URIRef(f"{node_url.rstrip('/')}/#publisher")


def publisher_uri(node_url: str, p: PublisherRecord) -> URIRef:
    if p.kind == "municipality":
        return URIRef(f"{node_url.rstrip('/')}/municipalities/{p.key}")
    return URIRef(f"{node_url.rstrip('/')}/organisations/{p.key}")


def geocoding(p: PublisherRecord) -> tuple[URIRef, URIRef] | None:
    """(politicalGeocodingURI, politicalGeocodingLevelURI) of a municipal publisher."""
    if p.kind != "municipality" or not p.key.isdigit():
        return None
    if p.level == "kreis" or len(p.key) == 5:
        return URIRef(f"{GEOCODING}districtKey/{p.key[:5]}"), URIRef(
            f"{GEOCODING}Level/administrativeDistrict"
        )
    return URIRef(f"{GEOCODING}regionalKey/{p.key}"), URIRef(f"{GEOCODING}Level/municipality")


def _dt(value: datetime) -> Literal:
    return Literal(value.replace(microsecond=0).isoformat(), datatype=XSD.dateTime)


def _period(value: str) -> Literal:
    return Literal(value, datatype=XSD.gYearMonth if len(value) == 7 else XSD.date)


def _node_catalog(g: Graph, uri: URIRef, node_url: str, name: str, description: str) -> None:
    agent = _agent_uri(node_url)
    g.add((uri, RDF.type, DCAT.Catalog))
    g.add((uri, DCTERMS.title, Literal(name)))
    g.add((uri, DCTERMS.description, Literal(description, lang="de")))
    g.add((uri, DCTERMS.publisher, agent))
    g.add((uri, FOAF.homepage, URIRef(node_url.rstrip("/") + "/")))
    g.add((agent, RDF.type, FOAF.Organization))
    g.add((agent, FOAF.name, Literal(name)))


def _publisher(g: Graph, uri: URIRef, p: PublisherRecord) -> None:
    g.add((uri, RDF.type, FOAF.Organization))
    g.add((uri, FOAF.name, Literal(p.name)))
    g.add((uri, DCTERMS.identifier, Literal(p.key)))
    if p.kind == "municipality":
        g.add((uri, DCTERMS.type, URIRef(PUBLISHER_TYPE + "LocalAuthority")))
    if p.website:
        g.add((uri, FOAF.homepage, URIRef(p.website)))


def _contact(g: Graph, dataset: URIRef, e: EntryRecord) -> None:
    """The role address only (a person's details never leave the origin node)."""
    if not e.contact_email:
        return
    card = BNode()
    g.add((dataset, DCAT.contactPoint, card))
    g.add((card, RDF.type, VCARD.Organization))
    fn = e.contact_role or (e.publisher.name if e.publisher else e.title)
    g.add((card, VCARD.fn, Literal(fn)))
    g.add((card, VCARD.hasEmail, URIRef(f"mailto:{e.contact_email}")))


def add_dataset(g: Graph, e: EntryRecord, node_url: str, contributor_id: str = "") -> URIRef:
    """Describe one entry as a dcat:Dataset with two distributions; returns its URI."""
    ds = URIRef(e.url() + "#dataset")
    lang = e.language if e.language in LANGUAGE_CODES else None
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Literal(e.uid)))
    g.add((ds, DCTERMS.title, Literal(e.title, lang=lang)))
    g.add((ds, DCTERMS.description, Literal(e.summary or e.title, lang=lang)))
    g.add((ds, DCTERMS.issued, _dt(e.created_at)))
    g.add((ds, DCTERMS.modified, _dt(e.updated_at)))
    g.add((ds, DCAT.landingPage, URIRef(e.url())))
    if contributor_id:
        g.add((ds, DCATDE.contributorID, URIRef(contributor_id)))
    if lang:
        g.add((ds, DCTERMS.language, URIRef(EU_LANGUAGE + LANGUAGE_CODES[lang])))
    for keyword in (KIND_KEYWORDS.get(e.kind, {}).get(lang or "de", e.kind), *e.keywords):
        g.add((ds, DCAT.keyword, Literal(keyword, lang=lang)))
    for code in sorted({t.eu_theme for t in e.topics if t.eu_theme}):
        g.add((ds, DCAT.theme, URIRef(f"{EU_THEME}/{code}")))
    for topic in e.topics:
        if topic.uri:
            g.add((ds, DCTERMS.subject, URIRef(topic.uri)))
    if e.period_start or e.period_end:
        period = BNode()
        g.add((ds, DCTERMS.temporal, period))
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if e.period_start:
            g.add((period, DCAT.startDate, _period(e.period_start)))
        if e.period_end:
            g.add((period, DCAT.endDate, _period(e.period_end)))
    if e.publisher is not None:
        agent = publisher_uri(node_url, e.publisher)
        g.add((ds, DCTERMS.publisher, agent))
        _publisher(g, agent, e.publisher)
        geo = geocoding(e.publisher)
        if geo is not None:
            g.add((ds, DCATDE.politicalGeocodingURI, geo[0]))
            g.add((ds, DCATDE.politicalGeocodingLevelURI, geo[1]))
            g.add((ds, DCATDE.geocodingDescription, Literal(e.publisher.name)))
    _contact(g, ds, e)
    licence, by, _ = licence_of(e.license)
    for suffix, label, file_type, media in DISTRIBUTIONS:
        dist = URIRef(f"{e.url()}#{suffix}")
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(f"{e.title} ({label})", lang=lang)))
        g.add((dist, DCAT.accessURL, URIRef(e.url("." + suffix))))
        g.add((dist, DCAT.downloadURL, URIRef(e.url("." + suffix))))
        g.add((dist, DCTERMS.format, URIRef(EU_FILE_TYPE + file_type)))
        g.add((dist, DCAT.mediaType, URIRef(IANA + media)))
        g.add((dist, DCTERMS.license, URIRef(licence)))
        g.add((dist, DCTERMS.modified, _dt(e.updated_at)))
        if by and e.publisher is not None:
            g.add((dist, DCATDE.licenseAttributionByText, Literal(e.publisher.name)))
    for f in e.files:
        _file_distribution(g, ds, e, f)
    return ds


def _file_distribution(g: Graph, ds: URIRef, e: EntryRecord, f: FileRecord) -> None:
    """An attachment as a distribution: where to download it, its type, size and SHA-256."""
    url = URIRef(f"{e.origin.rstrip('/')}/attachments/{f.digest}")
    lang = f.language if f.language in LANGUAGE_CODES else None
    g.add((ds, DCAT.distribution, url))
    g.add((url, RDF.type, DCAT.Distribution))
    g.add((url, DCTERMS.title, Literal(f.title, lang=lang)))
    if f.description:
        g.add((url, DCTERMS.description, Literal(f.description, lang=lang)))
    g.add((url, DCAT.accessURL, url))
    g.add((url, DCAT.downloadURL, url))
    if f.media_type in FILE_TYPES:
        g.add((url, DCTERMS.format, URIRef(EU_FILE_TYPE + FILE_TYPES[f.media_type])))
    g.add((url, DCAT.mediaType, URIRef(IANA + f.media_type)))
    g.add((url, DCAT.byteSize, Literal(str(f.size), datatype=XSD.decimal)))
    if lang:
        g.add((url, DCTERMS.language, URIRef(EU_LANGUAGE + LANGUAGE_CODES[lang])))
    licence, by, _ = licence_of(f.license)
    g.add((url, DCTERMS.license, URIRef(licence)))
    if by and e.publisher is not None:
        g.add((url, DCATDE.licenseAttributionByText, Literal(e.publisher.name)))
    checksum = BNode()
    g.add((url, SPDX.checksum, checksum))
    g.add((checksum, RDF.type, SPDX.Checksum))
    g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    g.add((checksum, SPDX.checksumValue, Literal(f.digest, datatype=XSD.hexBinary)))


def _paging(g: Graph, catalog: URIRef, node_url: str, page: PageInfo) -> None:
    view = page_uri(node_url, page.page)
    g.add((catalog, HYDRA.view, view))
    g.add((view, RDF.type, HYDRA.PartialCollectionView))
    g.add((view, RDF.type, HYDRA.PagedCollection))
    g.add((view, HYDRA.totalItems, Literal(page.total, datatype=XSD.integer)))
    g.add((view, HYDRA.itemsPerPage, Literal(page.size, datatype=XSD.integer)))
    links = {"first": 1, "last": page.last}
    if page.page > 1:
        links["previous"] = page.page - 1
    if page.page < page.last:
        links["next"] = page.page + 1
    for name, number in links.items():
        target = page_uri(node_url, number)
        g.add((view, HYDRA[name], target))
        g.add((view, HYDRA[name + "Page"], Literal(str(target))))


def build_catalog(
    info: CatalogInfo, entries: Sequence[EntryRecord], page: PageInfo | None = None
) -> Graph:
    """The DCAT-AP.de graph of one page of the public catalogue."""
    g = new_graph()
    node = info.node_url.rstrip("/")
    catalog = catalog_uri(node)
    _node_catalog(
        g,
        catalog,
        node,
        info.name,
        f"Öffentliche Projektbeschreibungen, Leitfäden und Erfahrungsberichte von Kommunen, "
        f"veröffentlicht oder weitergegeben vom Austauschknoten {info.name}.",
    )
    g.add((catalog, DCTERMS.language, URIRef(EU_LANGUAGE + "DEU")))
    g.add((catalog, DCTERMS.license, URIRef(licence_of(info.default_license)[0])))
    g.add((catalog, DCAT.themeTaxonomy, URIRef(EU_THEME)))
    if info.modified is not None:
        g.add((catalog, DCTERMS.modified, _dt(info.modified)))
    origins: dict[str, URIRef] = {}
    for e in entries:
        ds = add_dataset(g, e, node, info.contributor_id)
        origin = e.origin.rstrip("/")
        if origin == node:
            g.add((catalog, DCAT.dataset, ds))
            continue
        if origin not in origins:
            origins[origin] = catalog_uri(origin)
            host = urlsplit(origin).netloc or origin
            _node_catalog(
                g,
                origins[origin],
                origin,
                f"Austauschknoten {host}",
                f"Katalog des Austauschknotens {origin}, von dem diese Einträge stammen.",
            )
            g.add((catalog, DCTERMS.hasPart, origins[origin]))
        g.add((origins[origin], DCAT.dataset, ds))
    dates = sorted(
        {e.publisher.register_date for e in entries if e.publisher and e.publisher.from_register}
    )
    if dates:
        g.add((catalog, DCTERMS.rights, Literal(register_attribution(dates[-1]), lang="de")))
    if page is not None:
        _paging(g, catalog, node, page)
    return g


def new_graph() -> Graph:
    g = Graph()
    for prefix, ns in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("dcatde", DCATDE),
        ("vcard", VCARD),
        ("hydra", HYDRA),
        ("spdx", SPDX),
        ("xsd", XSD),
    ):
        g.bind(prefix, ns)
    return g


def negotiate(accept: str | None, format_param: str | None) -> str:
    """The FORMATS key to answer with: `?format=` wins, then the Accept header
    (q-values honoured), then Turtle."""
    if format_param:
        key = FORMAT_ALIASES.get(format_param.strip().lower(), format_param.strip().lower())
        if key not in FORMATS:
            raise InvalidInputError(
                f"unknown format {format_param!r}; use one of {', '.join(sorted(FORMATS))}"
            )
        return key
    by_media = {media: key for key, (media, _) in FORMATS.items()}
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept or "").split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        found = by_media.get(media.lower())
        if found and quality > 0 and (best is None or (quality, -position) > best[:2]):
            best = (quality, -position, found)
    return best[2] if best else "turtle"


def serialize(graph: Graph, key: str) -> bytes:
    fmt = FORMATS[key][1]
    data = graph.serialize(format=fmt, encoding="utf-8")
    return data if isinstance(data, bytes) else data.encode("utf-8")
