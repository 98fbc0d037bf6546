"""Upstream times read as UTC datetimes, answered as the DateTime scalar writes them, and sent back."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from schema.direct import UNANSWERED


def parse_time(value: object) -> datetime | None:
    """An upstream time as an aware UTC datetime; None for empty or unreadable values.

    The upstream mostly sends `2024-05-10T09:02:37Z`, sometimes with milliseconds or an offset,
    and a few nested models send epoch milliseconds.
    """
    if type(value) is str:
        # Most upstream times read as they are (Python reads a trailing `Z` as UTC); the rest go the
        # long way (read_time), which reads the same times alike.
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return read_time(value)


def read_time(value: object) -> datetime | None:
    """parse_time the long way, for every value: what its shortcut must agree with."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# The upstream's usual time: UTC to the second, `Z`; ASCII digits only.
_USUAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def time_answer(value: object) -> object:
    """What the DateTime scalar writes for `parse_time(value)`, without making the datetime where the
    upstream sent its usual text (`2024-05-10T09:02:37Z` is written `2024-05-10T09:02:37+00:00`): null
    for no value, UNANSWERED for any other form (parse_time and the scalar then decide). The scalar's
    isoformat is most of a time field's cost on a page of rows."""
    if value is None:
        return None
    if type(value) is str and _USUAL_TIME.fullmatch(value):
        try:
            datetime.fromisoformat(value)  # a real day and time of day
        except ValueError:
            return UNANSWERED
        return value[:19] + "+00:00"
    return UNANSWERED


def upstream_time(value: datetime) -> str:
    """A filter time as the upstream expects it: UTC, seconds, `Z`."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
