"""Upstream callbacks end to end: the emulator POSTs its job notifications to the gateway's own callback
URL, and subscribers get the job's new state long before the next poll would have found it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from gateway.app import create_app
from gateway.emulator import create_app as create_emulator
from gateway.emulator.emulator import Emulator
from gateway.live.callback_tokens import callback_token
from gateway.settings import Settings
from tests.support.gateway import PROJECT, emulator_config
from tests.support.servers import LoopbackServer, free_port, serve

QUERIES = Path(__file__).resolve().parents[2] / "queries"
CREATE_VIDEO = (QUERIES / "create_video_job.graphql").read_text(encoding="utf-8")
CREATE_PHOTO_VIDEO = (QUERIES / "create_photo_video_job.graphql").read_text(encoding="utf-8")
CREATE_TRAINING = (QUERIES / "create_training_job.graphql").read_text(encoding="utf-8")
UPLOAD_PICTURE = (QUERIES / "create_picture_modeling_job.graphql").read_text(encoding="utf-8")
PICTURE_FROM_URL = (QUERIES / "create_picture_modeling_job_from_url.graphql").read_text(encoding="utf-8")

SECRET = "shared-callback-secret-0123456789"
# Far longer than any wait below: an event that arrives within seconds was not found by a poll.
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


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    app = create_emulator(emulator_config())
    with serve(app) as server:
        async with httpx.AsyncClient(base_url=server.url) as admin:
            yield Upstream(server, app.state.emulator, admin)


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
async def running_gateway(upstream: Upstream, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway on a real port (the emulator's callbacks are real HTTP POSTs), and a client of it."""
    port = free_port()
    with serve(create_app(gateway_settings(upstream, port, **overrides)), port) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"X-Auth-Token": TOKEN}) as client:
            yield client


@pytest.fixture
async def gateway(upstream: Upstream) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(upstream) as client:
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


@pytest.mark.parametrize(
    ("document", "field", "job_input", "follow"),
    [
        (CREATE_VIDEO, "createVideoJob", VIDEO_INPUT, FOLLOW_VIDEO),
        (PICTURE_FROM_URL, "createPictureModelingJobFromUrl", PICTURE_INPUT, FOLLOW_PICTURE),
    ],
    ids=["video", "picture"],
)
async def test_a_callback_brings_the_terminal_event_long_before_the_next_poll(
    upstream: Upstream,
    gateway: httpx.AsyncClient,
    document: str,
    field: str,
    job_input: dict[str, Any],
    follow: str,
) -> None:
    job_id = await mutate(gateway, document, field, job_input)
    url = upstream.callback_url(job_id)
    assert_gateway_callback(url, gateway)
    async with Follower(gateway, follow, job_id) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        finished_at = time.monotonic()
        await upstream.finish(job_id)
        event = await follower.next()
        assert event is not None
        state, arrived_at = event
        assert state == "SUCCEED"
        # Polls are 30 s apart: only the callback can have brought it this soon.
        assert arrived_at - finished_at < PROMPT
        assert await follower.next() is None  # the stream completed after the terminal state
    [sent] = await upstream.callbacks()
    assert (sent["url"], sent["job_id"], sent["state"], sent["status"]) == (url, job_id, "SUCCEED", 204)


