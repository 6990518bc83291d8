"""The strawberry schema of a node: an Apollo Federation 2 subgraph.

The root types are merged from one class per area of the node (catalogue,
matching, federation, curation), each in its own module of `exchange.api`.
"""

from __future__ import annotations

import strawberry
from strawberry.federation import Schema
from strawberry.tools import merge_types

from exchange.api.accounts import Mutation as AccountMutation
from exchange.api.accounts import Query as AccountQuery
from exchange.api.calls import Call
from exchange.api.calls import Mutation as CallMutation
from exchange.api.curation import Mutation as CurationMutation
from exchange.api.curation import Query as CurationQuery
from exchange.api.federation import Query as FederationQuery
from exchange.api.matching import Query as MatchingQuery
from exchange.api.mutations import Mutation as CatalogueMutation
from exchange.api.queries import Query as CatalogueQuery
from exchange.api.tokens import Mutation as TokenMutation
from exchange.api.tokens import Query as TokenQuery
from exchange.api.types import Guide, LessonLearned, Municipality, Organisation, ProjectDescription

QUERIES: tuple[type, ...] = (CatalogueQuery, FederationQuery, MatchingQuery)
MUTATIONS: tuple[type, ...] = (CatalogueMutation,)
QUERIES += (CurationQuery,)
MUTATIONS += (CurationMutation,)
QUERIES += (TokenQuery,)
MUTATIONS += (TokenMutation,)
QUERIES += (AccountQuery,)
MUTATIONS += (AccountMutation,)
MUTATIONS += (CallMutation,)
TYPES: list[type] = [ProjectDescription, Guide, LessonLearned, Call, Municipality, Organisation]


def build_schema() -> Schema:
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS)
    query.__strawberry_definition__.description = "Everything one can read from this node."  # type: ignore[attr-defined]
    mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined]
        "Writes. Each needs `Authorization: Bearer <token>`: with the publish scope for entries, "
        "the curate scope for curation; revokeToken, createApiToken and the people mutations say who may "
        "do what (a person's role for the publisher, or an operator)."
    )
    return Schema(
        query=query,
        mutation=mutation,
        types=TYPES,
        config=strawberry.schema.config.StrawberryConfig(auto_camel_case=True),
        # 2.9: the newest version both Apollo's and The Guild's composition understand; we need only @key
        federation_version="2.9",
    )


schema = build_schema()


def export_sdl() -> str:
    """The SDL as `graphql/schema.graphql` holds it."""
    return schema.as_str().rstrip() + "\n"
