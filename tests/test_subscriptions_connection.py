"""WebSocket connections: credentials in connection_init or the handshake, queries, allowed origins."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import websockets
from gql import GraphQLRequest

from tests.support.subscriptions import (
    ALICE,
    ALLOWED_ORIGIN,
    TIMEOUT,
    VIDEO,
    WS_PROTOCOLS,
    LiveGateway,
    error_of,
    follow,
    subscribe,
)

# Credentials over a WebSocket


@pytest.mark.parametrize(
    "payload",
    [
        {"X-Auth-Token": "alice-token"},
        {"x-auth-token": "alice-token"},
        {"Authorization": "Bearer alice-token"},
        {"headers": {"Authorization": "Bearer alice-token"}},
        {"Headers": {"X-AUTH-TOKEN": "alice-token"}},
    ],
    ids=["graphiql-header", "lowercase", "bearer", "nested-headers", "any-case"],
)
@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_the_connection_init_payload_carries_the_token(
    live: LiveGateway, payload: dict[str, Any], protocol: str
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "SUCCEED")
    async with live.session(protocol, payload=payload) as session:
        events = await follow(subscribe(session, VIDEO, jobId=job_id))
    assert [e["videoJobStateChanged"]["state"] for e in events] == ["SUCCEED"]


async def test_handshake_headers_serve_when_the_payload_names_no_credentials(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "SUCCEED")
    async with live.session(payload={}, headers={"Authorization": "Bearer alice-token"}) as session:
        events = await follow(subscribe(session, VIDEO, jobId=job_id))
    assert [e["videoJobStateChanged"]["jobId"] for e in events] == [job_id]


async def test_the_payloads_credentials_win_over_the_handshakes(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    async with live.session(payload={"X-Auth-Token": "bob-token"}, headers=ALICE) as session:
        error = await error_of(session, VIDEO, jobId=job_id)
    assert error["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_a_subscription_without_a_token_is_unauthenticated(live: LiveGateway, protocol: str) -> None:
    job_id = await live.client.create_video()
    async with live.session(protocol, payload={}) as session:
        error = await error_of(session, VIDEO, jobId=job_id)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "X-Auth-Token" in error["message"]
    assert live.counts()["watchers"] == 0


async def test_queries_over_a_websocket_run_with_the_connection_params_each_with_fresh_data(
    live: LiveGateway,
) -> None:
    job_id = await live.client.create_video()
    query = GraphQLRequest(
        "query ($jobId: String!) { videoJob(jobId: $jobId) { state } }", variable_values={"jobId": job_id}
    )
    async with live.session() as session:
        first = await session.execute(query)
        await live.client.set_state(job_id, "PROCESSING")
        second = await session.execute(query)
    assert first == {"videoJob": {"state": "WAITING"}}
    assert second == {"videoJob": {"state": "PROCESSING"}}


# Who may open a WebSocket


async def handshake(live: LiveGateway, origin: str | None) -> str:
    """Open a graphql-transport-ws connection as a browser on `origin` would (None: a mobile app)."""
    async with websockets.connect(
        live.ws_url,
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        origin=None if origin is None else websockets.Origin(origin),
    ) as socket:
        await socket.send('{"type": "connection_init", "payload": {}}')
        answer = await asyncio.wait_for(socket.recv(), TIMEOUT)
    assert isinstance(answer, str)
    return answer


@pytest.mark.parametrize("origin", [None, ALLOWED_ORIGIN], ids=["no-origin", "allowed-origin"])
async def test_websocket_handshakes_without_an_origin_or_from_an_allowed_one_are_accepted(
    live: LiveGateway, origin: str | None
) -> None:
    assert await handshake(live, websockets.Origin(origin) if origin else None) == (
        '{"type":"connection_ack"}'
    )


async def test_websocket_handshakes_from_the_gateways_own_pages_are_accepted(live: LiveGateway) -> None:
    assert await handshake(live, websockets.Origin(live.url)) == '{"type":"connection_ack"}'


@pytest.mark.parametrize("origin", ["https://evil.example", "http://studio.example.com"])
async def test_cross_origin_websocket_handshakes_are_refused(live: LiveGateway, origin: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await handshake(live, websockets.Origin(origin))
    assert refused.value.response.status_code == 403