async def test_every_create_with_a_callback_sends_the_gateways_own_callback_url(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    video = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    photo = await mutate(gateway, CREATE_PHOTO_VIDEO, "createPhotoVideoJob", PHOTO_INPUT)
    by_url = await mutate(gateway, PICTURE_FROM_URL, "createPictureModelingJobFromUrl", PICTURE_INPUT)
    uploaded = await upload_picture(gateway)
    jobs = (video, photo, by_url, uploaded)
    tokens = [assert_gateway_callback(upstream.callback_url(job), gateway) for job in jobs]
    # A secret of its own for each job: no two share a token.
    assert len(set(tokens)) == 4
    for job in (video, photo):
        assert upstream.sent_request(job)["callback_config"]["auth_type"] == "NONE"
    # Training jobs have no upstream callback: nothing is added to what the client sent.
    training = await mutate(gateway, CREATE_TRAINING, "createTrainingJob", TRAINING_INPUT)
    assert upstream.callback_url(training) is None


async def test_a_callback_the_client_gave_is_sent_as_given(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    config = {"callbackUrl": "https://client.example/video-done", "authType": "MSS_A", "key": "k3y"}
    video = await mutate(gateway, CREATE_VIDEO, "createVideoJob", {**VIDEO_INPUT, "callbackConfig": config})
    by_url = await mutate(
        gateway,
        PICTURE_FROM_URL,
        "createPictureModelingJobFromUrl",
        {**PICTURE_INPUT, "notifyUrl": "https://client.example/picture-done"},
    )
    uploaded = await upload_picture(gateway, notifyUrl="https://client.example/upload-done")
    assert upstream.sent_request(video)["callback_config"] == {
        "callback_url": "https://client.example/video-done",
        "auth_type": "MSS_A",
        "key": "k3y",
    }
    assert upstream.callback_url(by_url) == "https://client.example/picture-done"
    assert upstream.callback_url(uploaded) == "https://client.example/upload-done"


async def test_without_a_public_url_no_callback_is_added(upstream: Upstream) -> None:
    async with running_gateway(upstream, public_url=None) as gateway:
        video = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
        picture = await upload_picture(gateway)
    assert "callback_config" not in upstream.sent_request(video)
    assert upstream.callback_url(video) is None
    assert upstream.callback_url(picture) is None


async def test_a_retry_with_the_same_idempotency_key_is_a_replay_although_its_callback_would_differ(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    job_input = {**VIDEO_INPUT, "idempotencyKey": uuid.uuid4().hex}
    first = await mutate(gateway, CREATE_VIDEO, "createVideoJob", job_input)
    again = await mutate(gateway, CREATE_VIDEO, "createVideoJob", job_input)
    assert again == first
    operations = [call["operation"] for call in await upstream.calls()]
    assert operations.count("Create2DDigitalHumanVideo") == 1
    # The one job created carries the callback of the first attempt, which still works.
    async with Follower(gateway, FOLLOW_VIDEO, first) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await upstream.finish(first)
        assert (await follower.next())[0] == "SUCCEED"  # type: ignore[index]
    [sent] = await upstream.callbacks()
    assert sent["status"] == 204


def _tampered(token: str) -> str:
    nonce, _, signature = token.partition(".")
    flipped = "A" if signature[0] != "A" else "B"
    return f"{nonce}.{flipped}{signature[1:]}"


async def test_forged_callbacks_are_refused_logged_and_move_nothing(
    upstream: Upstream, gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    done = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    watched = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    done_token = assert_gateway_callback(upstream.callback_url(done), gateway)
    watched_token = assert_gateway_callback(upstream.callback_url(watched), gateway)
    unbound = callback_token(gateway_settings(upstream, 0), "video", "A" * 21 + "A")
    other_secret = callback_token(
        gateway_settings(upstream, 0, callback_secret="another-secret-0123456789"),
        "video",
        done_token.partition(".")[0],
    )
    body = {"job_id": watched, "state": "SUCCEED", "job_type": "DIGITAL_HUMAN_2D"}
    async with Follower(gateway, FOLLOW_VIDEO, watched) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await upstream.forget_calls()
        caplog.clear()
        attempts = {
            "random": (f"{uuid.uuid4().hex}.{uuid.uuid4().hex}", 401),
            "tampered": (_tampered(watched_token), 401),
            "another secret": (other_secret, 401),
            "bound to no job": (unbound, 404),
            "another job's token": (done_token, 401),
        }
        for name, (token, status) in attempts.items():
            response = await gateway.post(f"/callbacks/{token}", json=body)
            assert response.status_code == status, name
            # Nothing about any job comes back.
            assert watched not in response.text and done not in response.text
        await asyncio.sleep(1.0)
        # No refused callback made the gateway look at a job, nor moved the subscriber.
        assert await upstream.calls() == []
        assert follower.events.empty()

        # The same body with the job's own token is heard at once: the job is polled.
        response = await gateway.post(f"/callbacks/{watched_token}", json=body)
        assert response.status_code == 204
        deadline = time.monotonic() + PROMPT
        while not await upstream.calls():
            assert time.monotonic() < deadline, "the genuine callback did not make the gateway poll"
            await asyncio.sleep(0.05)

    refusals = [r.getMessage() for r in caplog.records if r.name == "gateway.callbacks"]
    assert len(refusals) == len(attempts)
    assert all(m.startswith("refused a job callback from 127.0.0.1: ") for m in refusals)
    assert any("signed" in m for m in refusals) and any("bound to no job" in m for m in refusals)
    assert any("another job" in m for m in refusals)
    # Neither the secret nor any token (nor its nonce) is written anywhere: not by the gateway, not in
    # the URLs httpx logs (the emulator's callbacks, this test's own requests).
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/callbacks/<token>" in logged
    for secret in (SECRET, watched_token, done_token, other_secret, unbound):
        assert secret.partition(".")[0] not in logged


def test_the_access_log_leaves_callback_tokens_out(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    create_app(gateway_settings(upstream, 0))
    access = logging.getLogger("uvicorn.access")
    access.addHandler(caplog.handler)  # uvicorn's logging config stops its access log propagating
    try:
        # The line uvicorn writes for each request.
        access.warning(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/callbacks/n0nce.s1gnature", "1.1", 204
        )
    finally:
        access.removeHandler(caplog.handler)
    [line] = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert line == '127.0.0.1:5000 - "POST /callbacks/<token> HTTP/1.1" 204'


async def test_a_callback_body_that_names_no_job_is_refused(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    job = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    token = assert_gateway_callback(upstream.callback_url(job), gateway)
    for content in (b"not json", b"[]", b'{"state": "SUCCEED"}', b'{"job_id": 7}'):
        response = await gateway.post(f"/callbacks/{token}", content=content)
        assert response.status_code == 400
    oversized = {"job_id": job, "padding": "x" * 70_000}
    assert (await gateway.post(f"/callbacks/{token}", json=oversized)).status_code == 413
    # Only POST is a callback.
    assert (await gateway.get(f"/callbacks/{token}")).status_code == 405


# Replayed callbacks

REPLAYS = 400
REPLAY_CONCURRENCY = 32
# The hub looks at a job at most once per this many seconds however many callbacks name it.
LOOK_WINDOW = 1.0


async def replay(gateway: httpx.AsyncClient, token: str, job_id: str, times: int = REPLAYS) -> float:
    """POST one valid callback `times` times, many at once; how long the burst took."""
    body = {"job_id": job_id, "state": "SUCCEED", "job_type": "DIGITAL_HUMAN_2D"}
    gate = asyncio.Semaphore(REPLAY_CONCURRENCY)

    async def one() -> int:
        async with gate:
            return (await gateway.post(f"/callbacks/{token}", json=body)).status_code

    started = time.monotonic()
    statuses = await asyncio.gather(*(one() for _ in range(times)))
    assert set(statuses) == {204}
    return time.monotonic() - started


async def test_a_replayed_callback_costs_the_upstream_a_bounded_number_of_looks(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    job_id = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    token = assert_gateway_callback(upstream.callback_url(job_id), gateway)
    async with Follower(gateway, FOLLOW_VIDEO, job_id) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await upstream.forget_calls()
        took = await replay(gateway, token, job_id)
        # Long enough for the one look a burst may leave owing at the end of its last window.
        await asyncio.sleep(2 * LOOK_WINDOW)
        looks = len(await upstream.calls())
        print(f"{REPLAYS} replayed callbacks in {took:.2f} s: {looks} upstream calls")
        # One look per window the burst spanned, give or take the windows at either end; polls are
        # 30 s apart, so none of these calls is a poll.
        assert 1 <= looks <= took / LOOK_WINDOW + 3, (looks, took)
        assert follower.events.empty()


async def test_a_change_signalled_right_after_a_burst_still_reaches_the_subscriber(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    job_id = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    token = assert_gateway_callback(upstream.callback_url(job_id), gateway)
    async with Follower(gateway, FOLLOW_VIDEO, job_id) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await replay(gateway, token, job_id)
        # The job ends while the burst's looks are still being coalesced: the emulator's own callback
        # lands inside a window, and must still bring the change.
        await upstream.finish(job_id)
        event = await follower.next()
        assert event is not None and event[0] == "SUCCEED"
        assert await follower.next() is None
    [sent] = await upstream.callbacks()
    assert (sent["job_id"], sent["state"], sent["status"]) == (job_id, "SUCCEED", 204)


async def test_a_callback_for_a_job_whose_end_was_published_costs_nothing(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    job_id = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    token = assert_gateway_callback(upstream.callback_url(job_id), gateway)
    async with Follower(gateway, FOLLOW_VIDEO, job_id) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await upstream.finish(job_id)
        assert (await follower.next())[0] == "SUCCEED"  # type: ignore[index]
        assert await follower.next() is None
    await upstream.forget_calls()
    took = await replay(gateway, token, job_id, times=100)
    await asyncio.sleep(2 * LOOK_WINDOW)
    print(f"100 replays of a finished job's callback in {took:.2f} s: {len(await upstream.calls())} calls")
    assert await upstream.calls() == []
    # The callback is still accepted, and the job still reads as finished.
    async with Follower(gateway, FOLLOW_VIDEO, job_id) as again:
        assert (await again.next())[0] == "SUCCEED"  # type: ignore[index]
        assert await again.next() is None
