"""Persisted operations: Apollo's automatic persisted queries, trusted documents and `documentId`."""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import orjson
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.requests import HTTPConnection
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult, SubscriptionExecutionResult

from gateway.trusted import TrustedDocument, document_id, load_trusted_documents
from schema.errors import BadUserInput, GatewayError
from schema.limits import Limits, OperationLimitExceeded, limits_of, parse_within

log = logging.getLogger("gateway.persisted")

APQ_VERSION = 1
# A registered query lives in Redis this long after its last use; every replica refreshes it on a hit.
REDIS_TTL_SECONDS = 7 * 24 * 3600
REDIS_TIMEOUT = 2.0
STORE_WARNING_SECONDS = 60.0
_HEX = re.compile(r"[0-9a-f]{64}")

# Where a document came from: shipped with the gateway (trusted), or registered by a client through APQ.
# A safelisting mode runs only trusted ones and registers nothing.
Origin = Literal["trusted", "registered"]


class PersistedQueryNotFound(GatewayError):
    """Apollo's message and code, which its link answers by sending the query with the hash."""

    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class DocumentNotFound(GatewayError):
    """A `documentId` the gateway does not know; no client resends on it, so the message says what to do."""

    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self, digest: str) -> None:
        super().__init__(
            f"no persisted document has the id sha256:{digest}; send the document's text as `query`"
        )


class PersistedQueryNotInList(GatewayError):
    """Safelisting's refusal (GATEWAY_OPERATIONS=trusted), given before the document is parsed."""

    code = "PERSISTED_QUERY_NOT_IN_LIST"

    def __init__(self) -> None:
        super().__init__(
            "the operation is not in the list of trusted operations this gateway runs; "
            "send a trusted document's exact text, its sha256 hash or its documentId"
        )


class RegisteredQueries(Protocol):
    """Documents clients registered through APQ, by id."""

    # What the store raises when it cannot answer.
    failures: tuple[type[Exception], ...]

    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, text: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryRegisteredQueries:
    """One process's registered documents, the least recently used forgotten past `capacity`."""

    failures: tuple[type[Exception], ...] = (OSError,)

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._texts: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._texts)

    async def get(self, digest: str) -> str | None:
        text = self._texts.get(digest)
        if text is not None:
            self._texts.move_to_end(digest)
        return text

    async def put(self, digest: str, text: str) -> None:
        self._texts[digest] = text
        self._texts.move_to_end(digest)
        while len(self._texts) > self.capacity:
            self._texts.popitem(last=False)

    async def aclose(self) -> None:
        self._texts.clear()


class RedisRegisteredQueries:
    """Registered documents shared by every replica, each kept `REDIS_TTL_SECONDS` after its last use."""

    PREFIX = "metastudio-gateway:apq:"

    def __init__(self, url: str) -> None:
        # Imported only with Redis: redis-py loads OpenTelemetry's SDK whenever it is installed.
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        self.failures: tuple[type[Exception], ...] = (RedisError, OSError)
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )

    async def get(self, digest: str) -> str | None:
        held = await self._redis.getex(self.PREFIX + digest, ex=REDIS_TTL_SECONDS)
        if held is None:
            return None
        return held.decode("utf-8") if isinstance(held, bytes) else str(held)

    async def put(self, digest: str, text: str) -> None:
        await self._redis.set(self.PREFIX + digest, text.encode("utf-8"), ex=REDIS_TTL_SECONDS)

    async def aclose(self) -> None:
        await self._redis.aclose()


@dataclass(frozen=True)
class PersistedDocument:
    text: str
    origin: Origin


