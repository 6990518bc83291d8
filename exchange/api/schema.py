"""The strawberry schema of a node: an Apollo Federation 2 subgraph."""

from __future__ import annotations

import strawberry
from strawberry.federation import Schema

from exchange.api.mutations import Mutation
from exchange.api.queries import Query
from exchange.api.types import Guide, LessonLearned, Municipality, Organisation, ProjectDescription


def build_schema(query: type = Query, mutation: type = Mutation) -> Schema:
    return Schema(
        query=query,
        mutation=mutation,
        types=[ProjectDescription, Guide, LessonLearned, Municipality, Organisation],
        config=strawberry.schema.config.StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()


def export_sdl() -> str:
    """The SDL as `graphql/schema.graphql` holds it."""
    return schema.as_str().rstrip() + "\n"
