"""Operation limits checked before execution: document size, tokens, depth, aliases and upstream cost."""

from __future__ import annotations

import functools
import itertools
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    parse,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.settings import Settings
from schema import direct
from schema.errors import VALIDATION_FAILED, BadUserInput, GatewayError
from schema.paging import DEFAULT_PAGE, MAX_PAGE

# The job types whose rows come with their summary; any other field of theirs costs a detail call.
JOB_TYPES = frozenset({"VideoJob", "TrainingJob", "PictureModelingJob"})
# Root lookups the loaders answer together, this many per upstream call (the video list's job_ids).
BATCHED_LOOKUPS = {"videoJob": 100}
# Root fields that take a list of ids cost a call per id, at most (the loaders batch where they can).
ID_LIST_ARGUMENTS = ("ids",)
# The longest string each root field argument may carry. Job ids are UUIDs or 32 hex digits; MetaStudio
# takes ids, names and asset names of at most 64 characters; a global id is a job id with its type name
# in base64, and a cursor an offset or a sort key with an id.
ARGUMENT_MAX_CHARS = {"jobId": 64, "id": 128, "ids": 128, "after": 256, "before": 256, "filter": 256}
# Costs kept per document, one per distinct set of the values they depend on.
COSTS_PER_DOCUMENT = 64
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


# The fields that read the schema itself; `__typename` reads only an object's type, and stays allowed.
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


class IntrospectionDisabled(GatewayError):
    """Refused as validation refuses a document: clients already treat that code as a bad document."""

    code = VALIDATION_FAILED

    def __init__(self, field: str) -> None:
        super().__init__(
            f"introspection is off on this gateway (GATEWAY_INTROSPECTION=false): `{field}` may not be "
            "queried; the schema is published with the gateway instead",
            extensions={"field": field},
        )


def check_introspection(document: DocumentNode) -> None:
    """Refuse a document that selects `__schema` or `__type` anywhere, fragments included."""
    measures = _measures_of(document)
    if measures.introspects is None:
        found = (node.name.value for node in _fields_in(document) if node.name.value in INTROSPECTION_FIELDS)
        measures.introspects = next(found, "")
    if measures.introspects:
        raise IntrospectionDisabled(measures.introspects)


def introspection_allowed(request_context: object) -> bool:
    settings = getattr(request_context, "settings", None)
    return True if settings is None else bool(settings.introspection)


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


@dataclass
class _Measures:
    """What a document asks for, kept with it: aliases and depth, and the cost of its operation for the
    values of the variables the cost depended on (sizes of lists, `first`)."""

    document: DocumentNode
    aliases: int
    depths: dict[str | None, int]
    costs: dict[tuple[str | None, tuple[tuple[str, object], ...]], int]
    cost_variables: dict[str | None, frozenset[str]]
    # The first introspection field the document selects ("" for none), once looked for.
    introspects: str | None = None


# Measures of the documents last checked, by the identity of their (cached) parsed document.
_MEASURES: OrderedDict[int, _Measures] = OrderedDict()


def _measures_of(document: DocumentNode) -> _Measures:
    found = _MEASURES.get(id(document))
    if found is not None and found.document is document:
        _MEASURES.move_to_end(id(document))
        return found
    measures = _Measures(
        document, sum(1 for node in _fields_in(document) if node.alias is not None), {}, {}, {}
    )
    _MEASURES[id(document)] = measures
    if len(_MEASURES) > PARSE_CACHE_SIZE:
        _MEASURES.popitem(last=False)
    return measures


def check_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limits: Limits,
    direct_fields: Mapping[tuple[str, str], object],
) -> None:
    """Refuse the operation to run when it is deeper, has more aliases or would cost more upstream calls
    than the limits allow. Documents that name no runnable operation pass: validation says why.

    What depends on the document alone is measured once per parsed document; the cost once per
    document and values of the variables it depends on."""
    measures = _measures_of(document)
    if measures.aliases > limits.aliases:
        raise OperationLimitExceeded("aliases", limits.aliases, measures.aliases, "has too many aliases")
    operation = _operation(document, operation_name)
    if operation is None:
        return
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    depth = measures.depths.get(operation_name)
    if depth is None:
        depth = measures.depths[operation_name] = _depth(operation.selection_set, fragments, frozenset())
    if depth > limits.depth:
        raise OperationLimitExceeded("depth", limits.depth, depth, "nests fields too deeply")
    variables = variables or {}
    check_argument_lengths(operation, fragments, variables)
    root = schema.get_root_type(operation.operation)
    if root is None:
        return
    cost = None
    used = measures.cost_variables.get(operation_name)
    if used is not None:
        key = (operation_name, tuple((name, _size(variables.get(name))) for name in sorted(used)))
        cost = measures.costs.get(key)
    if cost is None:
        estimate = _CostEstimate(schema, fragments, variables, direct_fields)
        cost = estimate.root(operation.selection_set, root)
        used = measures.cost_variables[operation_name] = frozenset(estimate.used_variables)
        key = (operation_name, tuple((name, _size(variables.get(name))) for name in sorted(used)))
        if len(measures.costs) < COSTS_PER_DOCUMENT:
            measures.costs[key] = cost
    if cost > limits.cost:
        raise OperationLimitExceeded(
            "cost", limits.cost, cost, "would need too many upstream calls; ask for fewer jobs or fields"
        )


