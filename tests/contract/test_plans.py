"""Plans answer exactly what graphql-core answers.

`FastExecutor` completes plain-data subtrees of queries from plans
(exchange/api/plans.py) and falls back to graphql-core's general path when
anything is unusual. Each query here runs twice, once with `FastExecutor` and
once with graphql-core's own executor on the same schema, and the two results
(data and errors, with their paths) must be equal. The demo catalogue covers
the real schema; a small schema of its own covers the unusual cases (errors,
nulls in non-null positions, awaitables, refused values, abstract types).
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import pytest
import strawberry
from graphql.execution.incremental.incremental_executor import IncrementalExecutor

from exchange.api.context import Context
from exchange.api.execution import FastExecutor, is_awaitable, prepare_schema
from exchange.api.schema import schema as strawberry_schema
from graphql import GraphQLSchema, execute, parse
from tests.contract.conftest import DemoNode, operation

pytestmark = pytest.mark.asyncio(loop_scope="module")


class _CountingExecutor(FastExecutor):
    """FastExecutor that remembers how many fields its plans answered."""

    answered = 0

    def execute_field(self, parent_type: Any, source: Any, field_details_list: Any, path: Any,
                      position_context: Any) -> Any:
        step = self._plan(parent_type, field_details_list, path.key)
        result = super().execute_field(parent_type, source, field_details_list, path, position_context)
        if step is not None:
            type(self).answered += 1
        return result


async def _run(schema: GraphQLSchema, query: str, variables: dict[str, Any], context: Any,
               executor: type) -> Any:
    outcome = execute(schema, parse(query), context_value=context, variable_values=variables,
                      is_awaitable=is_awaitable, executor_class=executor)
    if asyncio.iscoroutine(outcome):
        outcome = await outcome
    errors = sorted((e.message, tuple(e.path or ())) for e in outcome.errors or [])
    return outcome.data, errors


async def _both(schema: GraphQLSchema, query: str, variables: dict[str, Any], make_context: Any) -> Any:
    fast = await _run(schema, query, variables, make_context(), FastExecutor)
    plain = await _run(schema, query, variables, make_context(), IncrementalExecutor)
    assert fast == plain
    return fast


# ------------------------------------------------------------------ the real schema, demo data

QUERIES: list[tuple[str, dict[str, Any]]] = [
    (operation("Catalogue"), {"first": 50}),
    (operation("Catalogue"), {"first": 7, "filter": {"kinds": ["GUIDE", "LESSON"]}}),
    ("""query($en: Boolean!, $lang: String!) {
          entries(first: 30) { edges { cursor node {
            __typename id kind title summary keywords createdAt deleted
            topics { slug label(language: $lang) de: label parent { slug } }
            publisher { __typename name ... on Municipality { officialKey } }
            contact @include(if: $en) { role }
            ... on ProjectDescription { status budgetEur goals { goal indicators { name baseline target actual } } }
            ... on Guide { audience checklist reviewState }
            ... on LessonLearned { whatWorked project { id title } }
          } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }""",
     {"en": True, "lang": "en"}),
    ("""{ topics { slug label(language: "en") children { slug label } } }""", {}),
    ("""{ municipalities(first: 20, filter: { namePrefix: "K" }) { edges { node {
          name officialKey ... on Municipality { land } } } } }""", {}),
]


@pytest.mark.parametrize("index", range(len(QUERIES)))
async def test_plans_answer_as_graphql_core_on_the_real_schema(demo_node: DemoNode, index: int) -> None:
    schema = prepare_schema(strawberry_schema._schema)
    query, variables = QUERIES[index]

    def make_context() -> Context:
        return Context(actor=None, services=demo_node.node.services)  # type: ignore[arg-type]

    with demo_node.db.bound():
        data, errors = await _both(schema, query, variables, make_context)
    assert data is not None and not errors, errors


async def test_the_catalogue_page_is_answered_by_plans(demo_node: DemoNode) -> None:
    schema = prepare_schema(strawberry_schema._schema)
    _CountingExecutor.answered = 0
    with demo_node.db.bound():
        data, errors = await _run(schema, operation("Catalogue"), {"first": 50},
                                  Context(actor=None, services=demo_node.node.services),  # type: ignore[arg-type]
                                  _CountingExecutor)
    assert not errors and data["entries"]["edges"]
    assert _CountingExecutor.answered >= 2  # edges and pageInfo


# ------------------------------------------------------------------ unusual cases, a schema of their own

@strawberry.enum
class PlanColour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class PlanShape:
    name: str


@strawberry.type
class PlanBox(PlanShape):
    size: int
    colour: PlanColour | None
    maybe: str | None
    must: str

    @strawberry.field
    def double(self, times: int = 2) -> int:
        if self.size < 0:
            raise ValueError("negative box")
        return self.size * times

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"later {self.name}"


@strawberry.type
class PlanBall(PlanShape):
    radius: float


@strawberry.type
class PlanQuery:
    @strawberry.field
    def shapes(self, kind: str = "good") -> list[PlanShape]:
        boxes: list[PlanShape] = [PlanBox(name=f"b{i}", size=i, colour=PlanColour.RED if i % 2 else None,
                                          maybe=None, must="ok") for i in range(4)]
        boxes.append(PlanBall(name="ball", radius=1.5))
        if kind == "raises":
            boxes.append(PlanBox(name="bad", size=-1, colour=None, maybe=None, must="ok"))
        if kind == "null":
            boxes.append(PlanBox(name="hole", size=1, colour=None, maybe=None, must=None))  # type: ignore[arg-type]
        if kind == "colour":
            boxes.append(PlanBox(name="odd", size=1, colour="green", maybe=None, must="ok"))  # type: ignore[arg-type]
        return boxes

    @strawberry.field
    def boxes(self) -> list[PlanBox | None]:
        return [PlanBox(name="x", size=1, colour=None, maybe="m", must="ok"), None]


_SMALL = prepare_schema(strawberry.Schema(query=PlanQuery, types=[PlanBox, PlanBall])._schema)
SHAPES = """query($kind: String!, $times: Int!, $skip: Boolean!) { shapes(kind: $kind) {
  __typename name
  ... on PlanBox { size colour maybe must d: double(times: $times) dd: double later @skip(if: $skip) }
  ... on PlanBall { radius }
} boxes { name maybe double } }"""


@pytest.mark.parametrize("kind", ["good", "raises", "null", "colour"])
@pytest.mark.parametrize("skip", [True, False])
async def test_plans_answer_as_graphql_core_when_things_go_wrong(kind: str, skip: bool) -> None:
    variables = {"kind": kind, "times": 3, "skip": skip}
    data, errors = await _both(_SMALL, SHAPES, variables, lambda: None)
    if kind == "good":
        assert not errors and data["shapes"][1]["d"] == 3
    else:
        assert errors  # the general path reported it, with its path


# ------------------------------------------------------------------ long texts read only when selected

async def test_a_page_reads_long_texts_only_when_a_field_shows_them(demo_node: DemoNode) -> None:
    from exchange.api.selection import unselected_texts
    from exchange.search import LONG_TEXTS

    assert unselected_texts({"id", "title"}) == LONG_TEXTS
    assert unselected_texts({"bodyHtml", "whatWorked"}) == LONG_TEXTS - {"body_html", "what_worked"}
    page = await demo_node.gql("""{ entries(first: 50) { edges { node { id bodyHtml bodyMarkdown
        ... on LessonLearned { whatWorked whatDidNot transferPreconditions costsStaffing } } } } }""")
    nodes = [e["node"] for e in page["data"]["entries"]["edges"]]
    lessons = [n for n in nodes if "whatWorked" in n]
    assert nodes and lessons and all(n["bodyHtml"] and n["bodyMarkdown"] for n in nodes)
    for node in nodes[:12] + lessons[:4]:
        one = await demo_node.gql("""query($id: ID!) { entry(id: $id) { id bodyHtml bodyMarkdown
            ... on LessonLearned { whatWorked whatDidNot transferPreconditions costsStaffing } } }""",
                                  {"id": node["id"]})
        assert one["data"]["entry"] == node
    # an alias or a fragment still counts as showing the text
    aliased = await demo_node.gql("""{ entries(first: 3) { edges { node { text: bodyMarkdown
        ...F } } } } fragment F on Entry { html: bodyHtml }""")
    assert all(e["node"]["text"] and e["node"]["html"] for e in aliased["data"]["entries"]["edges"])


async def test_only_long_texts_can_be_left_out() -> None:
    from exchange.search.filters import _entry_columns

    assert "'' AS body_html" in _entry_columns(frozenset({"body_html"}))
    with pytest.raises(ValueError, match="only long texts"):
        _entry_columns(frozenset({"title"}))


# ------------------------------------------------------------------ plans kept across requests

async def test_kept_plans_follow_the_variables_their_subtree_uses(demo_node: DemoNode) -> None:
    """One parsed document, as the endpoint caches it, run with changing variables: each answer
    equals graphql-core's; a variable outside the subtree (the cursor) makes no new plan."""
    from exchange.api.execution import _PLAN_CACHES
    from graphql import DocumentNode

    schema = prepare_schema(strawberry_schema._schema)
    document: DocumentNode = parse("""query($lang: String!, $withTopics: Boolean!, $after: String) {
      entries(first: 5, after: $after) { pageInfo { endCursor } edges { node { id title
        topics @include(if: $withTopics) { slug label(language: $lang) } } } } }""")

    async def both(variables: dict[str, Any]) -> Any:
        answers = []
        for executor in (FastExecutor, IncrementalExecutor):
            outcome = execute(schema, document, context_value=Context(actor=None, services=demo_node.node.services),  # type: ignore[arg-type]
                              variable_values=variables, is_awaitable=is_awaitable, executor_class=executor)
            answers.append(await outcome if asyncio.iscoroutine(outcome) else outcome)
        assert answers[0].data == answers[1].data and not answers[0].errors and not answers[1].errors
        return answers[0].data

    with demo_node.db.bound():
        de = await both({"lang": "de", "withTopics": True})
        en = await both({"lang": "en", "withTopics": True})
        bare = await both({"lang": "en", "withTopics": False})
        again = await both({"lang": "de", "withTopics": True})
        labels = [t["label"] for e in de["entries"]["edges"] for t in e["node"]["topics"]]
        assert labels != [t["label"] for e in en["entries"]["edges"] for t in e["node"]["topics"]]
        assert again == de and "topics" not in bare["entries"]["edges"][0]["node"]
        plans = _PLAN_CACHES[id(schema)][1]
        before = len(plans._plans)
        cursor = de["entries"]["pageInfo"]["endCursor"]
        for _ in range(3):
            page = await both({"lang": "de", "withTopics": True, "after": cursor})
            cursor = page["entries"]["pageInfo"]["endCursor"]
        assert len(plans._plans) == before
