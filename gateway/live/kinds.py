"""How the live machinery follows each kind of job, in one table: whether its jobs are polled in batches
through the video list's job_ids filter or by a show call each (and which), and whether its states come
in a fixed order, from which a watcher's progress is told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.live.events import JobKind
from gateway.upstream import Credentials, JSONObject, UpstreamClient


class ShowCall(Protocol):
    def __call__(
        self, creds: Credentials, /, job_id: str, *, fresh: bool = False
    ) -> Awaitable[JSONObject]: ...


@dataclass(frozen=True)
class LiveKind:
    # States in a fixed order (gateway/live/watch.py `progress`); a training job's branch and loop.
    ordered_states: bool
    # The show call that polls one job of the kind; None: its jobs are polled through the list's job_ids
    # filter instead, up to 100 a call.
    show: Callable[[UpstreamClient], ShowCall] | None = None


LIVE_KINDS: dict[JobKind, LiveKind] = {
    "video": LiveKind(ordered_states=True),
    "training": LiveKind(ordered_states=False, show=lambda client: client.show_2d_model_training_job),
    "picture": LiveKind(ordered_states=True, show=lambda client: client.show_picture_modeling_job),
}
