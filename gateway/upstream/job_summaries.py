"""Job summaries: what a read's query and answer say of the jobs it shows, to tell a stale answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import orjson

JobKind = Literal["video", "training", "picture"]
Summary = tuple[Any, ...]

# The fields a job's list item carries (DigitalHumanVideo, TrainingJobBasicInfo, and for pictures the
# show model itself), all of which its show answer carries too: two answers of one job that agree on
# every one of these they both hold say the same about it. State first. Signed links are left out, at
# any depth: the upstream may sign them anew in every answer without the job having changed.
SUMMARY_FIELDS: dict[JobKind, tuple[str, ...]] = {
    "video": (
        "state",
        "lastupdate_time",
        "job_type",
        "start_time",
        "end_time",
        "duration",
        "output_asset_config",
        "error_info",
        "create_time",
    ),
    "training": (
        "state",
        "last_update_time",
        "name",
        "asset_id",
        "create_time",
        "contact",
        "batch_name",
        "tags",
        "model_version",
        "matting_type",
        "model_resolution",
        "app_user_id",
        "is_flexus",
        "is_live_copy",
        "is_fast_flexus",
        "is_only_human_model",
        "optional_training_location",
        "is_background_replacement",
        "is_ondemand_resource",
    ),
    "picture": ("state", "start_time", "end_time", "error_info", "model_asset_id", "name", "style_id"),
}
# List filters and orders under which a job's state or update moves it into, out of or within a list.
_MOVING_FILTERS = frozenset({"state", "update_since", "update_until"})
_SORT_KEYS = frozenset({"sort_key", "sort_by"})
# List filters naming the jobs wanted: a job they name that the answer lacks is gone for this caller.
_NAMING_FILTERS = frozenset({"job_id", "job_ids"})

_MISSING: Any = object()


def canonical_query(query: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    # The upstream reads a query by name: the order of its pairs, and of repeated job_ids, says nothing.
    return tuple(sorted(query))


def moves_with_jobs(query: Iterable[tuple[str, str]]) -> bool:
    """Whether a list's members move with job states or updates (its filters or order say so)."""
    return any(
        name in _MOVING_FILTERS or (name in _SORT_KEYS and "update" in value.lower()) for name, value in query
    )


def named_jobs(query: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The job ids a list's query names."""
    named: list[str] = []
    for name, value in query:
        if name in _NAMING_FILTERS:
            named.extend(part for part in value.split(",") if part)
    return tuple(named)


def jobs_of(kind: JobKind, job_id: str | None, answer: Mapping[str, Any]) -> dict[str, Summary]:
    """Each job an answer shows, with its summary: the show answer's own job, or a list's items."""
    fields = SUMMARY_FIELDS[kind]
    if job_id is not None:
        return {job_id: _summary(fields, answer)} if _has_state(answer) else {}
    items = answer.get("jobs")
    jobs: dict[str, Summary] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("job_id"), str) and _has_state(item):
            jobs[item["job_id"]] = _summary(fields, item)
    return jobs


def _has_state(job: Mapping[str, Any]) -> bool:
    state = job.get("state")
    return isinstance(state, str) and bool(state)


def _summary(fields: tuple[str, ...], job: Mapping[str, Any]) -> Summary:
    # Made for every job of every list answer kept: plain loops, no per-field call.
    values = []
    for name in fields:
        value = job.get(name, _MISSING)
        if value.__class__ is dict or value.__class__ is list:
            # A hash, not the JSON itself: orjson's output holds at least 4 KiB however short it is.
            value = hash(orjson.dumps(_unsigned(value), option=orjson.OPT_SORT_KEYS))
        values.append(value)
    return tuple(values)


def _unsigned(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _unsigned(item) for name, item in value.items() if not name.endswith("_url")}
    if isinstance(value, list):
        return [_unsigned(item) for item in value]
    return value


def agree(ours: Summary, theirs: Summary) -> bool:
    """Whether two summaries of one job say the same wherever both say something."""
    return all(a is _MISSING or b is _MISSING or a == b for a, b in zip(ours, theirs, strict=True))
