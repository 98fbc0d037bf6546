"""The operation in its request's log lines: its name, type and caller; and a line per WebSocket operation."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from gateway import logs

logger = logging.getLogger("gateway.access")


class OperationLog(SchemaExtension):
    """Names the operation (its name, type and caller) in its request's log fields. On a WebSocket, which
    runs many operations at once, each operation gets fields of its own and a line when it ends."""

    def on_operation(self) -> Iterator[None]:
        fields = logs.current_fields()
        if fields is None or not fields.websocket:
            try:
                yield
            finally:
                self._name()
            return
        # Each operation runs in a task of its own, whose copy of the context this changes.
        operation = fields.for_operation()
        token = logs.begin_operation(operation)
        started = time.perf_counter()
        try:
            yield
        finally:
            self._name()
            fields.add_operation(operation)
            milliseconds = round((time.perf_counter() - started) * 1000, 1)
            extra: dict[str, object] = {
                "duration_ms": milliseconds,
                "upstream_calls": operation.upstream_calls,
            }
            if operation.upstream_request_ids:
                extra["upstream_request_ids"] = operation.upstream_request_ids
            logger.info(
                "%s %s ended after %.1f ms, %d upstream calls",
                operation.operation_type or "operation",
                operation.operation_name or "-",
                milliseconds,
                operation.upstream_calls,
                extra=extra,
            )
            logs.end(token)

    def on_execute(self) -> Iterator[None]:
        self._name()
        yield

    def _name(self) -> None:
        fields = logs.current_fields()
        if fields is None or fields.operation_type is not None:
            return
        context = self.execution_context
        try:
            operation_type: str | None = context.operation_type.value
        except Exception:
            # No document (it did not parse), or no operation of the name the client gave.
            operation_type = None
        upstream = getattr(context.context, "upstream", None)
        logs.note_operation(context.operation_name, operation_type, getattr(upstream, "key", None))
