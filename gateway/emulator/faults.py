"""Injected faults and latency that admin calls put in front of the upstream routes."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from gateway.emulator.errors import invalid


@dataclass
class Fault:
    id: int
    method: str | None
    path: re.Pattern[str]
    status: int
    times: int | None
    delay: float
    retry_after: str | None
    error_code: str | None
    drop: bool

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and self.path.search(path) is not None


@dataclass(frozen=True)
class Latency:
    seconds: float
    path: re.Pattern[str] | None
    method: str | None

    def applies(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path.search(path) is not None
        )


def _pattern(value: object, field: str) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise invalid(f"Invalid parameter: {field} must be a regular expression string")
    try:
        return re.compile(value)
    except re.error:
        raise invalid(f"Invalid parameter: {field} is not a valid regular expression") from None


def _method(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid("Invalid parameter: method must be a string or null")
    return value.upper()


def _seconds(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise invalid(f"Invalid parameter: {field} must be a non-negative number")
    return float(value)


class FaultBoard:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.latency: Latency | None = None
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, object]) -> Fault:
        status = spec.get("status", 503)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise invalid("Invalid parameter: status must be an HTTP status code")
        times = spec.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise invalid("Invalid parameter: times must be a positive integer or null")
        retry_after = spec.get("retry_after")
        error_code = spec.get("error_code")
        for name, value in (("retry_after", retry_after), ("error_code", error_code)):
            if value is not None and not isinstance(value, str):
                raise invalid(f"Invalid parameter: {name} must be a string")
        fault = Fault(
            id=next(self._ids),
            method=_method(spec.get("method")),
            path=_pattern(spec.get("path", ".*"), "path"),
            status=status,
            times=times,
            delay=_seconds(spec.get("delay", 0), "delay"),
            retry_after=retry_after if isinstance(retry_after, str) else None,
            error_code=error_code if isinstance(error_code, str) else None,
            drop=bool(spec.get("drop", False)),
        )
        self.faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching this request, with one of its `times` used up."""
        for fault in self.faults:
            if fault.matches(method, path):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def set_latency(self, spec: dict[str, object]) -> None:
        path = spec.get("path")
        self.latency = Latency(
            seconds=_seconds(spec.get("seconds"), "seconds"),
            path=None if path is None else _pattern(path, "path"),
            method=_method(spec.get("method")),
        )

    def delay_for(self, method: str, path: str) -> float:
        if self.latency is None or not self.latency.applies(method, path):
            return 0.0
        return self.latency.seconds

    def clear(self) -> None:
        self.faults.clear()
        self.latency = None