class PersistedDocuments:
    """Trusted documents (fixed at start) in front of the documents clients registered."""

    def __init__(self, trusted: list[TrustedDocument], registered: RegisteredQueries) -> None:
        self.trusted: Mapping[str, str] = {document.id: document.body for document in trusted}
        self.registered = registered
        self._last_warning = -STORE_WARNING_SECONDS

    async def find(self, digest: str) -> PersistedDocument | None:
        text = self.trusted.get(digest)
        if text is not None:
            return PersistedDocument(text, "trusted")
        try:
            text = await self.registered.get(digest)
        # A store that cannot answer costs the client only a resend with the query.
        except self.registered.failures as exc:
            self._warn(f"lookup failed ({type(exc).__name__}); answered as not found")
            return None
        return None if text is None else PersistedDocument(text, "registered")

    async def register(self, digest: str, text: str) -> None:
        if digest in self.trusted:
            return
        try:
            await self.registered.put(digest, text)
        # The query runs all the same; the client registers it again on its next miss.
        except self.registered.failures as exc:
            self._warn(f"registration failed ({type(exc).__name__})")

    def _warn(self, what: str) -> None:
        # Every request fails alike while the store is down: one line a minute says so.
        now = time.monotonic()
        if now - self._last_warning >= STORE_WARNING_SECONDS:
            self._last_warning = now
            log.warning("persisted queries: %s", what)

    async def aclose(self) -> None:
        await self.registered.aclose()


def persisted_documents(
    redis_url: str | None, capacity: int, trusted_sources: Iterable[Path]
) -> PersistedDocuments:
    trusted = load_trusted_documents(trusted_sources)
    registered: RegisteredQueries = (
        RedisRegisteredQueries(redis_url) if redis_url else MemoryRegisteredQueries(capacity)
    )
    return PersistedDocuments(trusted, registered)


@dataclass
class PersistedRequestData(GraphQLRequestData):
    """A request as the gateway reads it: it may name its document by `documentId` (the
    GraphQL-over-HTTP persisted documents proposal) instead of sending its text, and once its persisted
    parts are resolved it is not resolved again."""

    document_id: str | None = None
    resolved: bool = False


def with_document_id(data: GraphQLRequestData, fields: Mapping[str, object]) -> GraphQLRequestData:
    """The request with the `documentId` among the body's or query string's fields, if any."""
    value = fields.get("documentId")
    if value is None:
        return data
    if not isinstance(value, str):
        raise BadUserInput("documentId must be a string: sha256:<64 hexadecimal digits>")
    return PersistedRequestData(**_fields(data), document_id=value)


def documents_of(connection: HTTPConnection | None) -> PersistedDocuments | None:
    return None if connection is None else getattr(connection.app.state, "persisted", None)


async def resolve_request(
    connection: HTTPConnection | None, data: GraphQLRequestData, request_context: object
) -> GraphQLRequestData:
    """`resolve` with the app's documents and the limits of the request's settings (`resolve_trusted`
    when the settings run trusted documents only)."""
    documents = documents_of(connection)
    if documents is None or (isinstance(data, PersistedRequestData) and data.resolved):
        return data
    if trusted_only(request_context):
        return resolve_trusted(documents, data)
    if data.extensions is None and not isinstance(data, PersistedRequestData):
        return data
    return await resolve(documents, data, limits_of(request_context))


async def resolve_payload(request_context: object, payload: Mapping[str, Any]) -> str | None:
    """The text a WebSocket operation's payload names (graphql-ws clients may send APQ's extension, or
    a `documentId`), or None when it names none; raises a GraphQL error like `resolve`."""
    extensions, named = payload.get("extensions"), payload.get("documentId")
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        extensions = None
    if extensions is None and named is None and not trusted_only(request_context):
        return None
    query = payload.get("query")
    data = with_document_id(
        GraphQLRequestData(
            query=query if isinstance(query, str) and query else None,
            variables=None,
            operation_name=None,
            extensions=extensions,
        ),
        payload,
    )
    connection = getattr(request_context, "request", None)
    return (await resolve_request(connection, data, request_context)).query


def _fields(data: GraphQLRequestData) -> dict[str, Any]:
    return {
        "query": data.query,
        "variables": data.variables,
        "operation_name": data.operation_name,
        "extensions": data.extensions,
        "protocol": data.protocol,
    }


