"""GraphQL errors with the contract's `extensions.code`, and the one place upstream failures are mapped."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from gateway.loaders.base import CallBudgetExceeded, MissingCredentials
from gateway.upstream import (
    CredentialsError,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = logging.getLogger("gateway.graphql")

INTERNAL_MESSAGE = "Internal error; the gateway logged the details"
# Apollo's codes for a document that does not parse or does not validate, which clients already know.
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
SEVERAL_OPERATIONS = "the document has several operations: name the one to run in `operationName`"
# What one request may put in a log line of the client's own text: its first error message and its
# operation name, each cut to this many characters.
LOGGED_MESSAGE_CHARS = 200
LOGGED_NAME_CHARS = 100


class GatewayError(GraphQLError):
    """An error the client is meant to read: a stable code and a message that names the problem."""

    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, *, extensions: dict[str, Any] | None = None) -> None:
        super().__init__(message, extensions={"code": self.code, **(extensions or {})})


class NotFound(GatewayError):
    code = "NOT_FOUND"

    def __init__(self, kind: str, job_id: str) -> None:
        super().__init__(f"{kind} {job_id!r} was not found")


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class RateLimited(GatewayError):
    code = "RATE_LIMITED"


# The upstream failures that are not an answer, with the code and the message each reaches the client as.
_UNANSWERED = (
    (UpstreamTimeout, "UPSTREAM_TIMEOUT", "MetaStudio did not answer in time"),
    (UpstreamUnavailable, "UPSTREAM_UNAVAILABLE", "MetaStudio cannot be reached"),
)


def _upstream_code(exc: UpstreamError) -> str:
    for kind, code, _ in _UNANSWERED:
        if isinstance(exc, kind):
            return code
    if isinstance(exc, UpstreamHTTPError):
        status = exc.status
        if status == 401:
            return "UNAUTHENTICATED"
        if status == 403:
            return "FORBIDDEN"
        if status == 404:
            return "NOT_FOUND"
        if status == 429:
            return "RATE_LIMITED"
        if 400 <= status < 500:
            return "BAD_USER_INPUT"
        if status in (502, 503, 504):
            return "UPSTREAM_UNAVAILABLE"
    return "UPSTREAM_ERROR"


def upstream_extensions(exc: UpstreamError) -> dict[str, Any]:
    """`extensions` for an upstream failure: the code plus what the upstream said, never a secret."""
    details: dict[str, Any] = {
        "status": getattr(exc, "status", None),
        "errorCode": getattr(exc, "error_code", None),
        "errorMessage": getattr(exc, "error_msg", None),
        "requestId": exc.request_id,
    }
    return {"code": _upstream_code(exc), "upstream": details}


def _upstream_message(exc: UpstreamError) -> str:
    for kind, _, message in _UNANSWERED:
        if isinstance(exc, kind):
            return message
    if isinstance(exc, UpstreamHTTPError):
        return f"MetaStudio refused the request: {exc.error_msg or 'HTTP ' + str(exc.status)}"
    return "MetaStudio sent an answer the gateway cannot read"


def client_error(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it: known failures keep their code, anything else is masked."""
    original = error.original_error
    if original is None:
        # Parse and validation errors are labelled as they happen; what is left unlabelled here is the
        # variables' coercion: input the client sent.
        if not (error.extensions or {}).get("code"):
            code = PARSE_FAILED if isinstance(error, GraphQLSyntaxError) else "BAD_USER_INPUT"
            error.extensions = {**(error.extensions or {}), "code": code}
        return error
    if isinstance(original, GatewayError):
        return error
    ours = UpstreamError | CallBudgetExceeded | MissingCredentials
    if error.path is None and not isinstance(original, ours):
        # No field was resolving: the variables did not fit their types (coercion), never our code.
        return _replace(error, error.message, {"code": "BAD_USER_INPUT"})
    if isinstance(original, MissingCredentials):
        return _replace(error, str(original), {"code": "UNAUTHENTICATED"})
    if isinstance(original, CredentialsError):
        return _replace(error, original.message, {"code": "UNAUTHENTICATED"})
    if isinstance(original, UpstreamError):
        return _replace(error, _upstream_message(original), upstream_extensions(original))
    if isinstance(original, CallBudgetExceeded):
        return _replace(error, str(original), {"code": "RATE_LIMITED", "budget": original.budget})
    # Logged with its traceback by `log_errors`, before this mapping runs.
    return _replace(error, INTERNAL_MESSAGE, {"code": "INTERNAL"})


