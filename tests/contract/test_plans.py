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
from exchange.api.direct import answer_directly
from exchange.api.execution import FastExecutor, is_awaitable, prepare_schema
from exchange.api.schema import schema as strawberry_schema
from graphql import GraphQLSchema, execute, parse
from tests.contract.conftest import OPERATIONS, DemoNode, operation

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
    # links: a field the SQL compiler leaves to execution, so the page is completed by plans
    query = operation("Catalogue").replace("updatedAt", "updatedAt links { relation }")
    with demo_node.db.bound():
        data, errors = await _run(schema, query, {"first": 50},
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


# ------------------------------------------------------------------ compiled root fields (api/compile)
# The same document through the executor the endpoint uses (compiled SQL where it knows the
# selection) and through graphql-core's own executor: the JSON must be the same bytes, for
# an anonymous reader, a member of another publisher and the publisher of the non-public entries.

OPERATION_VARIABLES: dict[str, list[dict[str, Any]]] = {
    "Catalogue": [{"first": 50}, {"first": 3}, {"first": 0}, {"first": 20, "filter": {"kinds": ["PROJECT"]}},
                  {"first": 10, "filter": {"languages": ["en"]}}, {"first": 5, "filter": {"text": "Daten"}},
                  {"first": 101}, {"first": 5, "after": "not a cursor"}, {"first": 5, "filter": {"publisher": "nobody"}}],
    "Entry": [],  # filled with ids of the catalogue below, as every operation with an `$id: ID!`
    "Municipality": [{"officialKey": "091620000000"}, {"officialKey": "066320013013"}, {"officialKey": "06632"},
                     {"officialKey": "06632001"}, {"officialKey": "000000000000"}, {"officialKey": "abc"}],
    "Changes": [{"first": 10}],
    "PeerMatches": [{"officialKey": "091620000000", "first": 3}],
    "ApiTokens": [{}],
}


async def _viewers() -> dict[str, Any]:
    """None, a member of another publisher, and the publisher of the demo's non-public entries."""
    from exchange.auth import Actor, Publisher
    from exchange.models import Entry, Municipality, Organisation

    hidden = await Entry.filter(visibility__not="public").first()
    assert hidden is not None, "the demo has entries that are not public"
    if hidden.municipality_id is not None:
        own = Publisher(kind="municipality", id=hidden.municipality_id, key="", name="")
    else:
        own = Publisher(kind="organisation", id=hidden.organisation_id, key="", name="")  # type: ignore[arg-type]
    other_org = await Organisation.exclude(id=own.id if own.kind == "organisation" else -1).first()
    other = Publisher(kind="organisation", id=other_org.id, key="", name="") if other_org is not None else \
        Publisher(kind="municipality", id=(await Municipality.first()).id, key="", name="")  # type: ignore[union-attr]
    scopes = frozenset({"publish"})
    return {"anonymous": None, "member": Actor(publisher=other, scopes=scopes),
            "publisher": Actor(publisher=own, scopes=scopes)}


async def _same_bytes(demo_node: DemoNode, query: str, variables: dict[str, Any], actor: Any) -> Any:
    import orjson

    from exchange.api.compile import ANSWERS

    schema = prepare_schema(strawberry_schema._schema)
    document = parse(query)
    answers = []
    for executor in (FastExecutor, IncrementalExecutor):
        outcome = execute(schema, document, variable_values=variables, is_awaitable=is_awaitable,
                          executor_class=executor,
                          context_value=Context(actor=actor, services=demo_node.node.services))  # type: ignore[arg-type]
        answers.append(await outcome if asyncio.iscoroutine(outcome) else outcome)
    fast, plain = answers
    assert orjson.dumps(fast.data) == orjson.dumps(plain.data)
    errors = [sorted((e.message, tuple(e.path or ())) for e in a.errors or []) for a in answers]
    assert errors[0] == errors[1]
    # without the executor: the endpoint's body, or None when the executor must answer
    direct = await answer_directly(schema, document, None, variables,
                                   Context(actor=actor, services=demo_node.node.services))  # type: ignore[arg-type]
    if direct is not None:
        assert not plain.errors
        assert direct == orjson.dumps({"data": plain.data})
    return fast, ANSWERS


@pytest.mark.parametrize("viewer", ["anonymous", "member", "publisher"])
async def test_every_operation_answers_the_same_compiled_or_not(demo_node: DemoNode, viewer: str) -> None:
    from exchange.api.compile import ANSWERS

    with demo_node.db.bound():
        actor = (await _viewers())[viewer]
        before_entries, before_entry = ANSWERS["compiled entries"], ANSWERS["compiled entry"]
        before_direct = ANSWERS["direct"]
        seen: dict[str, int] = {}
        for path in sorted(OPERATIONS.glob("*.graphql")):
            name = path.stem
            if parse(operation(name)).definitions[0].operation.value != "query":  # type: ignore[attr-defined]
                continue
            cases = OPERATION_VARIABLES.get(name)
            if cases is None and "$id: ID!" in operation(name):
                cases = []  # an entry's operation: the entry ids below
            assert cases is not None, f"graphql/operations/{name}.graphql: add its variables to OPERATION_VARIABLES"
            if "$id: ID!" in operation(name):
                page, _ = await _same_bytes(demo_node, operation("Catalogue"), {"first": 60}, actor)
                ids = [e["node"]["id"] for e in page.data["entries"]["edges"]]
                cases = [{"id": i} for i in ids[:5] + ids[-5:]] + [{"id": "00000000-0000-0000-0000-000000000000"}]
            for variables in cases:
                result, _ = await _same_bytes(demo_node, operation(name), variables, actor)
                seen[name] = seen.get(name, 0) + len(result.data or {})
        # the catalogue page with a cursor: the next pages, until the end
        cursor = None
        for _ in range(20):
            page, _ = await _same_bytes(demo_node, operation("Catalogue"), {"first": 7, "after": cursor}, actor)
            info = page.data["entries"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            cursor = info["endCursor"]
        else:
            raise AssertionError("the catalogue did not end")
        # Catalogue pages (6 valid ones, the cursor walk) and entries were answered by compiled statements
        assert ANSWERS["compiled entries"] - before_entries >= 8
        assert ANSWERS["compiled entry"] - before_entry >= 10
        assert ANSWERS["direct"] - before_direct >= 18  # the same, without the executor
        assert seen["Catalogue"] and seen["Entry"] and seen["EntryAttachments"]


async def test_the_viewer_decides_what_a_compiled_page_shows(demo_node: DemoNode) -> None:
    """The compiled statement applies the search's visibility clause: the publisher sees its
    non-public entries, another member the network and local ones, an anonymous reader neither."""
    with demo_node.db.bound():
        viewers = await _viewers()
        counts = {}
        for name, actor in viewers.items():
            page, _ = await _same_bytes(demo_node, operation("Catalogue"), {"first": 100}, actor)
            visibilities = {e["node"]["visibility"] for e in page.data["entries"]["edges"]}
            counts[name] = page.data["entries"]["totalCount"]
            assert len(page.data["entries"]["edges"]) == counts[name]
            if name == "anonymous":
                assert visibilities == {"PUBLIC"}
        assert counts["anonymous"] < counts["publisher"] and counts["anonymous"] <= counts["member"] <= counts["publisher"]


# ------------------------------------------------------------------ generated selections (hypothesis)

def _selections(count: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` documents over `entries`: random subsets of fields, aliases, fragments, @include,
    filters and orderings, some with a field the compiler leaves to execution. Derandomized:
    the same documents in every run. (Executed without validation: a variable a document
    does not use is allowed here.)"""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    def pick(*options: str) -> Any:
        return st.lists(st.sampled_from(options), min_size=1, max_size=len(options), unique=True).map(" ".join)

    scalars = pick("id", "kind", "title", "summary", "language", "license", "visibility", "version",
                   "originNode", "createdAt", "updatedAt", "deleted", "keywords", "bodyMarkdown", "bodyHtml",
                   "__typename", "t2: title", "when: updatedAt")
    topics = pick("slug", "labelDe", "labelEn", "scheme", "euTheme", "__typename", 'label(language: "en")',
                  "de: label", "label(language: $lang)").map(lambda s: f"topics {{ {s} }}")
    publisher = pick("__typename", "name", "... on Municipality { officialKey ags population active association "
                     "sizeClass state stateCode typeLabel level scheme postcode }",
                     "... on Organisation { slug kind website description }").map(lambda s: f"publisher {{ {s} }}")
    kinds = pick("... on ProjectDescription { status periodStart periodEnd budgetEur fundingProgramme partners }",
                 "... on Guide { audience checklist reviewState }",
                 "... on LessonLearned { whatWorked whatDidNot transferPreconditions costsStaffing }",
                 "contact { role email }", "...Texts", "summary @include(if: $flag)", "title @skip(if: $flag)",
                 "... on LessonLearned { project { id title visibility topics { slug } publisher { name } } }")
    unknown = st.sampled_from(["", "", "", "", "links { relation }", "revisions { version }",
                               "... on ProjectDescription { lessons { id } }", "publisher { ... on Municipality { areaKm2 } }"])
    node = st.tuples(scalars, st.one_of(st.just(""), topics), st.one_of(st.just(""), publisher),
                     st.one_of(st.just(""), kinds), unknown).map(lambda parts: " ".join(parts))
    edges = st.tuples(st.booleans(), node, st.booleans()).map(
        lambda t: "edges { " + ("cursor " if t[0] else "") + f"node {{ {t[1]} }}" + (" __typename" if t[2] else "") + " }")
    page_info = pick("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename").map(
        lambda s: f"pageInfo {{ {s} }}")
    connection = st.tuples(st.booleans(), st.one_of(st.just(""), page_info), edges, st.booleans()).map(
        lambda t: ("totalCount " if t[0] else "") + f"{t[1]} {t[2]}" + (" __typename" if t[3] else ""))
    filters = st.fixed_dictionaries({}, optional={
        "kinds": st.lists(st.sampled_from(["PROJECT", "GUIDE", "LESSON"]), max_size=2, unique=True),
        "languages": st.sampled_from([["de"], ["en"]]),
        "topics": st.sampled_from([["buergerservice"], ["digitalisierung", "open-data"]]),
        "text": st.sampled_from(["Daten", "Rathaus digital", "zzzqqq"]),
        "state": st.sampled_from(["Bayern", "09", "Hessen"]),
        "sizeClasses": st.sampled_from([["Landgemeinde"], ["Kleinstadt", "Mittelstadt"]]),
        "statuses": st.sampled_from([["COMPLETED"], ["RUNNING", "PLANNED"]]),
        "publisher": st.sampled_from(["082265005097", "kompetenzzentrum-digitale-kommune-demo"]),
        "endorsedBy": st.sampled_from(["kompetenzzentrum-digitale-kommune-demo"]),
    })
    order = st.sampled_from(["NEWEST", "OLDEST", "TITLE", "ENDORSED", "RELEVANCE"])
    case = st.tuples(connection, st.integers(0, 60), filters, order, st.booleans(), st.sampled_from(["de", "en"]),
                     st.sampled_from(["", "x: "]))
    out: list[tuple[str, dict[str, Any]]] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case)
    def collect(c: Any) -> None:
        body, first, filter_, order_by, flag, lang, alias = c
        query = (f"query($first: Int!, $after: String, $filter: EntryFilter, $flag: Boolean!, $lang: String!) "
                 f"{{ {alias}entries(first: $first, after: $after, filter: $filter, orderBy: {order_by}) {{ {body} }} }}"
                 " fragment Texts on Entry { summary bodyHtml }")
        node_selection = body.split("node { ", 1)[1].rsplit(" }", 2)[0] if "node { " in body else "id"
        single = (f"query($id: ID!, $flag: Boolean!, $lang: String!) {{ {alias}entry(id: $id) {{ {node_selection} }} }}"
                  " fragment Texts on Entry { summary bodyHtml }")
        out.append((query, {"first": first, "filter": filter_, "flag": flag, "lang": lang}))
        out.append((single, {"flag": flag, "lang": lang}))

    collect()
    return out


@pytest.mark.parametrize("viewer", ["anonymous", "member", "publisher"])
async def test_generated_selections_answer_the_same_compiled_or_not(demo_node: DemoNode, viewer: str) -> None:
    from exchange.api.compile import ANSWERS

    with demo_node.db.bound():
        actor = (await _viewers())[viewer]
        before, general_before = ANSWERS["compiled"], ANSWERS["general"] + ANSWERS["not compiled"]
        entries_before = ANSWERS["compiled entry"]
        from exchange.models import Entry

        ids = [str(e.uid) for e in await Entry.all().order_by("id")]
        ids = ids[::6] + [str(e.uid) for e in await Entry.filter(visibility__not="public")]
        single = 0
        for query, variables in _selections(40):
            if "$id" in query:
                for number in range(3):
                    uid = ids[(single * 3 + number) % len(ids)]
                    await _same_bytes(demo_node, query, {**variables, "id": uid}, actor)
                single += 1
                continue
            await _same_bytes(demo_node, query, variables, actor)
            # the next page after the first three, with the same filter and ordering
            order = query.split("orderBy: ")[1].split(")")[0]
            head, _ = await _same_bytes(
                demo_node, f"query($filter: EntryFilter) {{ entries(first: 3, filter: $filter, orderBy: {order}) "
                "{ pageInfo { endCursor } } }", {"filter": variables["filter"]}, actor)
            cursor = head.data["entries"]["pageInfo"]["endCursor"] if head.data else None
            if cursor is not None:
                await _same_bytes(demo_node, query, {**variables, "after": cursor}, actor)
        compiled = ANSWERS["compiled"] - before
        general = ANSWERS["general"] + ANSWERS["not compiled"] - general_before
        assert compiled >= 40 and general >= 5, (compiled, general)  # both paths were exercised
        assert ANSWERS["compiled entry"] - entries_before >= 40


# ------------------------------------------------------------------ the register (municipalities), compiled

def _register_selections(count: int) -> list[tuple[str, dict[str, Any]]]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    def pick(*options: str) -> Any:
        return st.lists(st.sampled_from(options), min_size=1, max_size=len(options), unique=True).map(" ".join)

    node = pick("name", "officialKey", "ags", "scheme", "level", "typeLabel", "state", "stateCode", "association",
                "population", "sizeClass", "active", "postcode", "__typename", "kreis { officialKey name }",
                "n2: name", "kreis { __typename }")
    unknown = st.sampled_from(["", "", "", "areaKm2", "entries(first: 1) { totalCount }"])
    body = st.tuples(st.booleans(), pick("hasNextPage", "hasPreviousPage", "startCursor", "endCursor"),
                     st.booleans(), node, unknown).map(
        lambda t: ("totalCount " if t[0] else "") + f"pageInfo {{ {t[1]} }} edges {{ "
                  + ("cursor " if t[2] else "") + f"node {{ {t[3]} {t[4]} }} }}")
    filters = st.fixed_dictionaries({}, optional={
        "namePrefix": st.sampled_from(["K", "mün", "Ö", "Bad ", "x%", "_"]),
        "state": st.sampled_from(["Bayern", "05", "Hessen"]),
        "sizeClasses": st.sampled_from([["Landgemeinde"], ["Kleinstadt", "Großstadt"]]),
        "level": st.sampled_from(["gemeinde", "kreis"]),
        "kreis": st.sampled_from(["09162", "05315"]),
        "includeInactive": st.booleans(),
    })
    out: list[tuple[str, dict[str, Any]]] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.tuples(body, st.integers(0, 100), filters))
    def collect(c: Any) -> None:
        selection, first, filter_ = c
        query = (f"query($first: Int!, $after: String, $filter: MunicipalityFilter) {{ municipalities("
                 f"first: $first, after: $after, filter: $filter) {{ {selection} }} }}")
        out.append((query, {"first": first, "filter": filter_}))

    collect()
    return out


async def test_the_register_answers_the_same_compiled_or_not(demo_node: DemoNode) -> None:
    from exchange.api.compile import ANSWERS

    with demo_node.db.bound():
        before = ANSWERS["compiled municipalities"]
        for query, variables in _register_selections(40):
            page, _ = await _same_bytes(demo_node, query, variables, None)
            edges = (page.data or {}).get("municipalities", {}).get("edges") or []
            if edges and "cursor" in edges[-1]:
                await _same_bytes(demo_node, query, {**variables, "after": edges[-1]["cursor"]}, None)
        # through the register of Bavaria, 100 at a time, to its end
        query = ("query($after: String) { municipalities(first: 100, after: $after, filter: {state: \"Bayern\"}) "
                 "{ totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name officialKey } } } }")
        cursor, pages = None, 0
        while True:
            page, _ = await _same_bytes(demo_node, query, {"after": cursor}, None)
            pages += 1
            if not page.data["municipalities"]["pageInfo"]["hasNextPage"]:
                break
            cursor = page.data["municipalities"]["pageInfo"]["endCursor"]
        assert pages > 10
        for bad in ({"first": 101}, {"first": 5, "after": "nonsense"}, {"first": 5, "filter": {"level": "land"}},
                    {"first": 5, "after": ""}):
            await _same_bytes(demo_node, "query($first: Int!, $after: String, $filter: MunicipalityFilter) "
                              "{ municipalities(first: $first, after: $after, filter: $filter) { totalCount "
                              "pageInfo { hasPreviousPage } edges { node { name } } } }", bad, None)
        assert ANSWERS["compiled municipalities"] - before >= 40


@pytest.mark.parametrize("viewer", ["anonymous", "member", "publisher"])
async def test_a_municipality_and_its_entries_answer_the_same_compiled_or_not(demo_node: DemoNode, viewer: str) -> None:
    from exchange.api.compile import ANSWERS
    from exchange.models import Entry, Municipality

    query = """query($key: String!, $after: String, $filter: EntryFilter) { municipality(officialKey: $key) {
      __typename name officialKey ags population active association kreis { officialKey name }
      entries(first: 1, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { id title visibility publisher { name } ... on LessonLearned { project { id } } } } }
      few: entries(first: 0) { totalCount } } }"""
    with demo_node.db.bound():
        actor = (await _viewers())[viewer]
        before = ANSWERS["compiled municipality"]
        keys = [m.official_key for m in await Municipality.filter(
            id__in=[e.municipality_id for e in await Entry.filter(municipality_id__not_isnull=True)])]
        assert len(keys) >= 5
        for key in keys:
            cursor, seen = None, 0
            while True:
                page, _ = await _same_bytes(demo_node, query, {"key": key, "after": cursor}, actor)
                seen += 1
                entries = page.data["municipality"]["entries"]
                if not entries["pageInfo"]["hasNextPage"]:
                    break
                cursor = entries["pageInfo"]["endCursor"]
            await _same_bytes(demo_node, query, {"key": key, "filter": {"kinds": ["LESSON"]}}, actor)
        await _same_bytes(demo_node, query, {"key": keys[0], "after": "not a cursor"}, actor)
        assert ANSWERS["compiled municipality"] - before >= len(keys) * 2


async def test_the_endpoint_answers_compiled_queries_directly_within_its_time_bound(
        demo_node: DemoNode, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HTTP, a Catalogue page is answered without the executor, under the same time bound."""
    from exchange.api import http
    from exchange.api.compile import ANSWERS

    body = {"query": operation("Catalogue"), "variables": {"first": 20}}
    before = ANSWERS["direct"]
    answer = await demo_node.client.post("/graphql", json=body)
    assert answer.status_code == 200 and len(answer.json()["data"]["entries"]["edges"]) == 20
    assert ANSWERS["direct"] == before + 1
    monkeypatch.setattr(http, "EXECUTION_TIMEOUT", 0.0)
    late = await demo_node.client.post("/graphql", json=body)
    assert late.status_code == 503
    assert late.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert ANSWERS["direct"] == before + 1
