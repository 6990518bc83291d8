"""The GraphQL API of a node: strawberry types, resolvers and GraphQL over HTTP.

`schema` assembles the schema from one module per area (`queries` and
`mutations` for the catalogue, `matching`, `curation`, `federation`,
`tokens`); none of them imports it back. The types they share are in
`types` (entries, publishers, endorsements and pages of entries, which refer
to each other), `topics`, `values` and `enums`; `inputs` holds the input
types. `http` serves the schema (`GraphQLEndpoint`) with `context`,
`loaders`, `limits`, `plans` and `execution`; `cursors` encodes keyset
positions, `assets` serves guide files and `graphiql` the in-browser IDE.
"""

from exchange.api.http import GraphQLEndpoint
from exchange.api.schema import export_sdl, schema

__all__ = ["GraphQLEndpoint", "export_sdl", "schema"]
