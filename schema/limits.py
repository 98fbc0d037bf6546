"""The limits of one operation (document size, tokens, depth, aliases, cost) and parsing within them."""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, OperationType, get_operation_ast, parse

from gateway.settings import Settings
from schema.errors import GatewayError

# Parsed documents kept, keyed by text and token limit; a bounded cache, as Strawberry's ParserCache was.
PARSE_CACHE_SIZE = 512


@dataclass(frozen=True)
class Limits:
    """The most one operation may ask for; each figure is a setting (see gateway/settings.py)."""

    document_bytes: int = 100_000
    tokens: int = 1_000
    depth: int = 12
    aliases: int = 30
    cost: int = 200


class OperationLimitExceeded(GatewayError):
    code = "OPERATION_LIMIT_EXCEEDED"

    def __init__(self, name: str, maximum: int, actual: int, what: str) -> None:
        super().__init__(
            f"the operation {what}: {actual} where at most {maximum} are allowed ({name})",
            extensions={"limit": {"name": name, "max": maximum, "actual": actual}},
        )


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


def parse_within(query: str, limits: Limits) -> DocumentNode:
    """The parsed document, refused by size before parsing and by tokens as soon as it passes the limit."""
    size = len(query.encode("utf-8")) if len(query) * 4 > limits.document_bytes else len(query)
    if size > limits.document_bytes:
        raise OperationLimitExceeded("documentBytes", limits.document_bytes, size, "document is too long")
    try:
        return _parse(query, limits.tokens)
    except GraphQLSyntaxError as error:
        if "tokens. Parsing aborted" not in error.message:
            raise
        # Counted up to ten times the limit: past that the figure says nothing more, and costs time.
        count = count_tokens(query, limits.tokens * 10)
        raise OperationLimitExceeded("tokens", limits.tokens, count, "document has too many tokens") from None


def operation_type_of(
    query: str | None, operation_name: str | None, settings: Settings | None
) -> OperationType | None:
    """The type of the operation a request names, from a parse within the limits (kept in the same cache
    the execution then reads); None when the document is over a limit, unreadable or names none."""
    if not query:
        return None
    limits = DEFAULT_LIMITS if settings is None else _limits_for(settings)
    try:
        document = parse_within(query, limits)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    return None if operation is None else operation.operation


def count_tokens(query: str, most: int | None = None) -> int:
    """Tokens as graphql-core's lexer counts them (comments and commas are not tokens), by one regular
    expression, as lexing a long refused document with graphql-core would hold the event loop; counting
    stops at `most`."""
    tokens = (token for token in _TOKEN.finditer(query) if not token.group().startswith("#"))
    return sum(1 for _ in itertools.islice(tokens, most))


_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'  # block strings
    r'|"(?:[^"\\\n]|\\.)*"'  # strings
    r"|#[^\n\r]*"  # comments: matched so that nothing inside them counts, then not counted
    r"|\.\.\.|[!$&()\[\]{}:=@|]"  # punctuators
    r"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"  # numbers
    r"|[_A-Za-z][_0-9A-Za-z]*"  # names
)


_OPERATION_KEYWORD = re.compile(r"(?:^|[}\s])(query|mutation|subscription)\b")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def stand_in(query: str, operation_name: str | None) -> DocumentNode:
    """A document of the same operation type and name as `query`, for one refused before parsing."""
    found = _OPERATION_KEYWORD.search(query[:4096])
    kind = found.group(1) if found else "query"
    name = operation_name if operation_name and _NAME.fullmatch(operation_name) else ""
    return _parse(f"{kind} {name} {{ __typename }}", 10)


DEFAULT_LIMITS = Limits()


def limits_of(request_context: object) -> Limits:
    """The limits of the gateway's settings (defaults for a context without them, as in tests)."""
    settings = getattr(request_context, "settings", None)
    return DEFAULT_LIMITS if settings is None else _limits_for(settings)


def _limits_for(settings: Settings) -> Limits:
    # By the settings object, which the entry holds (so its id is not reused while it is there): an
    # lru_cache would hash every field of the settings on each call, twice a request.
    entry = _LIMITS.get(id(settings))
    if entry is not None:
        return entry[1]
    limits = Limits(
        document_bytes=settings.max_document_bytes,
        tokens=settings.max_tokens,
        depth=settings.max_depth,
        aliases=settings.max_aliases,
        cost=settings.call_budget,
    )
    if len(_LIMITS) >= 8:
        _LIMITS.clear()
    _LIMITS[id(settings)] = (settings, limits)
    return limits


_LIMITS: dict[int, tuple[Settings, Limits]] = {}
