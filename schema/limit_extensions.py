"""The schema extensions that hold operations to their limits before validation, and cache validation."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from schema import direct
from schema.document_limits import (
    IntrospectionDisabled,
    check_document,
    check_introspection,
    introspection_allowed,
)
from schema.errors import BadUserInput
from schema.limits import OperationLimitExceeded, limits_of, parse_within, stand_in


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
                context.graphql_document = stand_in(context.query, context.operation_name)
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
