"""The environment variables the gateway reads, each declared once in variables.toml: its name, what
it means and, for one read by itself, the Settings field it sets and the kind of value it takes. The
settings are read along these declarations (gateway/settings.py), and the README's settings table is
written from them: `python -m gateway.variables` prints it, and tests/test_settings.py checks the README
against it.

A variable with a field and a kind is read by itself, and its default is that Settings field's own. The
others are read with the variables they depend on, by gateway/settings.py, and say in `default` how the
README words their default.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")
W = TypeVar("W", bound=str)

DECLARATIONS = Path(__file__).with_name("variables.toml")
# `open` runs any document; `trusted` only the trusted documents (safelisting).
OperationsMode = Literal["open", "trusted"]
OPERATIONS_MODES: tuple[OperationsMode, ...] = ("open", "trusted")
# How GraphQL executes (schema/__init__.py): along plans per document, with direct fields, or wholly
# through Strawberry and graphql-core; the answers are the same.
ExecutionMode = Literal["planned", "direct", "standard"]
EXECUTION_MODES: tuple[ExecutionMode, ...] = ("planned", "direct", "standard")
LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
# `jwt` verifies each caller's bearer JWT and takes its end user from a claim; `none` trusts callers.
ClientAuthMode = Literal["none", "jwt"]
CLIENT_AUTH_MODES: tuple[ClientAuthMode, ...] = ("none", "jwt")


@dataclass(frozen=True)
class Kind(Generic[T]):
    """A kind of value: `parse` reads a variable's text, raising ValueError for one that is not `rule`."""

    parse: Callable[[str], T]
    rule: str


@dataclass(frozen=True)
class Variable:
    """One environment variable, with `also` a second one read and documented with it."""

    name: str
    meaning: str
    also: str | None = None
    # The Settings field set by the variable alone, and the kind of value it takes.
    field: str | None = None
    kind: Kind[Any] | None = None
    # The README's words for the default, where it is not the field's default value.
    default: str | None = None

    @property
    def read_alone(self) -> bool:
        return self.field is not None and self.kind is not None


def _leeway(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 300:
        raise ValueError(value)
    return number


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError(value)
    return port


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError(value)
    return number


def _zero_or_more(value: str) -> float:
    """A finite number of at least 0, `off` being 0 (a limit or a keeping time turned off)."""
    if value.lower() == "off":
        return 0.0
    number = float(value)
    if not number >= 0 or number == float("inf"):
        raise ValueError(value)
    return number


def _retries(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 10:
        raise ValueError(value)
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _codings(value: str) -> tuple[str, ...]:
    if value.lower() == "off":
        return ()
    codings = tuple(coding.strip().lower() for coding in value.split(",") if coding.strip())
    if not codings or any(coding not in ("br", "gzip") for coding in codings):
        raise ValueError(value)
    return tuple(dict.fromkeys(codings))


def _bool(value: str) -> bool:
    word = value.lower()
    if word in ("true", "1", "yes"):
        return True
    if word in ("false", "0", "no"):
        return False
    raise ValueError(value)


def _one_of(words: tuple[W, ...]) -> Kind[W]:
    """The kind whose values are `words`, in any case; its rule names them."""

    def parse(value: str) -> W:
        for word in words:
            if value.lower() == word:
                return word
        raise ValueError(value)

    return Kind(parse, "one of " + ", ".join(words))


KINDS: dict[str, Kind[Any]] = {
    "positive": Kind(_positive, "a positive number"),
    "count": Kind(_count, "a whole number of at least 1"),
    "port": Kind(_port, "a port number (0-65535)"),
    "retries": Kind(_retries, "a whole number from 0 to 10"),
    "keeping": Kind(_zero_or_more, "a number of seconds, 0 or more (or off)"),
    "rate": Kind(_zero_or_more, "a positive number, or 0 or off"),
    "bool": Kind(_bool, "true or false (also 1/0, yes/no)"),
    "codings": Kind(_codings, "a comma list of br and gzip, or off"),
    "log_level": _one_of(("debug", "info", "warning", "error")),
    "log_format": _one_of(LOG_FORMATS),
    "operations": _one_of(OPERATIONS_MODES),
    "execution": _one_of(EXECUTION_MODES),
    "leeway": Kind(_leeway, "a number of seconds from 0 to 300"),
    "client_auth": _one_of(CLIENT_AUTH_MODES),
}
_KEYS = {"meaning", "also", "field", "kind", "default"}


def load_declarations(text: str, field_names: set[str]) -> tuple[Variable, ...]:
    """The variables `text` declares, in its order; ValueError names a declaration that cannot be read
    (an unknown key, kind or field, a field without a kind, no meaning, no default to show)."""
    variables = []
    for name, declared in tomllib.loads(text).items():
        unknown = set(declared) - _KEYS
        if unknown:
            raise ValueError(f"{name}: unknown keys {', '.join(sorted(unknown))}")
        if not isinstance(declared.get("meaning"), str):
            raise ValueError(f"{name}: no meaning")
        kind = declared.get("kind")
        if kind is not None and kind not in KINDS:
            raise ValueError(f"{name}: kind {kind!r} is none of {', '.join(KINDS)}")
        field = declared.get("field")
        if field is not None and field not in field_names:
            raise ValueError(f"{name}: Settings has no field {field!r}")
        if (field is None) != (kind is None):
            raise ValueError(f"{name}: a field and a kind go together")
        if field is None and "default" not in declared:
            raise ValueError(f"{name}: read with others, it needs the words for its default")
        variables.append(
            Variable(
                name=name,
                meaning=declared["meaning"],
                also=declared.get("also"),
                field=field,
                kind=None if kind is None else KINDS[kind],
                default=declared.get("default"),
            )
        )
    return tuple(variables)


def default_text(variable: Variable, defaults: object) -> str:
    """The README's words for the variable's default: its own, else its field's default value."""
    if variable.default is not None:
        return variable.default
    assert variable.field is not None
    value = getattr(defaults, variable.field)
    if isinstance(value, bool):
        shown = "true" if value else "false"
    elif isinstance(value, tuple):
        shown = ",".join(value)
    elif isinstance(value, float) and value.is_integer():
        shown = str(int(value))
    else:
        shown = str(value)
    return f"`{shown}`"


def readme_table(variables: tuple[Variable, ...], defaults: object) -> list[str]:
    """The README's settings table, a line per declaration; `defaults`: Settings with nothing set."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for variable in variables:
        names = f"`{variable.name}`" + (f", `{variable.also}`" if variable.also else "")
        lines.append(f"| {names} | {default_text(variable, defaults)} | {variable.meaning} |")
    return lines


def declared(settings_class: type) -> tuple[Variable, ...]:
    """The variables of variables.toml, checked against `settings_class`'s fields."""
    return load_declarations(
        DECLARATIONS.read_text(encoding="utf-8"), {f.name for f in fields(settings_class)}
    )


def main() -> int:
    from gateway.settings import VARIABLES, Settings

    sys.stdout.write("\n".join(readme_table(VARIABLES, Settings())) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
