"""What the live hub says about a job: which job, its new state, or a request to look at it now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import orjson

JobKind = Literal["video", "training", "picture"]
JOB_KINDS: tuple[JobKind, ...] = get_args(JobKind)


@dataclass(frozen=True)
class JobRef:
    """One upstream job; ids are only unique within a kind."""

    kind: JobKind
    job_id: str


@dataclass(frozen=True)
class JobChange:
    """A job's new raw upstream state, as its poller saw it."""

    ref: JobRef
    state: str


@dataclass(frozen=True)
class RefreshHint:
    """Poll this job now (a callback said it moved): only the replica holding its lease acts on it."""

    ref: JobRef


Message = JobChange | RefreshHint


def encode_message(message: Message) -> bytes:
    """The JSON form replicas exchange: `{"kind", "job_id", "state"}`, no state for a refresh hint."""
    body: dict[str, str] = {"kind": message.ref.kind, "job_id": message.ref.job_id}
    if isinstance(message, JobChange):
        body["state"] = message.state
    return orjson.dumps(body)


def decode_message(data: bytes | str) -> Message | None:
    """The message in `data`, or None when it is not one (another program on the channel, a newer format)."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    kind, job_id, state = body.get("kind"), body.get("job_id"), body.get("state", None)
    if kind not in JOB_KINDS or not isinstance(job_id, str) or not job_id:
        return None
    ref = JobRef(kind, job_id)
    if state is None:
        return RefreshHint(ref)
    return JobChange(ref, state) if isinstance(state, str) else None
