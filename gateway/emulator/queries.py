"""List query parameters as the upstream reads them: paging, state lists, sorting, time filters."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from gateway.emulator.clock import parse_time
from gateway.emulator.errors import invalid
from gateway.emulator.jobs import Job

MAX_OFFSET = 2147483647


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def _integer(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"Invalid parameter: {name} must be an integer") from None
    if not low <= value <= high:
        raise invalid(f"Invalid parameter: {name} must be between {low} and {high}")
    return value


def page(params: QueryParams) -> Page:
    return Page(_integer(params, "offset", 0, 0, MAX_OFFSET), _integer(params, "limit", 10, 1, 100))


def states(params: QueryParams, known: Sequence[str]) -> set[str] | None:
    raw = params.get("state")
    if raw is None or raw.strip() == "":
        return None
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise invalid(f"Invalid parameter: state has unknown value {unknown[0]}")
    return wanted


def listed(params: QueryParams, name: str) -> list[str]:
    """A list parameter given repeated (`a=1&a=2`), comma-separated (`a=1,2`) or both."""
    return [part.strip() for raw in params.getlist(name) for part in raw.split(",") if part.strip()]


def boolean(params: QueryParams, name: str) -> bool | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise invalid(f"Invalid parameter: {name} must be true or false")
    return raw.lower() == "true"


def time_bound(params: QueryParams, name: str) -> float | None:
    raw = params.get(name)
    return None if raw is None or raw == "" else parse_time(raw, name)


def within(value: float, since: float | None, until: float | None) -> bool:
    """Whether a time is within inclusive bounds, compared as the list shows it: to the second. A job
    created at 09:02:37.4 reads "2024-05-10T09:02:37Z" and is within create_until=2024-05-10T09:02:37Z."""
    shown = math.floor(value)
    return (since is None or shown >= since) and (until is None or shown <= until)


def time_key(value: float) -> str:
    """A sort key for a timestamp that orders like the number (timestamps here are positive)."""
    return f"{value:020.6f}"


def sort_jobs(jobs: list[Job], params: QueryParams, keys: dict[str, Callable[[Job], str]]) -> list[Job]:
    key_name = params.get("sort_key") or "create_time"
    if key_name not in keys:
        raise invalid(f"Invalid parameter: sort_key must be one of {', '.join(keys)}")
    direction = (params.get("sort_dir") or "asc").lower()
    if direction not in ("asc", "desc"):
        raise invalid("Invalid parameter: sort_dir must be asc or desc")
    key = keys[key_name]
    # The job id breaks ties so pages never overlap or skip jobs created in the same second.
    return sorted(jobs, key=lambda job: (key(job), job.job_id), reverse=direction == "desc")


def paged(jobs: list[Job], at: Page) -> list[Job]:
    return jobs[at.offset : at.offset + at.limit]
