"""The contract in the repo: the exported SDL and every operation file.

`graphql/schema.graphql` must be what `exchange export-schema` prints (run
`python -m exchange export-schema > graphql/schema.graphql` after changing the
schema), and every `graphql/operations/*.graphql` must validate against it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exchange.api.schema import export_sdl, schema
from graphql import GraphQLSchema, OperationDefinitionNode, build_schema, parse, validate
from tests.contract.conftest import OPERATIONS, REPO

SDL_FILE = REPO / "graphql" / "schema.graphql"
ACCEPTANCE = ("Catalogue", "Entry", "Municipality", "PeerMatches", "Publish")
# What a federation gateway knows before it reads a subgraph: the directives the SDL imports.
FEDERATION_PRELUDE = """
directive @link(url: String!, as: String, import: [link__Import], for: link__Purpose) repeatable on SCHEMA
directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
scalar FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
"""


def exported_schema() -> GraphQLSchema:
    return build_schema(FEDERATION_PRELUDE + SDL_FILE.read_text(encoding="utf-8"))


def test_exported_sdl_matches_the_file() -> None:
    assert SDL_FILE.read_text(encoding="utf-8") == export_sdl(), (
        "graphql/schema.graphql drifted from the code: "
        "run `python -m exchange export-schema > graphql/schema.graphql`"
    )


def test_cli_export_schema_prints_the_file() -> None:
    done = subprocess.run([sys.executable, "-m", "exchange", "export-schema"], capture_output=True, check=False,
                          text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout == SDL_FILE.read_text(encoding="utf-8")


def test_every_type_and_field_has_a_description() -> None:
    missing = []
    for name, t in schema._schema.type_map.items():
        if name.startswith(("__", "_", "link__")) or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        if not getattr(t, "description", None):
            missing.append(name)
        for field_name, f in (getattr(t, "fields", None) or {}).items():
            if not field_name.startswith("_") and not f.description:
                missing.append(f"{name}.{field_name}")
    assert not missing, f"types and fields without a description: {missing}"


def test_acceptance_operations_are_in_the_repo() -> None:
    for name in ACCEPTANCE:
        assert (OPERATIONS / f"{name}.graphql").is_file(), name


def test_exported_sdl_builds_to_the_same_types() -> None:
    exported = exported_schema()
    live = {n for n in schema._schema.type_map if not n.startswith("_")}
    assert live <= set(exported.type_map)
    for name in ("Entry", "Publisher", "Query", "Mutation"):
        assert set(exported.type_map[name].fields) == set(schema._schema.type_map[name].fields)  # type: ignore[attr-defined]


def _operation_files() -> list[Path]:
    return sorted(OPERATIONS.glob("*.graphql"))


@pytest.mark.parametrize("path", _operation_files(), ids=lambda p: p.stem)
def test_operation_validates_against_the_exported_schema(path: Path) -> None:
    exported = exported_schema()
    document = parse(path.read_text(encoding="utf-8"))
    errors = validate(exported, document)
    assert not errors, f"{path.name}: " + "; ".join(e.message for e in errors)
    # the same against the live schema object (the SDL could hide a directive mismatch)
    assert not validate(schema._schema, document)
    names = [d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name]
    assert names, f"{path.name} has no named operation"