def _size(value: object) -> object:
    """What of a variable's value the cost depends on: a list's length, a number itself."""
    if isinstance(value, list):
        return len(value)
    return value if isinstance(value, int | None) else repr(type(value))


def check_argument_lengths(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> None:
    """Refuse an id, cursor or filter text longer than the upstream takes, naming the argument, before it
    becomes part of an upstream URL (create inputs have rules of their own)."""
    for node in _root_fields(operation.selection_set, fragments, frozenset()):
        for argument in node.arguments or ():
            name = argument.name.value
            most = ARGUMENT_MAX_CHARS.get(name)
            if most is None:
                continue
            longest = max(_string_lengths(argument.value, variables), default=0)
            if longest > most:
                raise BadUserInput(
                    f"{node.name.value}({name}:) takes strings of at most {most} characters, got {longest}",
                    extensions={"argument": name, "field": node.name.value},
                )


def _root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: frozenset[str]
) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                yield from _root_fields(fragments[name].selection_set, fragments, seen | {name})


def _string_lengths(value: object, variables: Mapping[str, Any]) -> Iterator[int]:
    if isinstance(value, VariableNode):
        value = variables.get(value.name.value)
    if isinstance(value, str):
        yield len(value)
    elif isinstance(value, StringValueNode):
        yield len(value.value)
    elif isinstance(value, ListValueNode):
        for item in value.values:
            yield from _string_lengths(item, variables)
    elif isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield from _string_lengths(field.value, variables)
    elif isinstance(value, list):
        for item in value:
            yield from _string_lengths(item, variables)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _string_lengths(item, variables)


def _fields_in(document: DocumentNode) -> Iterator[FieldNode]:
    stack: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                yield selection
            if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def _depth(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: frozenset[str]
) -> int:
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            # Introspection is as deep as the schema makes it, whatever the client asks.
            if selection.selection_set is None or selection.name.value.startswith("__"):
                deepest = max(deepest, 1)
            else:
                deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            # A cycle of fragments is a validation error; here it only must not loop.
            if name in fragments and name not in seen:
                deepest = max(deepest, _depth(fragments[name].selection_set, fragments, seen | {name}))
    return deepest


