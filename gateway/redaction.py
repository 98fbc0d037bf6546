"""Redaction: credentials taken out of every finished log line, by their configured value or their shape."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping

import orjson

from gateway.settings import EMULATOR_TOKEN, Settings

REDACTED = "[redacted]"

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
