"""GraphQL over HTTP, as the GraphQL-over-HTTP specification asks.

POST with `application/json` bodies, GET for queries only; responses in
`application/graphql-response+json` when the client accepts it (request
errors then get 400) or in `application/json` (always 200 for well-formed
requests). Parsed and validated documents are cached by their text, limits
(tokens, depth, aliases, page cost, body size, time) are checked before
execution, and every error leaves with a stable `extensions.code`;
unexpected ones are masked and logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from exchange.api.context import Context, Services
from exchange.api.direct import answer_directly
from exchange.api.execution import FastExecutor, is_awaitable, prepare_schema
from exchange.api.limits import QueryTooComplex, check_limits
from exchange.auth import authenticate
from exchange.errors import ExchangeError
from federation.client import too_deep
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)

log = logging.getLogger("exchange.api")
GRAPHQL_SCOPE_KEY = "exchange.graphql"  # (type, name) of the operation run, for /metrics

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_REQUEST_BYTES = 1_000_000
MAX_TOKENS = 5_000
EXECUTION_TIMEOUT = 15.0
# How deep lists and objects may nest in a request (variables of real queries: a few levels).
MAX_JSON_DEPTH = 64


class _RequestError(Exception):
    """A request that cannot be executed; `status` is used when the client speaks graphql-response+json."""

    def __init__(self, message: str, code: str, status: int = 400, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.headers = dict(headers or {})


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when none is acceptable."""
    if not accept:
        return JSON
    best: tuple[float, int, str] | None = None
    for order, part in enumerate(accept.split(",")):
        media, *params = [x.strip() for x in part.split(";")]
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in (GRAPHQL_RESPONSE, JSON):
            chosen = media
        elif media in ("*/*", "application/*"):
            chosen = JSON
        else:
            continue
        if q <= 0:
            continue
        rank = (q, -order, chosen)
        if best is None or rank[:2] > best[:2]:
            best = rank
    return best[2] if best else None


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept and "query" not in request.query_params


