"""Small helpers over raw ASGI header lists, shared by the edge middlewares."""

from __future__ import annotations

from collections.abc import Iterable

RawHeaders = list[tuple[bytes, bytes]]


def header(raw: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of a header (`name` in lower case), or None."""
    for key, value in raw:
        if key.lower() == name:
            return value
    return None


def without(raw: Iterable[tuple[bytes, bytes]], *names: bytes) -> RawHeaders:
    """The headers less every occurrence of `names` (lower case)."""
    return [(key, value) for key, value in raw if key.lower() not in names]


def media_type(raw: Iterable[tuple[bytes, bytes]]) -> str:
    """The response's media type, lower case, without parameters ("" when it has none)."""
    value = header(raw, b"content-type") or b""
    return value.split(b";", 1)[0].strip().lower().decode("latin-1")


def is_json(raw: Iterable[tuple[bytes, bytes]]) -> bool:
    kind = media_type(raw)
    return kind == "application/json" or kind.endswith("+json")


def with_vary(raw: Iterable[tuple[bytes, bytes]], *names: str) -> RawHeaders:
    """The headers with `names` added to one `Vary` header, keeping what it named and naming none twice."""
    named: list[str] = []
    for key, value in raw:
        if key.lower() == b"vary":
            named.extend(part.strip() for part in value.decode("latin-1").split(",") if part.strip())
    if "*" not in named:
        seen = {name.lower() for name in named}
        for name in names:
            if name.lower() not in seen:
                named.append(name)
                seen.add(name.lower())
    return [*without(raw, b"vary"), (b"vary", ", ".join(named).encode("latin-1"))]