class _CostEstimate:
    """Upstream calls an operation may make, at most: one per root field (one per id for a list of ids),
    and one detail call per job row whose selection goes beyond the summary the row comes with. Lists
    multiply what lies under them by their `first` (default page size) or by their number of ids."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        direct_fields: Mapping[tuple[str, str], object],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        # Variables whose values the estimate read: the cost is kept for those values only.
        self.used_variables: set[str] = set()
        self.variables = variables
        self.direct_fields = direct_fields

    def root(self, selection_set: SelectionSetNode, root: GraphQLObjectType) -> int:
        total = 0
        batched: dict[str, int] = {}
        for node, parent in self._fields(selection_set, root, frozenset()):
            name = node.name.value
            if name.startswith("__"):
                continue
            field = parent.fields.get(name)
            if field is None:
                continue
            ids = self._list_size(node, ID_LIST_ARGUMENTS)
            if root.name == "Query" and name in BATCHED_LOOKUPS:
                batched[name] = batched.get(name, 0) + 1
            else:
                total += ids if ids is not None else 1
            if root.name == "Query" and self._from_a_cursor(node):
                # A page from a cursor asks for the jobs past it; its totalCount is a count apart.
                total += 1
            if node.selection_set is not None:
                total += self._below(node, get_named_type(field.type), 1)
        return total + sum(-(-count // BATCHED_LOOKUPS[name]) for name, count in batched.items())

    def _below(self, node: FieldNode, named: object, multiplier: int) -> int:
        assert node.selection_set is not None
        size = self._list_size(node, ID_LIST_ARGUMENTS) or self._page_size(node)
        multiplier *= size or 1
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        total = 0
        needs_detail = False
        for child, parent in self._fields(node.selection_set, named, frozenset()):
            name = child.name.value
            if name.startswith("__"):
                continue
            if parent.name in JOB_TYPES or (
                isinstance(parent, GraphQLInterfaceType) and parent.name != "Node"
            ):
                if not self._is_summary(parent, name):
                    needs_detail = True
            field = parent.fields.get(name)
            if field is not None and child.selection_set is not None:
                total += self._below(child, get_named_type(field.type), multiplier)
        return total + (multiplier if needs_detail else 0)

    def _is_summary(self, parent: GraphQLObjectType | GraphQLInterfaceType, name: str) -> bool:
        if isinstance(parent, GraphQLObjectType):
            return (parent.name, name) in self.direct_fields
        return all((job, name) in self.direct_fields for job in JOB_TYPES)

    def _fields(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        seen: frozenset[str],
    ) -> Iterator[tuple[FieldNode, GraphQLObjectType | GraphQLInterfaceType]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
                continue
            if isinstance(selection, InlineFragmentNode):
                fragment_set, condition = selection.selection_set, selection.type_condition
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in self.fragments or name in seen:
                    continue
                seen = seen | {name}
                fragment_set = self.fragments[name].selection_set
                condition = self.fragments[name].type_condition
            else:
                continue
            narrowed = parent
            if condition is not None:
                named = self.schema.get_type(condition.name.value)
                if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
                    narrowed = named
            yield from self._fields(fragment_set, narrowed, seen)

    def _page_size(self, node: FieldNode) -> int | None:
        sized = [a.name.value for a in node.arguments or () if a.name.value in ("first", "last")]
        if not sized:
            # Connections without `first` or `last` get the default page; other fields are single values.
            return DEFAULT_PAGE if node.name.value.endswith("Jobs") else None
        value = self._argument(node, sized[0])
        if isinstance(value, int):
            return max(1, min(value, MAX_PAGE))
        return DEFAULT_PAGE

    def _from_a_cursor(self, node: FieldNode) -> bool:
        if not node.name.value.endswith("Jobs"):
            return False
        for argument in node.arguments or ():
            if argument.name.value not in ("after", "before"):
                continue
            if isinstance(argument.value, StringValueNode) or self._argument(node, argument.name.value):
                return True
        return False

    def _list_size(self, node: FieldNode, names: tuple[str, ...]) -> int | None:
        for name in names:
            value = self._argument(node, name)
            if isinstance(value, list):
                return len(value)
        return None

    def _argument(self, node: FieldNode, name: str) -> object:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                self.used_variables.add(value.name.value)
                return self.variables.get(value.name.value)
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, ListValueNode):
                return list(value.values)
        return None


class OperationLimits(SchemaExtension):
    """Parses within the size and token limits, and checks depth, aliases, argument lengths and cost
    before validation (itself quadratic in the worst documents) and before any upstream call. The
    limits come from the request context's settings.

    A refusal is left in `pre_execution_errors` at validation, which every execution path (queries,
    WebSocket and HTTP streams) answers as an error; raising from a hook would not be caught on all of
    them. A document refused before parsing runs as a stand-in of the same operation type and name,
    which is never validated nor executed."""

    def __init__(self) -> None:
        super().__init__()
        self.refusal: GraphQLError | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query is not None:
            try:
                context.graphql_document = parse_within(context.query, limits_of(context.context))
            except OperationLimitExceeded as refusal:
                self.refusal = refusal
                context.graphql_document = _stand_in(context.query, context.operation_name)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if self.refusal is None and document is not None:
            # Strawberry keeps the graphql-core schema it executes on this attribute; it has no accessor.
            graphql_schema = context.schema._schema
            try:
                check_document(
                    graphql_schema,
                    document,
                    context.operation_name,
                    context.variables,
                    limits_of(context.context),
                    graphql_schema.extensions.get(direct.FIELDS, {}),
                )
            except (OperationLimitExceeded, BadUserInput) as refusal:
                self.refusal = refusal
        # The schema object is shared by every app in the process: each request's own settings decide.
        if self.refusal is None and document is not None and not introspection_allowed(context.context):
            try:
                check_introspection(document)
            except IntrospectionDisabled as refusal:
                self.refusal = refusal
        if self.refusal is not None:
            context.pre_execution_errors = [self.refusal]
        yield


class CheckedValidationCache(SchemaExtension):
    """Validation kept per parsed document (as Strawberry's ValidationCache), leaving alone an operation
    the limits already refused.

    Strawberry's cache is an lru_cache keyed by the document, and graphql-core hashes a document over
    every one of its nodes: on every request, a few per cent of a request's CPU. The parse cache hands
    out one document object per text, so that object is the key here; the entry holds it (and the
    schema), so their ids cannot be reused while it lives."""

    def __init__(self, maxsize: int = 512) -> None:
        super().__init__()
        self.maxsize = maxsize
        # One cache per size, shared by every request (the extension is made anew for each).
        self.validated = _VALIDATED.setdefault(maxsize, OrderedDict())

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context.pre_execution_errors or document is None:
            yield
            return
        schema, rules = context.schema._schema, context.validation_rules
        key = (id(schema), id(document), rules)
        validated = self.validated
        entry = validated.get(key)
        if entry is not None:
            validated.move_to_end(key)
            errors = entry[2]
        else:
            errors = validate_document(schema, document, rules)
            validated[key] = (document, schema, errors)
            while len(validated) > self.maxsize:
                validated.popitem(last=False)
        # A copy: the mapping of errors edits the operation's list in place.
        context.pre_execution_errors = list(errors)
        yield


# By size: (id of the schema, id of the document, rules) -> (document, schema, errors)
_Validated = OrderedDict[tuple[int, int, Any], tuple[DocumentNode, GraphQLSchema, list[GraphQLError]]]
_VALIDATED: dict[int, _Validated] = {}


_OPERATION_KEYWORD = re.compile(r"(?:^|[}\s])(query|mutation|subscription)\b")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def _stand_in(query: str, operation_name: str | None) -> DocumentNode:
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
