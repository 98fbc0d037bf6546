"""Log output: the root handler `configure` sets up, writing text or one JSON object per line."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO

import orjson

from gateway.logs import RequestFieldsFilter
from gateway.redaction import redact, secret_environment

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# The loggers uvicorn writes to; with uvicorn's own logging config off, they reach the root's handler.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# httpx logs every URL it calls at INFO, httpcore and aiohttp connection events at DEBUG: the gateway's
# own line per upstream attempt says more, with the request id.
QUIETED_LOGGERS = ("httpx", "httpcore", "aiohttp")
# Packages whose lines below WARNING are dropped: the WebSocket libraries trace handshake headers and
# frames at DEBUG (credentials, `connection_init` payloads, variables, cut anywhere) and log each connection
# with its query string at INFO; the gateway's access lines say as much, with the request id.
QUIETED_PACKAGES = ("websockets", "wsproto", "uvicorn.protocols.websockets")

# The fields a JSON line carries when its record has them, in this order after time, level, logger,
# message and request_id.
FIELDS = (
    "operation_name",
    "operation_type",
    "caller",
    "method",
    "path",
    "status",
    "duration_ms",
    "upstream_calls",
    "upstream_request_ids",
    "operations",
    "close_code",
    "upstream_operation",
    "upstream_request_id",
    "attempt",
    "error",
)
_formats = {"configured": "text"}


class QuietPackagesFilter(logging.Filter):
    """Drops records below WARNING logged from the code of QUIETED_PACKAGES, whichever logger they use."""

    def __init__(self, packages: Iterable[str] = QUIETED_PACKAGES) -> None:
        super().__init__()
        directories: list[str] = []
        for package in packages:
            with contextlib.suppress(ImportError, ValueError):
                spec = importlib.util.find_spec(package)
                if spec is not None and spec.submodule_search_locations:
                    directories.extend(os.path.join(d, "") for d in spec.submodule_search_locations)
        self.directories = tuple(directories)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.pathname.startswith(self.directories)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC, milliseconds), level, logger, message, request_id,
    then whichever of FIELDS the record has, and the exception's text as one escaped field."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        values = record.__dict__
        entry: dict[str, object] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": values.get("request_id"),
        }
        for name in FIELDS:
            value = values.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
            entry["exception"] = record.exc_text
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        try:
            line = orjson.dumps(entry, default=str).decode("utf-8")
        except TypeError:
            # Text orjson refuses (lone surrogates from undecodable bytes): the standard library escapes it.
            line = json.dumps(entry, default=str, separators=(",", ":"))
        return redact(line)

    def _time(self, created: float) -> str:
        # The formatter runs under its handler's lock, so the cached second is never torn.
        second = int(created)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"


class TextFormatter(logging.Formatter):
    """`time level logger message`, then the request id when the line belongs to a request."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = record.__dict__.get("request_id")
        return line if request_id is None else f"{line} request_id={request_id}"

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(
    log_format: str, level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """One handler on the root logger, in `log_format` (text or json), that uvicorn's loggers reach too;
    warnings and, in json, uncaught exceptions become records, so nothing else is printed."""
    _formats["configured"] = log_format
    redact.clear()
    redact.add([*secrets, *secret_environment()])
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(QuietPackagesFilter())
    handler.addFilter(RequestFieldsFilter())
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name in QUIETED_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    if log_format == "json":
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_uncaught_in_thread
    return handler


def json_configured() -> bool:
    """Whether `configure` chose JSON lines, so that nothing may be printed as plain text."""
    return _formats["configured"] == "json"


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    logging.getLogger("gateway").critical("uncaught %s", kind.__name__, exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    error = (args.exc_type, args.exc_value, args.exc_traceback)
    logging.getLogger("gateway").critical("uncaught %s in %s", args.exc_type.__name__, name, exc_info=error)