def is_expected(error: GraphQLError) -> bool:
    """An error of the client's document, input or rights, or of the upstream: no bug of the gateway's."""
    original = error.original_error
    if original is None or error.path is None:
        return True
    return isinstance(original, GatewayError | UpstreamError | CallBudgetExceeded | MissingCredentials)


def _code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, UpstreamError):
        return _upstream_code(original)
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if isinstance(original, MissingCredentials | CredentialsError):
        return "UNAUTHENTICATED"
    if isinstance(original, CallBudgetExceeded):
        return "RATE_LIMITED"
    return "BAD_USER_INPUT" if is_expected(error) else "INTERNAL"


def log_errors(errors: list[GraphQLError], operation: str | None, request_id: str | None) -> None:
    """At most two lines for one request's errors, whatever their number: one line naming the operation,
    the request id, the count per code and the first message (bounded), at INFO for the client's own
    errors and WARNING when the upstream failed; and one traceback, for the first unexpected error."""
    if not errors:
        return
    codes = Counter(_code(error) for error in errors)
    first = " ".join(errors[0].message.split())
    if len(first) > LOGGED_MESSAGE_CHARS:
        first = first[:LOGGED_MESSAGE_CHARS] + "..."
    upstream_failed = any(code.startswith("UPSTREAM_") for code in codes)
    log.log(
        logging.WARNING if upstream_failed else logging.INFO,
        "operation %s request %s: %d error(s) %s; first: %s",
        _bounded(operation or "-"),
        request_id or "-",
        len(errors),
        ", ".join(f"{code} x{count}" for code, count in sorted(codes.items())),
        first,
    )
    unexpected = next((error for error in errors if not is_expected(error)), None)
    if unexpected is not None:
        log.error(
            "operation %s request %s: unexpected error at %s",
            _bounded(operation or "-"),
            request_id or "-",
            ".".join(map(str, unexpected.path or [])),
            exc_info=unexpected.original_error,
        )


def _bounded(text: str) -> str:
    return text if len(text) <= LOGGED_NAME_CHARS else text[:LOGGED_NAME_CHARS] + "..."


def label_document_errors(errors: list[GraphQLError]) -> None:
    """Give errors that never reached execution the code of a bad document: syntax errors, which end the
    operation before any schema extension sees its result, `GRAPHQL_PARSE_FAILED`; others of the
    document (validation) `GRAPHQL_VALIDATION_FAILED`. Errors with a code keep it."""
    for error in errors:
        if error.original_error is None and not (error.extensions or {}).get("code"):
            code = PARSE_FAILED if isinstance(error, GraphQLSyntaxError) else VALIDATION_FAILED
            error.extensions = {**(error.extensions or {}), "code": code}


def _replace(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


class ErrorMapping(SchemaExtension):
    """Gives every error in a result a contract code, and masks internal ones."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # `operation_name` falls back to the document's first operation, so Strawberry would run that one;
        # the name the client sent is kept apart (it has no public accessor).
        named = context._provided_operation_name
        if not context.pre_execution_errors and named is None and document is not None:
            operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            if operations > 1:
                context.pre_execution_errors = [BadUserInput(SEVERAL_OPERATIONS)]
        yield
        # Only validation has run when this hook ends: the errors found so far are the document's (a
        # refusal of the operation limits has its code already).
        if context.pre_execution_errors:
            label_document_errors(context.pre_execution_errors)

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if context.pre_execution_errors:
            # Parse and validation errors: the early result shares this very list, so edit it in place.
            context.pre_execution_errors[:] = [client_error(e) for e in context.pre_execution_errors]
        result = context.result
        if result is not None and result.errors:
            result.errors = [client_error(e) for e in result.errors]

    def on_stream_result(self, result: object) -> Iterator[None]:
        # Subscription events leave one by one, long before the operation ends above.
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = [client_error(e) for e in result.errors]
        yield
