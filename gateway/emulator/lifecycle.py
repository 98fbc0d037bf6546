"""Job life cycles: per-job plans of timed steps, applied from the clock and by a background task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from gateway.emulator import background
from gateway.emulator.clock import Clock
from gateway.emulator.config import Timings
from gateway.emulator.jobs import Job, JobKind, Step, ends_of, states_of
from gateway.emulator.store import JobStore

logger = logging.getLogger("gateway.emulator")

VIDEO_FAILURE = ("MSS.20010001", "Video rendering failed: the voice could not be synthesized")
PICTURE_FAILURE = ("MSS.20020001", "Picture modeling failed: no frontal face found in the photo")
VERIFY_FAILURE = ("44005901", "The training video resolution must be 1080p or 4K")
TRAIN_FAILURE = ("MSS.20030001", "Model training failed")

# The operation log entry the upstream writes when a training job enters a state.
TRAINING_LOG_TYPES = {
    "AUTO_VERIFYING": ("USER_VERIFYING_SUBMITTED", "USER"),
    "MANUAL_VERIFYING": ("SYSTEM_VERIFY_SUCCESS", "SYSTEM"),
    "AUTO_VERIFY_FAILED": ("SYSTEM_VERIFY_FAILED", "SYSTEM"),
    "MANUAL_VERIFY_SUCCESS": ("ADMIN_VERIFY_SUCCESS", "ADMIN"),
    "MANUAL_VERIFY_FAILED": ("ADMIN_VERIFY_FAILED", "ADMIN"),
    "TRAINING_DATA_PREPROCESSING": ("SYSTEM_TRAIN_DATA_PREPROCESSING", "SYSTEM"),
    "TRAINING": ("SYSTEM_TRAINING", "SYSTEM"),
    "TRAIN_SUCCESS": ("SYSTEM_TRAIN_SUCCESS", "SYSTEM"),
    "TRAIN_FAILED": ("SYSTEM_TRAIN_FAILED", "SYSTEM"),
    "JOB_SUCCESS": ("SYSTEM_JOB_SUCCESS", "SYSTEM"),
}
_TRAINING_PATH = (
    "MANUAL_VERIFYING",
    "MANUAL_VERIFY_SUCCESS",
    "TRAINING_DATA_PREPROCESSING",
    "TRAINING",
    "TRAIN_SUCCESS",
    "JOB_SUCCESS",
)


def video_plan(timings: Timings, fails: bool) -> list[Step]:
    return _processing_plan(timings.video_waiting, timings.video_processing, VIDEO_FAILURE if fails else None)


def picture_plan(timings: Timings, fails: bool) -> list[Step]:
    return _processing_plan(
        timings.picture_waiting, timings.picture_processing, PICTURE_FAILURE if fails else None
    )


def _processing_plan(waiting: float, processing: float, failure: tuple[str, str] | None) -> list[Step]:
    """PROCESSING after `waiting` seconds, then SUCCEED (or FAILED with `failure`) after `processing`."""
    end = Step("SUCCEED", processing) if failure is None else Step("FAILED", processing, failure)
    return [Step("PROCESSING", waiting), end]


def training_plan(timings: Timings, failure: str | None) -> list[Step]:
    """Steps after SUBMITVERIFYING; `failure` is None, "verify" or "train"."""
    step = timings.training_step
    if failure == "verify":
        return [Step("AUTO_VERIFY_FAILED", step, VERIFY_FAILURE)]
    path = [Step(state, step) for state in _TRAINING_PATH]
    if failure == "train":
        path = [*path[:4], Step("TRAIN_FAILED", step, TRAIN_FAILURE)]
    return path


class Lifecycle:
    """Moves jobs along their plans; `on_end` hears about every job that reaches an end state."""

    def __init__(
        self, store: JobStore, clock: Clock, timings: Timings, on_end: Callable[[Job], None]
    ) -> None:
        self.store = store
        self.clock = clock
        self.timings = timings
        self.random = random.Random(timings.random_seed)
        self._on_end = on_end
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def fails(self) -> bool:
        return self.random.random() < self.timings.failure_rate

    def schedule(self, job: Job, plan: list[Step], since: float) -> None:
        job.pending = list(plan)
        job.due_at = since + plan[0].after if plan else None
        self._wake.set()

    def enter(self, job: Job, state: str, at: float, error: tuple[str, str] | None = None) -> None:
        """Puts a job in `state` now, with the side effects the upstream shows for that state."""
        job.state = state
        job.updated_at = at
        if job.kind is JobKind.TRAINING:
            self._log_training(job, state, at, error)
        elif state == "PROCESSING" and job.started_at is None:
            job.started_at = at
        if error is not None:
            job.error_info = {"error_code": error[0], "error_msg": error[1]}
        if state in ends_of(job.kind):
            job.pending = []
            job.due_at = None
            job.ended_at = at
            if job.kind is JobKind.TRAINING and state == "JOB_SUCCESS":
                job.data.setdefault("asset_id", job.job_id[::-1])
            self._on_end(job)

    def step(self, job: Job, at: float) -> None:
        next_step = job.pending.pop(0)
        job.due_at = at + job.pending[0].after if job.pending else None
        self.enter(job, next_step.state, at, next_step.error)

    def advance_due(self) -> None:
        """Applies every step whose time has come, each at the time it was due."""
        now = self.clock()
        for job in self.store:
            while job.due_at is not None and job.due_at <= now:
                self.step(job, job.due_at)

    def set_state(self, job: Job, state: str, error: tuple[str, str] | None) -> None:
        if state not in states_of(job.kind):
            raise ValueError(state)
        now = self.clock()
        later = [s.state for s in job.pending]
        # Keep the rest of the plan when jumping to a planned state; any other jump ends the plan.
        rest = job.pending[later.index(state) + 1 :] if state in later else []
        job.pending = rest
        job.due_at = now + rest[0].after if rest else None
        self.enter(job, state, now, error)
        self._wake.set()

    def _log_training(self, job: Job, state: str, at: float, error: tuple[str, str] | None) -> None:
        log_type = TRAINING_LOG_TYPES.get(state)
        if log_type is None:
            return
        entry: dict[str, object] = {"operate_time": at, "log_type": log_type[0], "operate_user": log_type[1]}
        if error is not None:
            entry["error_code"] = error[0]
            entry["log_description"] = error[1]
        job.data.setdefault("operation_logs", []).append(entry)

    def next_due(self) -> float | None:
        dues = [job.due_at for job in self.store if job.due_at is not None]
        return min(dues) if dues else None

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                self.advance_due()
            except Exception:
                logger.exception("emulator life cycle step failed")
            due = self.next_due()
            timeout = 60.0 if due is None else min(60.0, max(0.0, due - self.clock()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self.run(), name="emulator-lifecycle")

    async def stop(self) -> None:
        await background.cancel(self._task)
        self._task = None
