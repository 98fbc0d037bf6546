"""The log of upstream calls the emulator answered, for tests that count calls."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass


@dataclass
class Call:
    seq: int
    method: str
    path: str
    query: str
    status: int | None
    request_id: str
    principal: str | None
    operation: str | None
    # The W3C trace context the caller sent; no other header is kept (they carry credentials).
    traceparent: str | None = None


class CallLog:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._seq = itertools.count(1)

    def record(
        self,
        method: str,
        path: str,
        query: str,
        status: int | None,
        request_id: str,
        principal: str | None,
        operation: str | None,
        traceparent: str | None = None,
    ) -> None:
        self.calls.append(
            Call(next(self._seq), method, path, query, status, request_id, principal, operation, traceparent)
        )

    def as_json(self) -> list[dict[str, object]]:
        return [asdict(call) for call in self.calls]

    def clear(self) -> None:
        self.calls.clear()
