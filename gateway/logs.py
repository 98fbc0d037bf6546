"""Log lines: every line of a request names it, as text for a terminal or one JSON object per line."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TextIO

import orjson

from gateway.settings import EMULATOR_TOKEN, Settings

# Upstream X-Request-Ids one access line names at most (every attempt has its own DEBUG line).
LOGGED_UPSTREAM_IDS = 10
# The caller's hash as logged: a prefix of the key the rate limits and idempotency keys use.
CALLER_CHARS = 16
# Client-chosen text in a log field (operation names, paths) is cut to this many characters.
LOGGED_TEXT_CHARS = 100
REDACTED = "[redacted]"
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

# Environment variables whose values are credentials, whichever component reads them (OTLP exporter
# headers, cloud SDK keys, JWT secrets).
_SECRET_VARIABLE = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|_SK$|_AK$|_KEY$|HEADERS$")
# Shorter values are not redacted: they would take ordinary words and numbers out of every line.
_MIN_SECRET_CHARS = 6
# Values that look secret by where they are set but are published (the start-up banner prints this one).
_PUBLIC_VALUES = frozenset({EMULATOR_TOKEN})
# Credentials recognised by their shape, whatever their value: JWTs, bearer tokens, SDK-HMAC signatures
# and the values of credential headers (quoted as JSON escapes them).
_CREDENTIAL_SHAPES = (
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE), r"\1" + REDACTED),
    (re.compile(r"(\bsignature=)[0-9A-F]{16,}", re.IGNORECASE), r"\1" + REDACTED),
    (
        re.compile(
            r"(\b(?:x-auth-token|authorization|x-sdk-signature|cookie)\\?[\"']?\s*[:=]\s*\\?[\"']?)"
            r"(?!bearer\b)[^\s\"',;\\]{8,}",
            re.IGNORECASE,
        ),
        r"\1" + REDACTED,
    ),
)
# A line holds one of those shapes only if it holds one of these (lowercased) words: a regular expression
# scan of every line would cost more than the rest of its formatting.
_SHAPE_WORDS = ("eyj", "bearer", "signature", "auth", "cookie")
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")

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


class Redactor:
    """Takes credentials out of a finished line: the configured secret values, and anything shaped like
    a token or a signature."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()

    def add(self, values: Iterable[str]) -> None:
        found = set(self._secrets)
        for value in values:
            value = value.strip()
            if len(value) >= _MIN_SECRET_CHARS and value not in _PUBLIC_VALUES:
                # As the value is, and as a JSON line spells it.
                found.update((value, orjson.dumps(value).decode("utf-8")[1:-1]))
        self._secrets = tuple(sorted(found, key=len, reverse=True))

    def clear(self) -> None:
        self._secrets = ()

    def __call__(self, line: str) -> str:
        for secret in self._secrets:
            if secret in line:
                line = line.replace(secret, REDACTED)
        lowered = line.lower()
        if any(word in lowered for word in _SHAPE_WORDS):
            for pattern, replacement in _CREDENTIAL_SHAPES:
                line = pattern.sub(replacement, line)
        return line


redact = Redactor()
_formats = {"configured": "text"}


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


def secret_settings(settings: Settings) -> list[str]:
    """The values of the settings kept out of their repr: keys, secrets, tokens, URLs with passwords."""
    found: list[str] = []
    for declared in dataclasses.fields(settings):
        if declared.repr:
            continue
        value = getattr(settings, declared.name)
        values = value if isinstance(value, tuple) else (value,)
        found.extend(v for v in values if isinstance(v, str))
    return found


def secret_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables named like credentials, and each item of a comma list of them."""
    found: list[str] = []
    for name, value in (os.environ if environ is None else environ).items():
        if _SECRET_VARIABLE.search(name.upper()):
            found.append(value)
            found.extend(value.split(","))
    return found


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
