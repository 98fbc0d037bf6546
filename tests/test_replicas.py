"""Two gateway processes sharing one Redis: events fan out, one replica polls a job, and a replica
that dies hands its jobs over without losing a state change."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from redis.asyncio import Redis

from gateway.emulator import create_app as create_emulator
from tests.schema.test_video_mutations import VIDEO_INPUT
from tests.support.gateway import PROJECT, TOKENS, V1, VIDEO_BODY, emulator_config
from tests.support.http import loopback
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer, free_port, serve

INTERVAL = 0.3
SUBSCRIBE = """
subscription ($jobId: String!) {
  videoJobStateChanged(jobId: $jobId) { jobId state terminal }
}
"""
CREATE = """
mutation ($input: CreateVideoJobInput!) {
  createVideoJob(input: $input) { job { jobId state } userErrors { code } }
}
"""


@dataclass
class Replica:
    url: str
    process: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.process.pid


@pytest.fixture
def emulator() -> Iterator[LoopbackServer]:
    with serve(create_emulator(emulator_config())) as server:
        yield server


def launch_replica(emulator: LoopbackServer, port: int, **extra: str) -> Replica:
    """A replica's process, launched; `answering` waits until it answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METASTUDIO_", "GATEWAY_", "REDIS_URL"))}
    env.update(
        {
            "METASTUDIO_ENDPOINT": emulator.url,
            "METASTUDIO_PROJECT_ID": PROJECT,
            "METASTUDIO_AUTH_MODE": "token",
            "REDIS_URL": REDIS_URL,
            "GATEWAY_POLL_INTERVAL": str(INTERVAL),
            "GATEWAY_LOG_LEVEL": "warning",
            **extra,
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return Replica(f"http://127.0.0.1:{port}", process)


def answering(replica: Replica) -> Replica:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise AssertionError(f"replica exited with {replica.process.returncode}")
        try:
            if httpx.get(f"{replica.url}/healthz", timeout=1).status_code == 200:
                return replica
        except httpx.TransportError:
            time.sleep(0.1)
    replica.process.kill()
    raise AssertionError("replica did not start")


@pytest.fixture
def replicas(emulator: LoopbackServer) -> Iterator[list[Replica]]:
    # Both launched before either is waited for: they start side by side.
    launched = [launch_replica(emulator, free_port()), launch_replica(emulator, free_port())]
    yield [answering(replica) for replica in launched]
    for replica in launched:
        if replica.process.poll() is None:
            replica.process.send_signal(signal.SIGINT)
    for replica in launched:
        try:
            replica.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            replica.process.kill()


@asynccontextmanager
async def subscription(
    replica: Replica, job_id: str, token: str = TOKENS[0]
) -> AsyncIterator[asyncio.Queue[Any]]:
    """Follow a job on one replica over graphql-transport-ws; events land in the queue, then None."""
    transport = WebsocketsTransport(
        url=replica.url.replace("http", "ws") + "/graphql", init_payload={"X-Auth-Token": token}
    )
    events: asyncio.Queue[Any] = asyncio.Queue()

    async def follow() -> None:
        async with Client(transport=transport) as session:
            request = GraphQLRequest(SUBSCRIBE, variable_values={"jobId": job_id})
            async for result in session.subscribe(request):
                await events.put(result["videoJobStateChanged"])
        await events.put(None)

    task = asyncio.create_task(follow())
    try:
        yield events
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def next_state(events: asyncio.Queue[Any], within: float = 5.0) -> str | None:
    event = await asyncio.wait_for(events.get(), within)
    return None if event is None else str(event["state"])


async def set_state(emulator: LoopbackServer, job_id: str, state: str) -> None:
    async with loopback(emulator.url) as admin:
        response = await admin.put(f"/_emulator/jobs/{job_id}/state", json={"state": state})
        assert response.status_code == 200, response.text


async def create_directly(emulator: LoopbackServer) -> str:
    async with loopback(emulator.url) as upstream:
        response = await upstream.post(
            f"{V1}/2d-digital-human-videos", json=VIDEO_BODY, headers={"X-Auth-Token": TOKENS[0]}
        )
    job_id: str = response.json()["job_id"]
    return job_id


async def create_through(replica: Replica) -> str:
    async with loopback() as http:
        response = await http.post(
            f"{replica.url}/graphql",
            json={"query": CREATE, "variables": {"input": VIDEO_INPUT}},
            headers={"X-Auth-Token": TOKENS[0]},
        )
    payload = response.json()["data"]["createVideoJob"]
    assert payload["userErrors"] == [], payload
    job_id: str = payload["job"]["jobId"]
    return job_id


async def lease_owner(job_id: str) -> str | None:
    redis = Redis.from_url(REDIS_URL)
    try:
        owner = await redis.get(f"metastudio-gateway:lease:video:{job_id}")
    finally:
        await redis.aclose()
    return owner.decode() if isinstance(owner, bytes) else owner


async def list_calls(emulator: LoopbackServer) -> int:
    async with loopback(emulator.url) as admin:
        calls = (await admin.get("/_emulator/calls")).json()["calls"]
    return sum(1 for c in calls if c["operation"] == "ListDigitalHumanVideo")


async def test_a_job_created_through_one_replica_streams_to_a_subscriber_on_the_other(
    emulator: LoopbackServer, replicas: list[Replica]
) -> None:
    a, b = replicas
    job_id = await create_through(a)

    async with subscription(b, job_id) as events:
        assert await next_state(events) == "WAITING"
        await set_state(emulator, job_id, "PROCESSING")
        assert await next_state(events) == "PROCESSING"
        await set_state(emulator, job_id, "SUCCEED")
        assert await next_state(events) == "SUCCEED"
        assert await next_state(events) is None


async def test_only_one_replica_polls_a_job_watched_on_both(
    emulator: LoopbackServer, replicas: list[Replica]
) -> None:
    job_id = await create_directly(emulator)
    a, b = replicas
    async with subscription(a, job_id) as on_a, subscription(b, job_id) as on_b:
        assert await next_state(on_a) == "WAITING"
        assert await next_state(on_b) == "WAITING"
        await asyncio.sleep(2 * INTERVAL)
        owner = await lease_owner(job_id)
        assert owner is not None and owner.split(":")[1] in {str(a.pid), str(b.pid)}
        before = await list_calls(emulator)
        await asyncio.sleep(10 * INTERVAL)
        polled = await list_calls(emulator) - before
        # One poller: about one list call per interval (ten here), never two replicas' worth.
        assert 5 <= polled <= 13, polled


async def test_when_the_polling_replica_dies_the_other_takes_over_without_losing_a_change(
    emulator: LoopbackServer, replicas: list[Replica]
) -> None:
    job_id = await create_directly(emulator)
    a, b = replicas
    async with subscription(a, job_id) as on_a, subscription(b, job_id) as on_b:
        assert await next_state(on_a) == "WAITING"
        assert await next_state(on_b) == "WAITING"
        await asyncio.sleep(2 * INTERVAL)
        owner = await lease_owner(job_id)
        assert owner is not None
        polling, survivor_events = (a, on_b) if owner.split(":")[1] == str(a.pid) else (b, on_a)

        polling.process.send_signal(signal.SIGKILL)
        polling.process.wait(timeout=5)
        await set_state(emulator, job_id, "PROCESSING")

        started = time.monotonic()
        assert await next_state(survivor_events, within=10) == "PROCESSING"
        # The dead replica's lease lapses after two intervals; the survivor then polls at once.
        assert time.monotonic() - started <= 2 * INTERVAL + 2 * INTERVAL + 1.0
        await set_state(emulator, job_id, "SUCCEED")
        assert await next_state(survivor_events) == "SUCCEED"
        assert await next_state(survivor_events) is None


async def test_a_callback_reaching_one_replica_reaches_subscribers_on_every_replica(
    emulator: LoopbackServer,
) -> None:
    secret = uuid.uuid4().hex
    port_a = free_port()
    slow = {
        "GATEWAY_POLL_INTERVAL": "30",
        "GATEWAY_FAST_POLL_INTERVAL": "30",
        "GATEWAY_CALLBACK_SECRET": secret,
    }
    launched_a = launch_replica(emulator, port_a, GATEWAY_PUBLIC_URL=f"http://127.0.0.1:{port_a}", **slow)
    launched_b = launch_replica(emulator, free_port(), **slow)
    a, b = answering(launched_a), answering(launched_b)
    try:
        job_id = await create_through(a)
        async with subscription(b, job_id) as events:
            assert await next_state(events) == "WAITING"
            started = time.monotonic()
            await set_state(emulator, job_id, "SUCCEED")
            assert await next_state(events, within=10) == "SUCCEED"
            assert time.monotonic() - started < 5, "the callback, not a 30 s poll, brought the change"
    finally:
        for replica in (a, b):
            replica.process.send_signal(signal.SIGINT)
            replica.process.wait(timeout=10)
