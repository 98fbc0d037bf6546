"""Upstream callbacks end to end, what the tests share: documents, inputs, the emulator, followers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from gateway.app import create_app
from gateway.emulator.emulator import Emulator
from gateway.live.clock import RUNNING_LOOP
from gateway.settings import Settings
from tests.support.clock import ManualClock
from tests.support.gateway import PROJECT
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, free_port, serve

QUERIES = Path(__file__).resolve().parents[2] / "queries"
CREATE_VIDEO = (QUERIES / "create_video_job.graphql").read_text(encoding="utf-8")
CREATE_PHOTO_VIDEO = (QUERIES / "create_photo_video_job.graphql").read_text(encoding="utf-8")
CREATE_TRAINING = (QUERIES / "create_training_job.graphql").read_text(encoding="utf-8")
UPLOAD_PICTURE = (QUERIES / "create_picture_modeling_job.graphql").read_text(encoding="utf-8")
PICTURE_FROM_URL = (QUERIES / "create_picture_modeling_job_from_url.graphql").read_text(encoding="utf-8")

SECRET = "shared-callback-secret-0123456789"
# Far longer than any wait or advance of the hub's clock below: an event that arrives within seconds was
# not found by a poll.
SLOW_POLL = 30.0
PROMPT = 5.0
TOKEN = "alice-token"

VIDEO_INPUT: dict[str, Any] = {
    "modelAssetId": "cda7e9a469ee9cf3ffc1ad62794a12ff",
    "voiceConfig": {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"},
    "videoConfig": {"bitrate": 5000, "width": 1080, "height": 1920},
    "shootScripts": [{"sequenceNo": 0, "shootScript": {"textConfig": {"text": "Hello there."}}}],
    "outputAssetConfig": {"assetName": "Greeting"},
}
PHOTO_INPUT: dict[str, Any] = {
    "humanImage": "aGVsbG8=",
    "voiceConfig": {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"},
    "videoConfig": {"bitrate": 4000, "frameRate": "25"},
    "shootScripts": [{"sequenceNo": 0, "shootScript": {"textConfig": {"text": "Hi from a photo."}}}],
}
PICTURE_INPUT: dict[str, Any] = {
    "pictureUrl": "https://example.com/face.png",
    "styleId": "system_male_001",
    "name": "Portrait",
}
TRAINING_INPUT: dict[str, Any] = {"name": "Anna", "contact": "13800000000", "batchName": "spring"}
# The smallest PNG the gateway accepts: 1x1, greyscale.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63600000000200015e2c4f3c0000000049454e44ae426082"
)
FOLLOW_VIDEO = """
subscription Follow($jobId: String!) {
  videoJobStateChanged(jobId: $jobId) { jobId rawState terminal }
}
"""
FOLLOW_PICTURE = """
subscription Follow($jobId: String!) {
  pictureModelingJobStateChanged(jobId: $jobId) { jobId rawState terminal }
}
"""


@dataclass
class Upstream:
    """The emulator server, and the emulator itself, to read what it keeps for a job."""

    server: LoopbackServer
    emulator: Emulator
    admin: httpx.AsyncClient

    def callback_url(self, job_id: str) -> str | None:
        [job] = self.emulator.store.find(job_id)
        return job.callback_url

    def sent_request(self, job_id: str) -> dict[str, Any]:
        [job] = self.emulator.store.find(job_id)
        request: dict[str, Any] = job.data.get("request", job.data)
        return request

    async def finish(self, job_id: str, state: str = "SUCCEED") -> None:
        response = await self.admin.put(f"/_emulator/jobs/{job_id}/state", json={"state": state})
        assert response.status_code == 200, response.text

    async def callbacks(self) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = (await self.admin.get("/_emulator/callbacks")).json()["callbacks"]
        return sent

    async def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = (await self.admin.get("/_emulator/calls")).json()["calls"]
        return calls

    async def forget_calls(self) -> None:
        await self.admin.delete("/_emulator/calls")


def gateway_settings(upstream: Upstream, port: int, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "endpoint": upstream.server.url,
        "project_id": PROJECT,
        "auth_mode": "token",
        "max_retries": 0,
        "public_url": f"http://127.0.0.1:{port}",
        "callback_secret": SECRET,
        "poll_interval": SLOW_POLL,
        "fast_poll_interval": SLOW_POLL,
    }
    fields.update(overrides)
    return Settings(**fields)


@contextlib.asynccontextmanager
async def running_gateway(
    upstream: Upstream, *, clock: ManualClock | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway on a real port (the emulator's callbacks are real HTTP POSTs), and a client of it;
    with a `clock`, its hub keeps time by it (and the clock settles the hub after each move)."""
    port = free_port()
    app = create_app(gateway_settings(upstream, port, **overrides), live_clock=clock or RUNNING_LOOP)
    with serve(app, port) as server:
        if clock is not None:
            await clock.attach_served(app)
        async with loopback(server.url, headers={"X-Auth-Token": TOKEN}) as client:
            yield client


async def mutate(gateway: httpx.AsyncClient, document: str, field: str, job_input: dict[str, Any]) -> str:
    response = await gateway.post("/graphql", json={"query": document, "variables": {"input": job_input}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload = body["data"][field]
    assert payload["userErrors"] == []
    job_id: str = payload["job"]["jobId"]
    return job_id


async def upload_picture(gateway: httpx.AsyncClient, **job_input: Any) -> str:
    variables = {"input": {"file": None, "styleId": "system_female_001", "name": "Portrait", **job_input}}
    operations = {"query": UPLOAD_PICTURE, "variables": variables}
    response = await gateway.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"1": ["variables.input.file"]})},
        files={"1": ("face.png", PNG, "image/png")},
        headers={"Apollo-Require-Preflight": "true"},
    )
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["createPictureModelingJob"]
    assert payload["userErrors"] == []
    job_id: str = payload["job"]["jobId"]
    return job_id


class Follower:
    """A real GraphQL subscription over WebSocket (gql), recording each event's state as it arrives."""

    def __init__(self, gateway: httpx.AsyncClient, document: str, job_id: str) -> None:
        self.url = str(gateway.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"
        self.request = GraphQLRequest(document, variable_values={"jobId": job_id})
        self.events: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        transport = WebsocketsTransport(url=self.url, init_payload={"X-Auth-Token": TOKEN})
        try:
            async with Client(transport=transport) as session:
                async for result in session.subscribe(self.request):
                    [job] = result.values()
                    self.events.put_nowait((job["rawState"], time.monotonic()))
        finally:
            self.events.put_nowait(None)

    async def next(self) -> tuple[str, float] | None:
        async with asyncio.timeout(PROMPT):
            return await self.events.get()

    async def __aenter__(self) -> Follower:
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def assert_gateway_callback(url: str | None, gateway: httpx.AsyncClient) -> str:
    """The callback URL is this gateway's own; returns its token."""
    assert url is not None
    prefix = f"{gateway.base_url}".rstrip("/") + "/callbacks/"
    assert url.startswith(prefix), url
    return url.removeprefix(prefix)
