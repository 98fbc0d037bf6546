"""Lenient readers of upstream JSON: a wrong or missing value reads as absent, never as an error."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

Data = Mapping[str, Any]
N = TypeVar("N")

_INT_MAX = 2**31 - 1
# ASCII digits only: str.isdigit() also accepts characters such as "²" that int() refuses.
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def record(data: Data, key: str) -> Data | None:
    """The object under key, or None when the upstream sent none (or something else)."""
    value = data.get(key)
    # Decoded JSON holds plain dicts: checked first, as the Mapping check costs several times more.
    return value if type(value) is dict or isinstance(value, Mapping) else None


def records(data: Data, key: str) -> list[Data]:
    """The objects of a list field, skipping anything that is not one."""
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def nested(data: Data, key: str, build: Callable[[Data], N]) -> N | None:
    """The object under key built into a GraphQL type, or None when there is no object."""
    value = record(data, key)
    return None if value is None else build(value)


def _as_text(value: object) -> str | None:
    # Numbers become text too: the docs type frame_rate as a string, their own examples send 30.
    if type(value) is str:
        return value
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    return str(value)


def text(data: Data, key: str) -> str | None:
    value = data.get(key)
    # Most values are text or absent: answered here, without a further call.
    if value is None or type(value) is str:
        return value
    return _as_text(value)


def texts(data: Data, key: str) -> list[str]:
    """The items of a list field that read as text, skipping the others."""
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in map(_as_text, value) if item is not None]


def link(data: Data, key: str) -> str | None:
    """A download or upload URL; the upstream sometimes sends the string "null" for none."""
    value = text(data, key)
    return None if value is None or value.strip() in ("", "null") else value


def integer(data: Data, key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        value = int(value)
    # GraphQL Int is 32-bit: a larger number would fail the whole field, so it reads as absent.
    return value if isinstance(value, int) and -_INT_MAX - 1 <= value <= _INT_MAX else None


def real(data: Data, key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def flag(data: Data, key: str) -> bool | None:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
