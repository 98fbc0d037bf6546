"""Upstream strings read as the API's enums: a member by name or value, UNKNOWN for any other."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import NamedTuple, TypeVar

E = TypeVar("E", bound=enum.Enum)

UNKNOWN_DESCRIPTION = (
    "A value the upstream sent that this gateway does not know yet; answers only, refused in inputs."
)


class _EnumTable(NamedTuple):
    by_name: dict[str, enum.Enum]
    # The first member of each value: what a scan in definition order finds.
    by_value: dict[object, enum.Enum]
    unknown: enum.Enum


_ENUM_TABLES: dict[type[enum.Enum], _EnumTable] = {}


def _enum_table(enum_cls: type[enum.Enum]) -> _EnumTable:
    table = _ENUM_TABLES.get(enum_cls)
    if table is None:
        by_value: dict[object, enum.Enum] = {}
        for member in enum_cls:
            by_value.setdefault(member.value, member)
        table = _ENUM_TABLES[enum_cls] = _EnumTable(dict(enum_cls.__members__), by_value, enum_cls["UNKNOWN"])
    return table


def enum_value(enum_cls: type[E], raw: object, aliases: Mapping[str, str] | None = None) -> E:
    """The enum member named by an upstream string (its name, or its value where the two differ, as
    V3_2 for "V3.2"), or UNKNOWN for anything the gateway does not know."""
    # Every row of a page reads a few enums: a table per enum instead of a scan of its members.
    table = _ENUM_TABLES.get(enum_cls) or _enum_table(enum_cls)
    if not isinstance(raw, str):
        return table.unknown  # type: ignore[return-value]
    member = table.by_name.get(aliases.get(raw, raw) if aliases else raw)
    if member is None:
        member = table.by_value.get(raw)
    return table.unknown if member is None else member  # type: ignore[return-value]


def optional_enum_value(enum_cls: type[E], raw: object) -> E | None:
    """As enum_value, but null for a value the upstream left out."""
    return None if raw is None or raw == "" else enum_value(enum_cls, raw)


def enum_values(enum_cls: type[E], raw: object) -> list[E]:
    """Each string of an upstream list as its enum member (UNKNOWN for those the gateway does not know)."""
    return [enum_value(enum_cls, item) for item in raw] if isinstance(raw, list) else []
