"""Turning the selection set of an entry (and its topics and publisher) into one JSON expression.

The tables below say, for each field the compiler knows, which SQL gives the
value the GraphQL field serializes to (see `types.entry_of`, `topics.Topic`,
`types.Municipality.from_model`). A field that is not in them, an argument
other than a topic's `language`, or a directive other than @include/@skip
raises `Unknown`, and the root field is then executed the general way.
Sub-selections are collected by graphql-core (`collect_subfields`), so
fragments, type conditions, aliases and @include/@skip are resolved as
execution resolves them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql.execution.values import get_argument_values

from exchange.api.compile import sql
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType

Expr = Callable[[str, str], str]  # (dialect, alias of the row) -> SQL expression


class Unknown(Exception):
    """The selection asks for something the compiler does not know."""


def _column(name: str) -> Expr:
    return lambda d, a: f"{a}.{name}"


def _empty_is_null(name: str) -> Expr:
    return lambda d, a: f"nullif({a}.{name}, '')"


def _enum(name: str, default: str | None = None) -> Expr:
    # `X(e.value or default)` in Python: an empty value takes the default too
    if default is None:
        return lambda d, a: sql.enum_name(f"{a}.{name}")
    return lambda d, a: sql.enum_name(f"nullif({a}.{name}, '')", default)


ENTRY: dict[str, Expr] = {
    "id": lambda d, a: sql.uuid_text(d, f"{a}.uid"),
    "kind": _enum("kind"),
    "title": _column("title"),
    "summary": _column("summary"),
    "bodyMarkdown": _column("body_markdown"),
    "bodyHtml": _column("body_html"),
    "language": _column("language"),
    "license": _column("license"),
    "visibility": _enum("visibility"),
    "version": _column("version"),
    "originNode": _column("origin_node"),
    "createdAt": lambda d, a: sql.timestamp(d, f"{a}.created_at"),
    "updatedAt": lambda d, a: sql.timestamp(d, f"{a}.updated_at"),
    "deleted": lambda d, a: sql.boolean(d, f"{a}.deleted"),
    "keywords": lambda d, a: sql.text_list(d, f"{a}.keywords"),
}
BY_KIND: dict[str, dict[str, Expr]] = {
    "ProjectDescription": {
        "status": _enum("status", "planned"),
        "periodStart": _column("period_start"),
        "periodEnd": _column("period_end"),
        "budgetEur": lambda d, a: f"CASE WHEN {a}.budget_currency = 'EUR' THEN {a}.budget_eur END",
        "budgetAmount": _column("budget_eur"),
        "budgetCurrency": _column("budget_currency"),
        "fundingProgramme": _column("funding_programme"),
        "partners": lambda d, a: sql.text_list(d, f"{a}.partners"),
    },
    "Guide": {
        "audience": _column("audience"),
        "checklist": lambda d, a: sql.text_list(d, f"{a}.checklist"),
        "reviewState": _enum("review_state", "published"),
    },
    "LessonLearned": {
        "whatWorked": _column("what_worked"),
        "whatDidNot": _column("what_did_not"),
        "transferPreconditions": _column("transfer_preconditions"),
        "costsStaffing": _column("costs_staffing"),
    },
    "Call": {},  # its terms are answered field by field (api.calls)
}
# the entry's `kind` column -> its GraphQL type (types.entry_of: anything else is a lesson)
KINDS = (("project", "ProjectDescription"), ("guide", "Guide"), ("call", "Call"))
OTHER_KIND = "LessonLearned"
# long texts of the entry row -> the field that shows each (as api.selection)
TEXT_FIELDS = {"bodyMarkdown": "body_markdown", "bodyHtml": "body_html", "whatWorked": "what_worked",
               "whatDidNot": "what_did_not", "transferPreconditions": "transfer_preconditions",
               "costsStaffing": "costs_staffing"}
TOPIC: dict[str, Expr] = {
    "slug": _column("slug"),
    "labelDe": _column("label_de"),
    "labelEn": _column("label_en"),
    "scheme": _column("scheme"),
    "euTheme": _empty_is_null("eu_theme"),
}
MUNICIPALITY: dict[str, Expr] = {
    "name": _column("name"),
    "officialKey": _column("official_key"),
    "ags": _column("ags"),
    "scheme": _column("scheme"),
    "level": _column("level"),
    "typeLabel": _column("type_label"),
    "state": _column("land_name"),
    "stateCode": _column("land_code"),
    "association": _empty_is_null("verband_name"),
    "population": _column("population"),
    "sizeClass": _column("size_class"),
    "active": lambda d, a: sql.boolean(d, f"{a}.active"),
    "postcode": _column("postcode"),
}
ORGANISATION: dict[str, Expr] = {
    "name": _column("name"), "slug": _column("slug"), "kind": _column("kind"),
    "website": _column("website"), "description": _column("description"),
}
KREIS: dict[str, Expr] = {"officialKey": _column("kreis_key"), "name": _column("kreis_name")}
CONTACT: dict[str, Expr] = {"role": _column("contact_role"), "email": _empty_is_null("contact_email")}


def plain(details: Any, arguments: bool = False) -> None:
    """Refuse arguments (unless `arguments`) and directives other than @include/@skip
    (already applied by collecting)."""
    for d in details:
        if (d.node.arguments and not arguments) or d.defer_usage is not None \
                or d.fragment_variable_values is not None:
            raise Unknown(d.node.name.value)
        if any(x.name.value not in ("include", "skip") for x in d.node.directives or ()):
            raise Unknown(d.node.name.value)


def named(kind: Any) -> Any:
    while isinstance(kind, (GraphQLNonNull, GraphQLList)):
        kind = kind.of_type
    return kind


class Compiler:
    """Compiles the selections of one request (`ex`: its graphql-core executor) for one dialect."""

    def __init__(self, ex: Any, dialect: str) -> None:
        self.ex = ex
        self.dialect = dialect
        self.texts: set[str] = set()  # long texts some selected field shows

    def collect(self, type_name: str, details: Any) -> dict[str, Any]:
        kind = self.ex.schema.get_type(type_name)
        assert isinstance(kind, GraphQLObjectType)
        grouped, new_defers, *_ = self.ex.collect_subfields(kind, details)
        if new_defers:
            raise Unknown("@defer")
        return grouped  # type: ignore[no-any-return]

    def fields(self, type_name: str, details: Any, table: dict[str, Expr], alias: str,
               nested: Callable[[str, Any], str] | None = None) -> str:
        """The JSON object of one GraphQL object type over the row `alias`."""
        d = self.dialect
        pairs: list[tuple[str, str]] = []
        for key, sub in self.collect(type_name, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                pairs.append((key, sql.literal(type_name)))
                continue
            if name in table and not any(s.node.selection_set for s in sub):
                plain(sub)
                pairs.append((key, table[name](d, alias)))
                if name in TEXT_FIELDS:
                    self.texts.add(TEXT_FIELDS[name])
            elif nested is not None:
                pairs.append((key, nested(name, sub)))
            else:
                raise Unknown(f"{type_name}.{name}")
        return sql.obj(d, pairs)

    def nested(self, alias: str) -> Callable[[str, Any], str]:
        """The relations of the entry `alias`: topics, publisher, contact, a lesson's project."""
        def nested(name: str, sub: Any) -> str:
            if name == "topics":
                return self.topics(sub, alias)
            if name == "publisher":
                return self.publisher(sub, alias)
            if name == "contact":
                plain(sub)
                body = self.fields("Contact", sub, CONTACT, alias)
                return sql.as_json(self.dialect, f"CASE WHEN coalesce({alias}.contact_role, '') <> '' OR "
                                                 f"coalesce({alias}.contact_email, '') <> '' THEN {body} END")
            if name == "project" and alias != "pr":
                # types.LessonLearned.project: the entry its project_uid names, if the viewer sees it
                plain(sub)
                body = self.fields("ProjectDescription", sub, {**ENTRY, **BY_KIND["ProjectDescription"]}, "pr",
                                   self.nested("pr"))
                return sql.as_json(self.dialect, f"(SELECT {body} FROM entry pr WHERE pr.uid = {alias}.project_uid "
                                                 f"AND pr.kind = 'project' AND {sql.viewer('pr')})")
            raise Unknown(f"Entry.{name}")
        return nested

    def entry(self, details: Any, alias: str) -> str:
        """The JSON of an entry node: one object per kind, chosen by the row's kind."""
        by_type = {name: self.fields(name, details, {**ENTRY, **BY_KIND[name]}, alias, self.nested(alias))
                   for name in (*(t for _, t in KINDS), OTHER_KIND)}
        whens = " ".join(f"WHEN '{kind}' THEN {by_type[name]}" for kind, name in KINDS)
        return sql.as_json(self.dialect, f"CASE {alias}.kind {whens} ELSE {by_type[OTHER_KIND]} END")

    def topics(self, details: Any, alias: str) -> str:
        plain(details)
        table = dict(TOPIC)
        for key, sub in self.collect("Topic", details).items():
            if sub[0].node.name.value == "label":
                if sub[0].fragment_variable_values is not None or any(s.node.selection_set for s in sub):
                    raise Unknown("label")
                field = self.ex.schema.get_type("Topic").fields["label"]
                language = get_argument_values(field, sub[0].node, self.ex.variable_values).get("language")
                column = "label_en" if language == "en" else "label_de"
                table[f"label {key}"] = _column(column)
        item = self._topic_object(details, table)
        source = f"entry_topic et JOIN topic t ON t.id = et.topic_id WHERE et.entry_id = {alias}.id"
        return sql.array(self.dialect, item, source, f"t.position, {sql.order_by_slug(self.dialect, 't.slug')}")

    def _topic_object(self, details: Any, table: dict[str, Expr]) -> str:
        pairs: list[tuple[str, str]] = []
        for key, sub in self.collect("Topic", details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                pairs.append((key, sql.literal("Topic")))
            elif name == "label":
                pairs.append((key, table[f"label {key}"](self.dialect, "t")))
            elif name in TOPIC and not any(s.node.selection_set for s in sub):
                plain(sub)
                pairs.append((key, TOPIC[name](self.dialect, "t")))
            else:
                raise Unknown(f"Topic.{name}")
        return sql.obj(self.dialect, pairs)

    def publisher(self, details: Any, alias: str) -> str:
        plain(details)
        muni = self.fields("Municipality", details, MUNICIPALITY, "m")
        org = self.fields("Organisation", details, ORGANISATION, "o")
        d = self.dialect
        return sql.as_json(d, (
            f"CASE WHEN {alias}.municipality_id IS NOT NULL THEN "
            f"{sql.as_json(d, f'(SELECT {muni} FROM municipality m WHERE m.id = {alias}.municipality_id)')} "
            f"WHEN {alias}.organisation_id IS NOT NULL THEN "
            f"{sql.as_json(d, f'(SELECT {org} FROM organisation o WHERE o.id = {alias}.organisation_id)')} END"))
