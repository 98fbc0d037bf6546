"""Client authentication on WebSockets: tokens at connection_init, bad or expiring ones closed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import websockets
from starlette.applications import Starlette

from gateway.app import create_app
from tests.schema.test_video_mutations import VIDEO_INPUT
from tests.support.client_auth import (
    CREATE,
    DETAIL,
    SUBSCRIBE,
    TIMEOUT,
    Issuer,
    SigningKey,
    claims,
    jwt_settings,
    refused_tokens,
)
from tests.support.gateway import GatewayClient
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, serve

# --- WebSockets ---


@dataclass
class LiveGateway:
    app: Starlette
    url: str
    client: GatewayClient

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/graphql"

    async def create_video(self, bearer: str) -> str:
        response = await self.client.post(
            {"query": CREATE, "variables": {"input": VIDEO_INPUT}}, None, Authorization=f"Bearer {bearer}"
        )
        job_id: str = response.json()["data"]["createVideoJob"]["job"]["jobId"]
        return job_id


@contextlib.asynccontextmanager
async def live_gateway(emulator_url: str, **overrides: Any) -> AsyncIterator[LiveGateway]:
    app = create_app(jwt_settings(emulator_url, **overrides))
    with serve(app) as server:
        async with (
            loopback(server.url) as http,
            loopback(emulator_url) as emulator,
        ):
            yield LiveGateway(app, server.url, GatewayClient(http, emulator))


@pytest.fixture
async def live(emulator: LoopbackServer, idp: Issuer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url, jwks_url=idp.jwks_url) as gateway:
        yield gateway


@contextlib.asynccontextmanager
async def connected(
    live: LiveGateway,
    payload: dict[str, Any] | None,
    protocol: str = "graphql-transport-ws",
    headers: dict[str, str] | None = None,
) -> AsyncIterator[websockets.ClientConnection]:
    async with websockets.connect(
        live.ws_url, subprotocols=[websockets.Subprotocol(protocol)], additional_headers=headers
    ) as socket:
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await socket.send(json.dumps(init))
        yield socket


async def receive(socket: websockets.ClientConnection) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = orjson.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        if message["type"] != "ka":
            return message


async def closed_with(socket: websockets.ClientConnection) -> tuple[int, str]:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), TIMEOUT)
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


async def run(socket: websockets.ClientConnection, document: str, **variables: Any) -> dict[str, Any]:
    """One operation over graphql-transport-ws: its first answer (`next` or `error`)."""
    payload = {"query": document, "variables": variables}
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return await receive(socket)


@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        ({"Authorization": "Bearer {token}"}, None),
        ({"authorization": "bearer {token}"}, None),
        ({"headers": {"AUTHORIZATION": "Bearer {token}"}}, None),
        (None, {"Authorization": "Bearer {token}"}),
    ],
    ids=["payload", "any-case", "nested-headers", "handshake"],
)
async def test_a_websocket_with_a_valid_token_runs_as_its_user(
    live: LiveGateway,
    key1: SigningKey,
    payload: dict[str, Any] | None,
    headers: dict[str, str] | None,
) -> None:
    token = key1.sign(claims("alice"))
    job_id = await live.create_video(token)
    await live.client.set_state(job_id, "SUCCEED")
    filled = json.loads(json.dumps(payload or {}).replace("{token}", token))
    sent_headers = {k: v.replace("{token}", token) for k, v in (headers or {}).items()}

    async with connected(live, filled, headers=sent_headers) as socket:
        assert await receive(socket) == {"type": "connection_ack"}
        event = await run(socket, SUBSCRIBE, jobId=job_id)

    assert event["type"] == "next"
    assert event["payload"]["data"] == {"videoJobStateChanged": {"jobId": job_id, "state": "SUCCEED"}}


async def test_the_legacy_protocol_runs_with_a_valid_token_too(live: LiveGateway, key1: SigningKey) -> None:
    token = key1.sign(claims("alice"))
    job_id = await live.create_video(token)
    await live.client.set_state(job_id, "SUCCEED")
    async with connected(live, {"Authorization": f"Bearer {token}"}, "graphql-ws") as socket:
        assert await receive(socket) == {"type": "connection_ack"}
        payload = {"query": SUBSCRIBE, "variables": {"jobId": job_id}}
        await socket.send(json.dumps({"id": "1", "type": "start", "payload": payload}))
        data = await receive(socket)
    assert data["type"] == "data"
    assert data["payload"]["data"] == {"videoJobStateChanged": {"jobId": job_id, "state": "SUCCEED"}}


async def test_another_users_job_is_not_found_over_a_websocket(live: LiveGateway, key1: SigningKey) -> None:
    job_id = await live.create_video(key1.sign(claims("alice")))
    async with connected(live, {"Authorization": f"Bearer {key1.sign(claims('bob'))}"}) as socket:
        assert await receive(socket) == {"type": "connection_ack"}
        answer = await run(socket, DETAIL, jobId=job_id)
    assert answer["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("case", ["missing", "expired", "forged", "wrong-audience"])
@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_websocket_with_a_bad_token_is_closed_4403_at_connection_init(
    live: LiveGateway, key1: SigningKey, case: str, protocol: str
) -> None:
    token, _, words = refused_tokens(key1, SigningKey.rsa(key1.kid))[case]
    payload = {} if token is None else {"Authorization": f"Bearer {token}"}
    await live.client.reset_calls()

    async with connected(live, payload, protocol) as socket:
        if protocol == "graphql-ws":
            error = await receive(socket)
            assert error["type"] == "connection_error"
            assert error["payload"]["extensions"] == {"code": "UNAUTHENTICATED"}
            assert words in error["payload"]["message"]
        code, reason = await closed_with(socket)

    assert code == 4403
    assert words in reason
    if token is not None:
        assert token not in reason
    assert await live.client.calls() == []


async def test_a_websocket_naming_its_own_app_user_id_is_closed_4400(
    live: LiveGateway, key1: SigningKey
) -> None:
    payload = {"Authorization": f"Bearer {key1.sign(claims('alice'))}", "X-App-UserId": "bob"}
    async with connected(live, payload) as socket:
        code, reason = await closed_with(socket)
    assert code == 4400
    assert reason == "X-App-UserId is not accepted: the end user comes from the bearer token's sub claim"


async def test_a_websocket_is_closed_when_its_token_expires(
    emulator: LoopbackServer, idp: Issuer, key1: SigningKey
) -> None:
    async with live_gateway(emulator.url, jwks_url=idp.jwks_url, jwt_leeway=0.0) as live:
        token = key1.sign(claims("alice", expires_in=2))
        async with connected(live, {"Authorization": f"Bearer {token}"}) as socket:
            assert await receive(socket) == {"type": "connection_ack"}
            started = time.monotonic()
            code, reason = await closed_with(socket)
    assert (code, reason) == (4403, "the token has expired")
    assert time.monotonic() - started < 4


async def test_subscription_quotas_count_per_token_user(
    emulator: LoopbackServer, idp: Issuer, key1: SigningKey
) -> None:
    async with live_gateway(emulator.url, jwks_url=idp.jwks_url, max_subscriptions_per_caller=1) as live:
        alice, bob = key1.sign(claims("alice")), key1.sign(claims("bob"))
        first, second = await live.create_video(alice), await live.create_video(alice)
        theirs = await live.create_video(bob)
        async with (
            connected(live, {"Authorization": f"Bearer {alice}"}) as one,
            connected(live, {"Authorization": f"Bearer {key1.sign(claims('alice', jti='other'))}"}) as two,
            connected(live, {"Authorization": f"Bearer {bob}"}) as three,
        ):
            for socket in (one, two, three):
                assert await receive(socket) == {"type": "connection_ack"}
            assert (await run(one, SUBSCRIBE, jobId=first))["type"] == "next"
            # Another connection with another token of the same user gets no second slot.
            refused = await run(two, SUBSCRIBE, jobId=second)
            [error] = refused["payload"]["errors"]
            assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 1, "scope": "caller"}
            assert (await run(three, SUBSCRIBE, jobId=theirs))["type"] == "next"
