"""The live emulator: its jobs, clock, life cycles, callbacks, faults and call log in one place."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from gateway.emulator.access import Principal, authenticate
from gateway.emulator.callbacks import Callback, CallbackSender
from gateway.emulator.calls import CallLog
from gateway.emulator.clock import Clock, system_clock
from gateway.emulator.config import EmulatorConfig
from gateway.emulator.errors import invalid, job_not_found
from gateway.emulator.faults import FaultBoard
from gateway.emulator.jobs import Job, JobKind
from gateway.emulator.lifecycle import Lifecycle
from gateway.emulator.store import JobStore
from gateway.emulator.validation import InvalidRequest, validate_request
from gateway.emulator.views import Links


@dataclass(frozen=True)
class Upload:
    sha256: str
    size: int
    filename: str
    content_type: str


class Emulator:
    def __init__(self, config: EmulatorConfig, clock: Clock = system_clock) -> None:
        self.config = config
        self.clock = clock
        self.store = JobStore()
        self.callbacks = CallbackSender()
        self.lifecycle = Lifecycle(self.store, clock, config.timings, self._job_ended)
        self.faults = FaultBoard()
        self.calls = CallLog()
        self.uploads: dict[str, Upload] = {}

    async def start(self) -> None:
        self.lifecycle.start()
        self.callbacks.start()

    async def stop(self) -> None:
        await self.lifecycle.stop()
        await self.callbacks.stop()

    async def caller(self, request: Request) -> Principal:
        principal = await authenticate(request, self.config)
        # Reads see the state the clock says, even if the background task has not woken yet.
        self.lifecycle.advance_due()
        return principal

    def links(self, request: Request) -> Links:
        host = self.config.public_host
        if host is None:
            base = f"{request.url.scheme}://{request.url.netloc}"
        else:
            base = host.rstrip("/") if "://" in host else f"https://{host}"
        return Links(base, self.config.project_id)

    def job(self, principal: Principal, job_id: str, *kinds: JobKind) -> Job:
        """The caller's job of one of these kinds; anyone else's looks exactly like a missing one."""
        job = self.store.get(principal.label, job_id)
        if job is None or job.kind not in kinds:
            raise job_not_found(job_id)
        return job

    def new_job(self, principal: Principal, kind: JobKind, state: str, data: dict[str, Any]) -> Job:
        now = self.clock()
        job_id = uuid.uuid4().hex if kind is JobKind.TRAINING else str(uuid.uuid4())
        job = Job(job_id, kind, principal.label, state, now, now, data)
        self.store.add(job)
        return job

    def _job_ended(self, job: Job) -> None:
        if job.callback_url is None:
            return
        body: dict[str, Any] = {"job_id": job.job_id, "state": job.state}
        if job.kind is JobKind.PICTURE:
            body["model_asset_id"] = job.data.get("model_asset_id")
        else:
            body["job_type"] = job.kind.value
        if job.error_info is not None:
            body["error_info"] = job.error_info
        self.callbacks.enqueue(Callback(job.callback_url, job.job_id, job.state, body))


async def json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise invalid("Invalid parameter: the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("Invalid parameter: the request body must be a JSON object")
    return body


def validated(model: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        validate_request(model, body)
    except InvalidRequest as exc:
        raise invalid(str(exc)) from None
    return body


def emulator_of(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator
