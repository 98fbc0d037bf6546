"""Request ids: on every response, kept when well formed, named in the logs and on WebSockets."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from gateway.app import create_app
from gateway.settings import Settings
from tests.edge.support import COUNT, GENERATED_ID, ORIGIN, OTHER_ORIGIN, listed
from tests.support.gateway import PROJECT, GatewayClient
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import LiveGateway

# Request ids


async def test_every_response_carries_a_request_id(gateway: GatewayClient) -> None:
    http = gateway.http
    responses = [
        await http.get("/healthz"),
        await http.get("/readyz"),
        await http.get("/graphql", headers={"Accept": "text/html"}),
        await http.get("/no-such-page"),
        await http.patch("/graphql"),
        await gateway.post({"query": COUNT}),
        await gateway.post({"query": "{ nope }"}),
        await http.post("/graphql", content=b"[1]", headers={"Content-Type": "application/json"}),
        await http.options("/graphql", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}),
        await http.options(
            "/graphql", headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"}
        ),
    ]
    ids = [response.headers.get("x-request-id", "") for response in responses]
    assert all(GENERATED_ID.fullmatch(value) for value in ids), ids
    assert len(set(ids)) == len(ids)


async def test_a_refusal_while_draining_carries_a_request_id_and_cors(emulator: LoopbackServer) -> None:
    settings = Settings(
        endpoint=emulator.url, project_id=PROJECT, auth_mode="token", allowed_origins=(ORIGIN,)
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
    ):
        await app.state.drain.run(asyncio.get_running_loop().time() + 5)
        response = await http.post(
            "/graphql", json={"query": COUNT}, headers={"Origin": ORIGIN, "X-Request-Id": "drained-1"}
        )
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "shutting down"}
    assert response.headers["x-request-id"] == "drained-1"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "retry-after" in listed(response.headers["access-control-expose-headers"])


@pytest.mark.parametrize("sent", ["abc-123", "trace.7:span_9", "A" * 128])
async def test_a_well_formed_request_id_is_kept(gateway: GatewayClient, sent: str) -> None:
    response = await gateway.post({"query": COUNT}, **{"X-Request-Id": sent})
    assert response.headers["x-request-id"] == sent


@pytest.mark.parametrize("sent", ["has space", "A" * 129, "<script>", "id;level=ERROR", ""])
async def test_a_malformed_request_id_is_replaced(gateway: GatewayClient, sent: str) -> None:
    response = await gateway.post({"query": COUNT}, **{"X-Request-Id": sent})
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


@pytest.mark.parametrize("sent", [None, "client-chosen-1", "not a good id"])
async def test_the_logs_name_the_request_id_the_client_got(
    gateway: GatewayClient, caplog: pytest.LogCaptureFixture, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-Id": sent}
    with caplog.at_level(logging.INFO):
        response = await gateway.post({"query": '{ videoJob(jobId: "no-such-job") { state } }'}, **headers)
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["NOT_FOUND"]
    logged = [record.getMessage() for record in caplog.records if "NOT_FOUND" in record.getMessage()]
    assert logged
    assert all(response.headers["x-request-id"] in line for line in logged)


async def test_a_websocket_handshake_carries_a_request_id(live: LiveGateway) -> None:
    async with connect(
        live.ws_url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        additional_headers={"X-Request-Id": "ws-1"},
    ) as socket:
        assert socket.response is not None
        assert socket.response.headers["X-Request-Id"] == "ws-1"
