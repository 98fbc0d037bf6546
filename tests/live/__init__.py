"""Tests of the live job state hub; what they share: a running hub over a real emulator, subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.context import RequestContext, build_context
from gateway.idempotency import MemoryIdempotencyStore
from gateway.live.bus import EventBus, MemoryBus
from gateway.live.clock import RUNNING_LOOP
from gateway.live.events import JobKind, JobRef
from gateway.live.hub import JobStateHub
from gateway.live.leases import Leases, MemoryLeases
from gateway.loaders.base import KindCache
from gateway.settings import Settings
from gateway.upstream import Credentials, UpstreamClient, UpstreamConfig
from schema.picture import PictureModelingJob
from schema.training import TrainingJob
from schema.video import VideoJob
from tests.support.bounded import gather_bounded
from tests.support.clock import ManualClock
from tests.support.gateway import PICTURE_BODY, PROJECT, TRAINING_BODY, V1, VIDEO_BODY
from tests.support.http import loopback

ALICE = Credentials(token="alice-token")
BOB = Credentials(token="bob-token")
PRINCIPALS = {"alice-token": "token#0", "bob-token": "token#1"}
# A power of two, as are its halves and quarters: due times add up exactly on a ManualClock.
INTERVAL = 0.125
_JOB_TYPES: dict[str, type[VideoJob | TrainingJob | PictureModelingJob]] = {
    "video": VideoJob,
    "training": TrainingJob,
    "picture": PictureModelingJob,
}


def is_terminal(kind: JobKind, state: str) -> bool:
    return bool(_JOB_TYPES[kind].is_terminal(state))


class Emulator:
    """The emulator's upstream and admin routes, as the tests drive them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def _create(self, path: str, body: dict[str, Any], token: str) -> str:
        response = await self.http.post(f"{V1}{path}", json=body, headers={"X-Auth-Token": token})
        assert response.status_code == 200, response.text
        job_id: str = response.json()["job_id"]
        return job_id

    async def create(self, kind: JobKind, token: str = "alice-token") -> JobRef:
        path, body = {
            "video": ("/2d-digital-human-videos", VIDEO_BODY),
            "training": ("/digital-human-training-manage/user/jobs", TRAINING_BODY),
            "picture": ("/digital-human/stylized/picture-modelings-by-url", PICTURE_BODY),
        }[kind]
        return JobRef(kind, await self._create(path, body, token))

    async def create_many(self, kind: JobKind, count: int, token: str = "alice-token") -> list[JobRef]:
        return await gather_bounded(self.create(kind, token) for _ in range(count))

    async def set_state(self, ref: JobRef, state: str) -> None:
        response = await self.http.put(f"/_emulator/jobs/{ref.job_id}/state", json={"state": state})
        assert response.status_code == 200, response.text

    async def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = (await self.http.get("/_emulator/calls")).json()["calls"]
        return [call for call in calls if operation is None or call["operation"] == operation]

    async def reset_calls(self) -> None:
        await self.http.delete("/_emulator/calls")

    async def fault(self, **spec: Any) -> None:
        response = await self.http.post("/_emulator/faults", json=spec)
        assert response.status_code == 200, response.text

    async def clear_faults(self) -> None:
        await self.http.delete("/_emulator/faults")


@contextlib.asynccontextmanager
async def emulator_admin(url: str) -> AsyncIterator[Emulator]:
    async with loopback(url) as http:
        yield Emulator(http)


def hub_settings(emulator_url: str, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "endpoint": emulator_url,
        "project_id": PROJECT,
        "auth_mode": "token",
        "max_retries": 0,
        "poll_interval": INTERVAL,
        "fast_poll_interval": INTERVAL / 2,
    }
    fields.update(overrides)
    return Settings(**fields)


@contextlib.asynccontextmanager
async def running_hub(
    settings: Settings,
    *,
    bus: EventBus | None = None,
    leases: Leases | None = None,
    clock: ManualClock | None = None,
    stop: bool = True,
) -> AsyncIterator[JobStateHub]:
    """A started hub over its own upstream client; `stop=False` leaves stopping to the test. With a
    `clock`, the hub keeps time by it (and it settles the hub after each move); else by its loop."""
    assert settings.endpoint is not None
    config = UpstreamConfig(settings.endpoint, settings.project_id, max_retries=settings.max_retries)
    kinds, idempotency = KindCache(), MemoryIdempotencyStore()
    async with UpstreamClient(config) as client:

        def context_for(credentials: Credentials) -> RequestContext:
            return build_context(
                None, credentials, client=client, kinds=kinds, settings=settings, idempotency=idempotency
            )

        hub = JobStateHub(
            client=client,
            settings=settings,
            bus=bus or MemoryBus(),
            leases=leases or MemoryLeases(),
            context_for=context_for,
            is_terminal=is_terminal,
            clock=clock or RUNNING_LOOP,
        )
        if clock is not None:
            clock.attach(hub)
        await hub.start()
        try:
            yield hub
        finally:
            if stop:
                await hub.stop()


# The emulator's admin routes, and a started hub over it with hub_settings, on the test's ManualClock.
HubOnClock = tuple[Emulator, JobStateHub]


async def load(context: RequestContext, ref: JobRef) -> dict[str, Any]:
    """The job as a subscription's resolver would load it in `context` (its summary fields)."""
    loaders = context.loaders
    data: Mapping[str, Any] | None
    if ref.kind == "video":
        data = await loaders.video.summary(ref.job_id)
    elif ref.kind == "training":
        data = await loaders.training.basic.load(ref.job_id)
    else:
        data = await loaders.picture.job.load(ref.job_id)
    assert data is not None, f"{ref} not found"
    return dict(data)


@dataclass
class Subscriber:
    """Does what a subscription does with the hub: watch, load the job now, then follow its states."""

    hub: JobStateHub
    ref: JobRef
    credentials: Credentials = ALICE
    pause: float = 0.0  # time spent on each event, as a slow client would

    def __post_init__(self) -> None:
        self.states: list[str] = []
        self.error: BaseException | None = None
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async with self.hub.watch(self.ref, self.credentials) as watch:
                first = await load(self.hub.event_context(self.ref, self.credentials, None), self.ref)
                watch.seen(first["state"])
                self.states.append(first["state"])
                if is_terminal(self.ref.kind, first["state"]):
                    return
                async for state in watch:
                    await asyncio.sleep(self.pause)
                    self.states.append(state)
        except Exception as exc:
            self.error = exc

    async def finished(self, within: float = 5.0) -> list[str]:
        await asyncio.wait_for(self.task, within)
        return self.states

    async def cancel(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def until(condition: Callable[[], bool], within: float = 5.0, what: str = "condition") -> float:
    """Wait for `condition`; how long it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.005)
    return time.monotonic() - started
