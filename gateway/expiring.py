"""Bounded in-process maps of expiring entries: how one makes room for a new entry."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def make_room(entries: dict[K, tuple[float, V]], now: float, capacity: int) -> None:
    """Drop the entries expired by `now` (each is (expires_at, value)); while the map is still full,
    drop the oldest, in insertion order."""
    for key in [k for k, (expires, _) in entries.items() if expires <= now]:
        del entries[key]
    while len(entries) >= capacity:
        del entries[next(iter(entries))]
