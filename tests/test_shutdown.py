"""SIGTERM to `serve`: readiness flips, streams close, requests finish, leases go back, the exit is 0."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from gateway.emulator import create_app as create_emulator
from tests.schema.test_video_mutations import VIDEO_INPUT
from tests.support.gateway import PROJECT, emulator_config
from tests.support.http import loopback
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer, serve
from tests.support.serving import Served, clean_env, read_response, serve_gateway
from tests.test_replicas import Replica, create_directly, lease_owner, subscription

DRAIN_SECONDS = 10
# Generous bounds: how long the process may take to exit after its drain time, and to do anything else.
EXIT_SLACK = 5.0
WITHIN = 10.0
CREATE = "mutation ($input: CreateVideoJobInput!) { createVideoJob(input: $input) { job { jobId } } }"
SUBSCRIBE = "subscription ($jobId: String!) { videoJobStateChanged(jobId: $jobId) { jobId state } }"
ACCEPT_MULTIPART = "multipart/mixed;subscriptionSpec=1.0,application/json"


def serve_on_the_embedded_emulator(started: list[Served], log: Path, **env: str) -> Served:
    served = serve_gateway(log, clean_env(GATEWAY_LOG_LEVEL="info", **env))
    started.append(served)
    return served


async def exit_code(served: Served, within: float) -> int:
    code = await asyncio.to_thread(served.process.wait, within)
    return code


async def graphql_transport_ws(served: Served, job_id: str) -> websockets.ClientConnection:
    ws = await websockets.connect(served.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    payload = {"query": SUBSCRIBE, "variables": {"jobId": job_id}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    first = json.loads(await asyncio.wait_for(ws.recv(), WITHIN))
    assert first["payload"]["data"]["videoJobStateChanged"]["jobId"] == job_id
    return ws


async def legacy_graphql_ws(served: Served, job_id: str) -> websockets.ClientConnection:
    ws = await websockets.connect(served.ws_url, subprotocols=[Subprotocol("graphql-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    payload = {"query": SUBSCRIBE, "variables": {"jobId": job_id}}
    await ws.send(json.dumps({"id": "1", "type": "start", "payload": payload}))
    async with asyncio.timeout(WITHIN):
        while (message := json.loads(await ws.recv()))["type"] != "data":
            assert message["type"] == "ka"
    assert message["payload"]["data"]["videoJobStateChanged"]["jobId"] == job_id
    return ws


async def close_code(ws: websockets.ClientConnection) -> int | None:
    """The code of the close frame the server sends, once it has; any messages before it are dropped."""
    try:
        async with asyncio.timeout(WITHIN):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed as closed:
        return None if closed.rcvd is None else closed.rcvd.code
    except TimeoutError:
        raise AssertionError(f"the WebSocket was still open after {WITHIN} s") from None


async def multipart_subscription(
    http: httpx.AsyncClient, job_id: str, first_part: asyncio.Event
) -> tuple[str, bool]:
    """The whole multipart stream of a subscription as text, and whether its closing boundary came."""
    text = ""
    async with http.stream(
        "POST",
        "/graphql",
        json={"query": SUBSCRIBE, "variables": {"jobId": job_id}},
        headers={"Accept": ACCEPT_MULTIPART},
    ) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_text():
            text += chunk
            if "videoJobStateChanged" in text:
                first_part.set()
    return text, text.rstrip().endswith("--graphql--")


def request_in_flight(served: Served, body: bytes) -> socket.socket:
    """A POST whose body the client holds back: the server has it in flight once it asks for the body with
    `100 Continue`, which it does only when the app reads."""
    client = socket.create_connection(("127.0.0.1", served.port), timeout=WITHIN)
    client.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    assert client.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
    return client


async def answer_to(client: socket.socket) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(sock=client)
    try:
        status, _, body = await read_response(reader, WITHIN)
    finally:
        writer.close()
    return status, body


async def test_sigterm_closes_streams_finishes_requests_in_flight_and_exits_zero(
    started: list[Served], tmp_path: Path
) -> None:
    served = serve_on_the_embedded_emulator(started, tmp_path / "gateway.log")
    async with loopback(served.url, timeout=WITHIN) as http:
        created = await http.post("/graphql", json={"query": CREATE, "variables": {"input": VIDEO_INPUT}})
        job_id = created.json()["data"]["createVideoJob"]["job"]["jobId"]
        modern = await graphql_transport_ws(served, job_id)
        legacy = await legacy_graphql_ws(served, job_id)
        first_part = asyncio.Event()
        stream = asyncio.create_task(multipart_subscription(http, job_id, first_part))
        await asyncio.wait_for(first_part.wait(), WITHIN)
        body = json.dumps({"query": "{ __typename }"}).encode()
        in_flight = request_in_flight(served, body)

        served.process.send_signal(signal.SIGTERM)

        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "reason": "shutting down"}
        assert (await http.get("/healthz")).status_code == 200
        refused = await http.post("/graphql", json={"query": "{ __typename }"})
        assert (refused.status_code, refused.json()["reason"]) == (503, "shutting down")

        # Going away: clients reconnect elsewhere and subscribe again.
        assert await close_code(modern) == 1001
        assert await close_code(legacy) == 1001
        text, closed = await asyncio.wait_for(stream, WITHIN)
        assert closed, text
        assert "the gateway is shutting down; subscribe again" in text

        in_flight.sendall(body)
        assert await answer_to(in_flight) == (200, b'{"data":{"__typename":"Query"}}')

    assert await exit_code(served, DRAIN_SECONDS + EXIT_SLACK) == 0
    log = served.output()
    assert "drained in" in log
    assert "Traceback" not in log


async def test_a_request_outlasting_the_drain_time_does_not_hold_the_exit(
    started: list[Served], tmp_path: Path
) -> None:
    served = serve_on_the_embedded_emulator(started, tmp_path / "gateway.log", GATEWAY_DRAIN_SECONDS="1")
    # Its body never comes: only the drain time ends it.
    in_flight = request_in_flight(served, b"{}")
    sent = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    assert await exit_code(served, 1 + EXIT_SLACK) == 0
    assert time.monotonic() - sent < 1 + EXIT_SLACK
    status, answer = await answer_to(in_flight)
    assert (status, json.loads(answer)) == (503, {"status": "unavailable", "reason": "shutting down"})
    log = served.output()
    assert "drain time ran out with 1 HTTP requests in flight" in log
    assert "Traceback" not in log


# Replicas: the poll lease of a job goes when its holder drains, not when it expires.

# Long enough that a lease left to expire (1.5 intervals) would be seen still held.
SLOW_INTERVAL = 8


@pytest.fixture
def emulator() -> Iterator[LoopbackServer]:
    with serve(create_emulator(emulator_config())) as server:
        yield server


def replica(started: list[Served], emulator: LoopbackServer, log: Path) -> Served:
    env = clean_env(
        METASTUDIO_ENDPOINT=emulator.url,
        METASTUDIO_PROJECT_ID=PROJECT,
        METASTUDIO_AUTH_MODE="token",
        REDIS_URL=REDIS_URL,
        GATEWAY_POLL_INTERVAL=str(SLOW_INTERVAL),
        GATEWAY_LOG_LEVEL="info",
    )
    served = serve_gateway(log, env)
    started.append(served)
    return served


async def owner_pid(job_id: str) -> int | None:
    owner = await lease_owner(job_id)
    return None if owner is None else int(owner.split(":")[1])


async def until_owned(job_id: str, within: float) -> int | None:
    """The pid of the replica holding the job's lease, once one does (None if none does within `within`)."""
    deadline = time.monotonic() + within
    pid = await owner_pid(job_id)
    while pid is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        pid = await owner_pid(job_id)
    return pid


@asynccontextmanager
async def following(served: Served, job_id: str) -> AsyncIterator[asyncio.Queue[Any]]:
    async with subscription(Replica(served.url, served.process), job_id) as events:  # type: ignore[arg-type]
        assert (await asyncio.wait_for(events.get(), WITHIN))["state"] == "WAITING"
        yield events


async def test_a_draining_replica_gives_its_poll_leases_back_at_once(
    started: list[Served], emulator: LoopbackServer, tmp_path: Path
) -> None:
    job_id = await create_directly(emulator)
    first = replica(started, emulator, tmp_path / "first.log")
    async with following(first, job_id):
        assert await until_owned(job_id, WITHIN) == first.process.pid
        second = replica(started, emulator, tmp_path / "second.log")
        async with following(second, job_id):
            first.process.send_signal(signal.SIGTERM)
            assert await exit_code(first, DRAIN_SECONDS + EXIT_SLACK) == 0
            # Had the lease been left to expire, it would still be the first replica's for seconds.
            assert await owner_pid(job_id) != first.process.pid
            assert await until_owned(job_id, SLOW_INTERVAL) == second.process.pid
