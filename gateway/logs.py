"""Request log fields: what each line logged for a request says of it (id, operation, caller, calls)."""

from __future__ import annotations

import contextlib
import logging
import re
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

# Upstream X-Request-Ids one access line names at most (every attempt has its own DEBUG line).
LOGGED_UPSTREAM_IDS = 10
# The caller's hash as logged: a prefix of the key the rate limits and idempotency keys use.
CALLER_CHARS = 16
# Client-chosen text in a log field (operation names, paths) is cut to this many characters.
LOGGED_TEXT_CHARS = 100
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


@dataclass(slots=True)
class RequestFields:
    """What the log lines of one request (or one WebSocket operation) say about it, learnt as it runs."""

    request_id: str
    websocket: bool = False
    operation_name: str | None = None
    operation_type: str | None = None
    caller: str | None = None
    upstream_calls: int = 0
    upstream_request_ids: list[str] = field(default_factory=list)
    operations: int = 0

    def for_operation(self) -> RequestFields:
        """Fields of one operation on this WebSocket: its request id and caller, its own name and calls."""
        return RequestFields(self.request_id, caller=self.caller)

    def add_operation(self, operation: RequestFields) -> None:
        self.operations += 1
        self.upstream_calls += operation.upstream_calls


# Set per HTTP request or WebSocket by the access log; tasks started while it runs (resolvers, dataloader
# batches, a WebSocket's operations) copy it, so their lines name the request too.
_current: ContextVar[RequestFields | None] = ContextVar("gateway_request_fields", default=None)


def begin_request(request_id: str, *, websocket: bool = False) -> tuple[RequestFields, Token[Any]]:
    fields = RequestFields(request_id, websocket=websocket)
    return fields, _current.set(fields)


def begin_operation(fields: RequestFields) -> Token[Any]:
    return _current.set(fields)


def end(token: Token[Any]) -> None:
    # A generator's cleanup may run in another context than its start (it is closed from elsewhere).
    with contextlib.suppress(ValueError, RuntimeError):
        _current.reset(token)


def current_fields() -> RequestFields | None:
    return _current.get()


def note_caller(caller_key: str) -> None:
    fields = _current.get()
    if fields is not None:
        fields.caller = caller_key[:CALLER_CHARS]


def note_operation(name: str | None, operation_type: str | None, caller_key: str | None) -> None:
    """The operation the current request runs; the first one named keeps its name (a batch runs several)."""
    fields = _current.get()
    if fields is None:
        return
    if fields.operation_name is None and name is not None:
        fields.operation_name = bounded_name(name)
    if fields.operation_type is None:
        fields.operation_type = operation_type
    if caller_key is not None:
        fields.caller = caller_key[:CALLER_CHARS]


def note_upstream_call(upstream_request_id: str | None) -> None:
    """One upstream attempt of the current request, with the X-Request-Id the upstream answered with."""
    fields = _current.get()
    if fields is None:
        return
    fields.upstream_calls += 1
    ids = fields.upstream_request_ids
    if upstream_request_id and len(ids) < LOGGED_UPSTREAM_IDS:
        ids.append(bounded_text(upstream_request_id))


def bounded_name(name: str) -> str:
    """An operation name as logged: a GraphQL name as it is, anything else cut and escaped."""
    if len(name) <= LOGGED_TEXT_CHARS and _GRAPHQL_NAME.fullmatch(name):
        return name
    return bounded_text(name)


def bounded_text(text: str) -> str:
    """Client-chosen text as logged: cut, and with anything unprintable escaped, so no text line is forged."""
    if len(text) > LOGGED_TEXT_CHARS:
        text = text[:LOGGED_TEXT_CHARS] + "..."
    if text.isascii() and text.isprintable():
        return text
    return ascii(text)[1:-1]


def upstream_attempt_fields(
    operation: str,
    method: str,
    path: str,
    outcome: str,
    milliseconds: float,
    attempt: int,
    request_id: str | None,
) -> dict[str, object]:
    """The fields of an upstream attempt's line: an HTTP status, or the transport failure's name."""
    fields: dict[str, object] = {
        "upstream_operation": operation,
        "method": method,
        "path": path,
        "duration_ms": round(milliseconds, 1),
        "attempt": attempt,
    }
    if outcome.isdigit():
        fields["status"] = int(outcome)
    else:
        fields["error"] = outcome
    if request_id:
        fields["upstream_request_id"] = bounded_text(request_id)
    return fields


class RequestFieldsFilter(logging.Filter):
    """Copies the current request's fields onto every record a handler is given, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _current.get()
        if fields is not None:
            values = record.__dict__
            values.setdefault("request_id", fields.request_id)
            if fields.operation_name is not None:
                values.setdefault("operation_name", fields.operation_name)
            if fields.operation_type is not None:
                values.setdefault("operation_type", fields.operation_type)
            if fields.caller is not None:
                values.setdefault("caller", fields.caller)
        return True