async def resolve(
    documents: PersistedDocuments, data: GraphQLRequestData, limits: Limits
) -> GraphQLRequestData:
    """The request with the text of the document it names, registering one sent with its hash.

    Raises a GraphQL error for the client: a hash the gateway does not know, one that does not match
    the query sent with it, or a malformed persisted-query extension."""
    named = data.document_id if isinstance(data, PersistedRequestData) else None
    if named is not None:
        if data.query is not None:
            raise BadUserInput("send either `query` or `documentId`, not both")
        digest = _parse_document_id(named)
        found = await documents.find(digest)
        if found is None:
            raise DocumentNotFound(digest)
        return _resolved(data, found.text)
    persisted = (data.extensions or {}).get("persistedQuery")
    if persisted is None:
        return data
    digest = _apq_hash(persisted)
    if data.query is None:
        found = await documents.find(digest)
        if found is None:
            raise PersistedQueryNotFound
        return _resolved(data, found.text)
    if document_id(data.query) != digest:
        raise BadUserInput(
            "the persisted query's sha256Hash is not the sha256 of the query sent with it; "
            "nothing was registered",
            extensions={"sha256Hash": digest},
        )
    if _parses(data.query, limits):
        await documents.register(digest, data.query)
    return _resolved(data, data.query)


def trusted_only(request_context: object) -> bool:
    settings = getattr(request_context, "settings", None)
    return settings is not None and settings.operations == "trusted"


def resolve_trusted(documents: PersistedDocuments, data: GraphQLRequestData) -> GraphQLRequestData:
    """The request with the text of the trusted document it names or sends, by `documentId`, by APQ's
    hash or as text; anything else is refused before parsing, and nothing is registered."""
    named = data.document_id if isinstance(data, PersistedRequestData) else None
    persisted = (data.extensions or {}).get("persistedQuery")
    if named is not None:
        if data.query is not None:
            raise BadUserInput("send either `query` or `documentId`, not both")
        digest = _parse_document_id(named)
    elif persisted is not None:
        digest = _apq_hash(persisted)
        if data.query is not None and document_id(data.query) != digest:
            raise PersistedQueryNotInList
    elif data.query is not None:
        digest = document_id(data.query)
    else:
        # No document at all: the GraphQL layer says what is missing.
        return data
    text = documents.trusted.get(digest)
    if text is None:
        raise PersistedQueryNotInList
    return _resolved(data, text)


def _resolved(data: GraphQLRequestData, query: str) -> PersistedRequestData:
    return PersistedRequestData(**{**_fields(data), "query": query}, resolved=True)


def _parses(query: str, limits: Limits) -> bool:
    # Only a document that parses within the limits is worth keeping; the parse is cached for the run.
    try:
        parse_within(query, limits)
    except (GraphQLSyntaxError, OperationLimitExceeded):
        return False
    return True


def _apq_hash(persisted: object) -> str:
    if not isinstance(persisted, dict):
        raise BadUserInput("extensions.persistedQuery must be an object {version, sha256Hash}")
    version = persisted.get("version")
    # `true == 1` in Python; JSON's `true` is no version.
    if isinstance(version, bool) or version != APQ_VERSION:
        raise BadUserInput(
            f"persisted query version {orjson.dumps(version).decode()} is not supported; "
            f"this gateway speaks version {APQ_VERSION}",
            extensions={"supportedVersions": [APQ_VERSION]},
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _HEX.fullmatch(digest.lower()):
        raise BadUserInput("extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits")
    return digest.lower()


def _parse_document_id(value: str) -> str:
    digest = value.removeprefix("sha256:").lower()
    if not _HEX.fullmatch(digest):
        raise BadUserInput(
            "documentId must be sha256:<64 hexadecimal digits> (or the bare digits)",
            extensions={"documentId": value[:80]},
        )
    return digest


def refused_stream(error: GraphQLError) -> SubscriptionExecutionResult:
    """A streamed operation refused before it ran: one result with the error, then the end."""

    async def results() -> AsyncGenerator[ExecutionResult, None]:
        yield ExecutionResult(data=None, errors=[error])

    return cast(SubscriptionExecutionResult, results())
