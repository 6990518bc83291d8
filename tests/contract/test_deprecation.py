"""The deprecation policy, enforced: nothing of the last release's schema disappears
unless that release already marked it `@deprecated`.

The last release's SDL is kept in graphql/releases/<version>.graphql (the
newest version there is the baseline). `removal_problems` compares it with the
current graphql/schema.graphql using graphql-core's `find_breaking_changes`:
a removed field, argument, input field or enum value is allowed only when it
carried `@deprecated` in the old SDL; a removed type only when every field,
argument and input field that used it was deprecated there; any other breaking
change (a changed type, a new required argument) always fails. Dangerous
changes are returned for reading, never fail. The policy is docs/api-versioning.md.
"""

from __future__ import annotations

import re
from pathlib import Path

from graphql import (
    BreakingChangeType,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    get_named_type,
)

GRAPHQL = Path(__file__).resolve().parents[2] / "graphql"
FIELD = re.compile(r"^Field (\w+)\.(\w+) was removed\.$")
ARG = re.compile(r"^Argument (\w+)\.(\w+)\((\w+):\) was removed\.$")
VALUE = re.compile(r"^Enum value (\w+)\.(\w+) was removed\.$")
TYPE = re.compile(r"^(\w+) was removed\.$")


def load(sdl: str) -> GraphQLSchema:
    # The federation directives (@link, @key) are not defined in the SDL itself.
    return build_schema(sdl, assume_valid_sdl=True)


def _deprecated_field(old: GraphQLSchema, type_name: str, field: str) -> bool:
    t = old.get_type(type_name)
    if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
        f = t.fields.get(field)
        return f is not None and f.deprecation_reason is not None
    return False


def _deprecated_arg(old: GraphQLSchema, type_name: str, field: str, arg: str) -> bool:
    t = old.get_type(type_name)
    if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType)) and field in t.fields:
        a = t.fields[field].args.get(arg)
        return a is not None and (
            a.deprecation_reason is not None or t.fields[field].deprecation_reason is not None
        )
    return False


def _deprecated_value(old: GraphQLSchema, enum: str, value: str) -> bool:
    t = old.get_type(enum)
    return (
        isinstance(t, GraphQLEnumType)
        and value in t.values
        and t.values[value].deprecation_reason is not None
    )


def _only_used_deprecated(old: GraphQLSchema, name: str) -> bool:
    """Whether every use of a type in the old schema was already deprecated."""
    for t in old.type_map.values():
        if t.name.startswith("__"):
            continue
        if isinstance(t, GraphQLUnionType) and any(m.name == name for m in t.types):
            return False
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType)):
            if any(i.name == name for i in t.interfaces):
                return False
            for f in t.fields.values():
                if get_named_type(f.type).name == name and f.deprecation_reason is None:
                    return False
                for a in f.args.values():
                    if (
                        get_named_type(a.type).name == name
                        and a.deprecation_reason is None
                        and f.deprecation_reason is None
                    ):
                        return False
        if isinstance(t, GraphQLInputObjectType) and any(
            get_named_type(f.type).name == name and f.deprecation_reason is None
            for f in t.fields.values()
        ):
            return False
    return True


def _allowed(old: GraphQLSchema, kind: BreakingChangeType, description: str) -> bool:
    if kind == BreakingChangeType.FIELD_REMOVED and (m := FIELD.match(description)):
        return _deprecated_field(old, m[1], m[2])
    if kind == BreakingChangeType.ARG_REMOVED and (m := ARG.match(description)):
        return _deprecated_arg(old, m[1], m[2], m[3])
    if kind == BreakingChangeType.VALUE_REMOVED_FROM_ENUM and (m := VALUE.match(description)):
        return _deprecated_value(old, m[1], m[2])
    if kind == BreakingChangeType.TYPE_REMOVED and (m := TYPE.match(description)):
        return _only_used_deprecated(old, m[1])
    return False


def removal_problems(old_sdl: str, new_sdl: str) -> tuple[list[str], list[str]]:
    """(breaking changes the policy forbids, dangerous changes to read) from old to new."""
    old, new = load(old_sdl), load(new_sdl)
    problems = [
        f"{c.type.name}: {c.description}"
        for c in find_breaking_changes(old, new)
        if not _allowed(old, c.type, c.description)
    ]
    dangerous = [f"{c.type.name}: {c.description}" for c in find_dangerous_changes(old, new)]
    return problems, dangerous


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.stem.split("."))


def latest_release() -> Path:
    releases = sorted((GRAPHQL / "releases").glob("*.graphql"), key=_version)
    assert releases, "graphql/releases/ must hold the SDL of the last release"
    return releases[-1]


def test_current_schema_keeps_everything_the_last_release_did_not_deprecate() -> None:
    release = latest_release()
    problems, _ = removal_problems(
        release.read_text(encoding="utf-8"),
        (GRAPHQL / "schema.graphql").read_text(encoding="utf-8"),
    )
    assert problems == [], (
        f"graphql/schema.graphql breaks clients of release {release.stem}; deprecate first "
        f"(docs/api-versioning.md): {problems}"
    )


OLD = """
type Query {
  entry(id: ID!, lang: String @deprecated(reason: "ignored")): Entry
  legacy: Old @deprecated(reason: "use entry")
  title: String @deprecated(reason: "use entry.title")
  count: Int
  kind: Kind
}
type Entry { id: ID!, name: String }
type Old { x: Int }
enum Kind { PROJECT GUIDE LESSON @deprecated(reason: "gone soon") }
"""


def test_checker_allows_removing_what_was_deprecated() -> None:
    new = """
type Query { entry(id: ID!): Entry, count: Int, kind: Kind }
type Entry { id: ID!, name: String }
enum Kind { PROJECT GUIDE }
"""
    problems, _ = removal_problems(OLD, new)
    assert problems == []  # legacy, title, Old, LESSON and the lang argument were deprecated


def test_checker_refuses_removing_what_was_not_deprecated() -> None:
    new = """
type Query { entry(id: ID!): Entry, kind: Kind, legacy: Old, title: String }
type Entry { id: ID! }
type Old { x: Int }
enum Kind { GUIDE LESSON }
"""
    problems, _ = removal_problems(OLD, new)
    assert sorted(problems) == [
        "FIELD_REMOVED: Field Entry.name was removed.",
        "FIELD_REMOVED: Field Query.count was removed.",
        "VALUE_REMOVED_FROM_ENUM: Enum value Kind.PROJECT was removed.",
    ]


def test_checker_refuses_other_breaking_changes_and_reports_dangerous_ones() -> None:
    new = OLD.replace("count: Int", "count: String").replace(
        "enum Kind { PROJECT", "enum Kind { DRAFT PROJECT"
    )
    problems, dangerous = removal_problems(OLD, new)
    assert problems == ["FIELD_CHANGED_KIND: Field Query.count changed type from Int to String."]
    assert dangerous == ["VALUE_ADDED_TO_ENUM: Enum value Kind.DRAFT was added."]