class DocumentCache:
    """Parsed and validated documents by query text (valid ones only)."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[str, DocumentNode] = OrderedDict()
        self.size = size

    def get(self, schema: GraphQLSchema, query: str) -> DocumentNode:
        doc = self._items.get(query)
        if doc is not None:
            self._items.move_to_end(query)
            return doc
        try:
            doc = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as exc:
            raise _GraphQLRequestErrors([exc], "GRAPHQL_PARSE_FAILED") from None
        errors = validate(schema, doc)
        if errors:
            raise _GraphQLRequestErrors(errors, "GRAPHQL_VALIDATION_FAILED")
        self._items[query] = doc
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return doc


class _GraphQLRequestErrors(Exception):
    def __init__(self, errors: list[GraphQLError], code: str) -> None:
        super().__init__(code)
        self.errors = errors
        self.code = code


def format_error(error: GraphQLError, default_code: str = "INTERNAL_SERVER_ERROR") -> dict[str, Any]:
    """One error as the response carries it: a message a person understands, and a code."""
    original = error.original_error
    if isinstance(original, ExchangeError):
        message, code = original.message, original.code
    elif isinstance(original, QueryTooComplex):
        message, code = str(original), "QUERY_TOO_COMPLEX"
    elif original is not None and not isinstance(original, GraphQLError):
        log.error("unexpected error in %s", ".".join(map(str, error.path or [])), exc_info=original)
        message, code = "Internal server error: the problem was logged on the node.", "INTERNAL_SERVER_ERROR"
    else:
        message = error.message
        code = (error.extensions or {}).get("code", default_code)
    out: dict[str, Any] = {"message": message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    out["extensions"] = {"code": code}
    return out


def _loads(text: str | bytes, what: str) -> Any:
    """Parsed JSON of a request, or a 400 naming the problem (never a RecursionError)."""
    try:
        value = json.loads(text)
        deep = too_deep(value, MAX_JSON_DEPTH)
    except RecursionError:  # the C parser's own guard, far beyond MAX_JSON_DEPTH
        deep = True
    except ValueError:
        raise _RequestError(f"{what} is not valid JSON", "BAD_REQUEST") from None
    if deep:
        raise _RequestError(f"{what} nests lists and objects more than {MAX_JSON_DEPTH} levels deep",
                            "BAD_REQUEST")
    return value


class GraphQLEndpoint:
    """The `/graphql` endpoint of a node (framework-independent logic, Starlette I/O)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        services: Services,
        *,
        graphiql: Callable[[Request], Response] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.schema = prepare_schema(schema)
        self.services = services
        self.documents = DocumentCache()
        self._within_limits: OrderedDict[tuple[Any, ...], DocumentNode] = OrderedDict()
        self.graphiql = graphiql
        self.clock = clock

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return self._request_error(_RequestError("use GET or POST", "METHOD_NOT_ALLOWED", 405, {"Allow": "GET, POST"}), JSON, force=True)
        if self.graphiql is not None and wants_html(request):
            return self.graphiql(request)
        media = negotiate(request.headers.get("accept"))
        if media is None:
            return self._request_error(
                _RequestError(f"the Accept header allows neither {GRAPHQL_RESPONSE} nor {JSON}", "NOT_ACCEPTABLE", 406), JSON, force=True
            )
        try:
            params = await self._params(request)
            return await self._run(request, params, media)
        except _RequestError as exc:
            return self._request_error(exc, media)
        except _GraphQLRequestErrors as exc:
            body = {"errors": [format_error(e, exc.code) for e in exc.errors]}
            return self._respond(body, media, 400 if media == GRAPHQL_RESPONSE else 200)

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            raw: dict[str, Any] = dict(request.query_params)
            for key in ("variables", "extensions"):
                if raw.get(key):
                    raw[key] = _loads(raw[key], f"the {key} parameter")
                else:
                    raw.pop(key, None)
        else:
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != JSON:
                raise _RequestError(
                    f"POST bodies must be {JSON}, not {ctype or 'missing'}", "UNSUPPORTED_MEDIA_TYPE", 415
                )
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
                raise _RequestError(f"the request body exceeds {MAX_REQUEST_BYTES} bytes", "PAYLOAD_TOO_LARGE", 413)
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_REQUEST_BYTES:
                    raise _RequestError(f"the request body exceeds {MAX_REQUEST_BYTES} bytes", "PAYLOAD_TOO_LARGE", 413)
            raw = _loads(body, "the request body")
            if not isinstance(raw, dict):
                raise _RequestError("the request body must be a JSON object", "BAD_REQUEST")
        query = raw.get("query")
        if not isinstance(query, str) or not query.strip():
            raise _RequestError("the request has no query string", "BAD_REQUEST")
        variables = raw.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise _RequestError("variables must be a JSON object", "BAD_REQUEST")
        name = raw.get("operationName")
        if name is not None and not isinstance(name, str):
            raise _RequestError("operationName must be a string", "BAD_REQUEST")
        extensions = raw.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            raise _RequestError("extensions must be a JSON object", "BAD_REQUEST")
        return {"query": query, "variables": variables or {}, "operation_name": name or None}

    async def _run(self, request: Request, params: dict[str, Any], media: str) -> Response:
        document = self.documents.get(self.schema, params["query"])
        operation = get_operation_ast(document, params["operation_name"])
        if operation is None:
            raise _RequestError(
                "the document has no such operation" if params["operation_name"]
                else "the document has several operations: name one with operationName",
                "OPERATION_NOT_FOUND",
            )
        if request.method == "GET" and operation.operation != OperationType.QUERY:
            raise _RequestError(
                f"a {operation.operation.value} must be sent with POST", "METHOD_NOT_ALLOWED", 405, {"Allow": "POST"}
            )
        request.scope[GRAPHQL_SCOPE_KEY] = (  # counted by type and name in /metrics
            operation.operation.value, operation.name.value if operation.name else None)
        # the limits depend on the document, the operation and the integers among the variables
        # (page sizes): a combination that passed once passes again
        ints = tuple(sorted((k, v) for k, v in params["variables"].items() if isinstance(v, int)))
        within = (id(document), params["operation_name"], ints)
        if self._within_limits.get(within) is not document:
            try:
                check_limits(document, params["operation_name"], params["variables"])
            except QueryTooComplex as exc:
                # like a validation error: nothing ran (400 in graphql-response+json, 200 in json)
                raise _GraphQLRequestErrors([GraphQLError(str(exc))], "QUERY_TOO_COMPLEX") from None
            self._within_limits[within] = document  # kept with its key: the id is not reused meanwhile
            while len(self._within_limits) > self.documents.size:
                self._within_limits.popitem(last=False)
        try:
            actor = await authenticate(request.headers.get("authorization"), now=self.clock())
        except ExchangeError as exc:
            raise _RequestError(exc.message, exc.code, 401, {"WWW-Authenticate": "Bearer"}) from None
        context = Context(actor=actor, services=self.services, request=request)
        try:
            async with asyncio.timeout(EXECUTION_TIMEOUT):  # one bound for both paths together
                body = None
                if operation.operation == OperationType.QUERY:
                    body = await answer_directly(
                        self.schema, document, params["operation_name"], params["variables"], context)
                if body is not None:
                    response = Response(body, status_code=200, media_type=media)
                else:
                    response = self._result(await self.execute(document, operation, params, context), media)
        except TimeoutError:
            raise _RequestError(
                f"the query took longer than {EXECUTION_TIMEOUT:.0f} s and was stopped", "TIMEOUT", 503
            ) from None
        if context.sign_response is not None:
            response.headers.update(context.sign_response(response.status_code, bytes(response.body)))
        return response

    async def execute(
        self, document: DocumentNode, operation: OperationDefinitionNode, params: dict[str, Any], context: Context
    ) -> ExecutionResult:
        """The document executed by graphql-core (the caller bounds its time)."""
        outcome = execute(
            self.schema, document, context_value=context,
            variable_values=params["variables"], operation_name=params["operation_name"],
            is_awaitable=is_awaitable, executor_class=FastExecutor,
        )
        if asyncio.iscoroutine(outcome) or isinstance(outcome, asyncio.Future):
            return await outcome  # type: ignore[no-any-return]
        return outcome  # type: ignore[return-value]

    def _result(self, result: ExecutionResult, media: str) -> Response:
        body: dict[str, Any] = {}
        if result.errors:
            code = "BAD_USER_INPUT" if result.data is None else "INTERNAL_SERVER_ERROR"
            body["errors"] = [format_error(e, code) for e in result.errors]
        if result.data is None and result.errors and not any(e.path for e in result.errors):
            # variables could not be coerced: a request error, nothing ran
            return self._respond(body, media, 400 if media == GRAPHQL_RESPONSE else 200)
        body["data"] = result.data
        return self._respond(body, media, 200)

    def _request_error(self, exc: _RequestError, media: str, force: bool = False) -> Response:
        body = {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}
        status = exc.status if (media == GRAPHQL_RESPONSE or force or exc.status != 400) else 400
        return self._respond(body, media, status, exc.headers)

    def _respond(self, body: dict[str, Any], media: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
        return Response(orjson.dumps(body), status_code=status, media_type=media, headers=dict(headers or {}))
