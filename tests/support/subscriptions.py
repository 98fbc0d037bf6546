"""Live job state over WebSockets: a real gateway server over the emulator, and gql subscription helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.live.clock import RUNNING_LOOP
from gateway.settings import Settings
from tests.support.clock import ManualClock
from tests.support.gateway import PROJECT, GatewayClient
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, serve

QUERIES = Path(__file__).resolve().parents[2] / "queries"


VIDEO = (QUERIES / "video_job_state_changed.graphql").read_text(encoding="utf-8")
TRAINING = (QUERIES / "training_job_state_changed.graphql").read_text(encoding="utf-8")
PICTURE = (QUERIES / "picture_modeling_job_state_changed.graphql").read_text(encoding="utf-8")
JOBS = (QUERIES / "job_state_changed.graphql").read_text(encoding="utf-8")

POLL = 0.1
TIMEOUT = 20.0
ALLOWED_ORIGIN = "https://studio.example.com"
WS_PROTOCOLS = ["graphql-transport-ws", "graphql-ws"]
ALICE = {"X-Auth-Token": "alice-token"}


class LiveGateway:
    """A gateway app served by a real uvicorn, and the emulator behind it."""

    def __init__(self, app: Starlette, server: LoopbackServer, client: GatewayClient) -> None:
        self.app = app
        self.url = server.url
        self.ws_url = server.url.replace("http://", "ws://", 1) + "/graphql"
        self.client = client

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.app.state.live.counts()
        return counts

    def session(
        self,
        protocol: str = "graphql-transport-ws",
        payload: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Client:
        transport = WebsocketsTransport(
            url=self.ws_url,
            subprotocols=[protocol],
            init_payload=ALICE if payload is None else payload,
            headers=headers,
        )
        return Client(transport=transport)


@contextlib.asynccontextmanager
async def live_gateway(
    emulator_url: str, *, clock: ManualClock | None = None, **overrides: Any
) -> AsyncIterator[LiveGateway]:
    """The gateway served over the emulator; with a `clock`, its hub keeps time by it (and the clock
    settles the hub, in the server's loop, after each move)."""
    fields: dict[str, Any] = {
        "endpoint": emulator_url,
        "project_id": PROJECT,
        "auth_mode": "token",
        "max_retries": 0,
        "poll_interval": POLL,
        "fast_poll_interval": POLL,
        "allowed_origins": (ALLOWED_ORIGIN,),
        # Jobs are moved behind the gateway's back and read at once (tests/test_read_cache.py keeps answers).
        "read_cache_seconds": 0.0,
    }
    fields.update(overrides)
    app = create_app(Settings(**fields), live_clock=clock or RUNNING_LOOP)
    with serve(app) as server:
        if clock is not None:
            await clock.attach_served(app)
        async with (
            loopback(server.url) as http,
            loopback(emulator_url) as emulator,
        ):
            yield LiveGateway(app, server, GatewayClient(http, emulator))


Move = Callable[[int], Awaitable[None]]


def moving(client: GatewayClient, job_id: str, *states: str) -> Move:
    """After the n-th event, move the job to the n-th of `states` (none after the last)."""

    async def move(events: int) -> None:
        if events <= len(states):
            await client.set_state(job_id, states[events - 1])

    return move


async def follow(stream: AsyncIterator[dict[str, Any]], move: Move | None = None) -> list[dict[str, Any]]:
    """Every event of a subscription until it completes, calling `move` after each one."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        async for data in stream:
            events.append(data)
            if move is not None:
                await move(len(events))
    return events


def subscribe(session: Any, document: str, **variables: Any) -> AsyncIterator[dict[str, Any]]:
    stream: AsyncIterator[dict[str, Any]] = session.subscribe(
        GraphQLRequest(document, variable_values=variables)
    )
    return stream


async def error_of(session: Any, document: str, **variables: Any) -> dict[str, Any]:
    with pytest.raises(TransportQueryError) as raised:
        await follow(subscribe(session, document, **variables))
    assert raised.value.errors, raised.value
    error: dict[str, Any] = raised.value.errors[0]
    return error


async def wait_for_idle(live: LiveGateway) -> dict[str, int]:
    """The hub's counts once every watch has been let go (unsubscribes finish asynchronously)."""
    for _ in range(int(TIMEOUT / 0.02)):
        if not any(live.counts().values()):
            break
        await asyncio.sleep(0.02)
    return live.counts()


async def first_event(stream: AsyncIterator[dict[str, Any]]) -> str:
    async with asyncio.timeout(TIMEOUT):
        event = await anext(stream)
    [job] = event.values()
    state: str = job["state"]
    return state


async def sse_payloads(
    live: LiveGateway, payload: dict[str, Any], token: str = "alice-token"
) -> list[dict[str, Any]]:
    """The `next` payloads of one graphql-sse stream (distinct connections mode) until its `complete`
    event."""
    headers = {"Accept": "text/event-stream", "X-Auth-Token": token}
    payloads: list[dict[str, Any]] = []
    event = ""
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream("POST", "/graphql", json=payload, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
                if event == "complete":
                    break
            elif line.startswith("data:") and event == "next":
                payloads.append(json.loads(line.partition(":")[2]))
    return payloads


# Each WebSocket protocol's message types for starting an operation and for its results.
WS_START_AND_RESULT = {"graphql-transport-ws": ("subscribe", "next"), "graphql-ws": ("start", "data")}


async def ws_messages(live: LiveGateway, protocol: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """What the server sends one operation over a WebSocket, until it completes or fails: results as
    `next`, errors as a list, whichever protocol."""
    start, result = WS_START_AND_RESULT[protocol]
    messages: list[dict[str, Any]] = []
    async with (
        asyncio.timeout(TIMEOUT),
        websockets.connect(live.ws_url, subprotocols=[websockets.Subprotocol(protocol)]) as ws,
    ):
        init = {"type": "connection_init", "payload": ALICE}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"type": start, "id": "1", "payload": payload}))
        while True:
            message = json.loads(await ws.recv())
            if message["type"] in ("ping", "ka"):
                continue
            if message["type"] == result:
                message["type"] = "next"
            if message["type"] == "error" and isinstance(message["payload"], dict):
                message["payload"] = [message["payload"]]
            messages.append(message)
            if message["type"] in ("complete", "error"):
                return messages
