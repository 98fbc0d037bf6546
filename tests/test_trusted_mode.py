"""Trusted operations only: trusted documents run by text, hash or id over every transport; no other."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.gateway import GatewayClient, gateway_client
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import (
    TIMEOUT,
    WS_PROTOCOLS,
    LiveGateway,
    live_gateway,
    sse_payloads,
    ws_messages,
)
from tests.test_caller_policy import (
    DETAIL,
    NOT_IN_LIST,
    SCHEMA_QUERY,
    STATE_CHANGED,
    apq,
    codes,
    fresh,
    sha256,
)

# --- Trusted operations only ---


@pytest.fixture
async def trusted(emulator: LoopbackServer) -> AsyncIterator[GatewayClient]:
    async with gateway_client(emulator.url, operations="trusted") as client:
        yield client


async def post(gateway: GatewayClient, payload: dict[str, Any]) -> dict[str, Any]:
    response = await gateway.post(payload, Accept="application/json")
    body: dict[str, Any] = response.json()
    return body


async def get(gateway: GatewayClient, **params: object) -> dict[str, Any]:
    sent = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    response = await gateway.http.get(
        "/graphql", params=sent, headers={"X-Auth-Token": "alice-token", "Accept": "application/json"}
    )
    body: dict[str, Any] = response.json()
    return body


def refused(body: dict[str, Any]) -> bool:
    return (
        codes(body) == ["PERSISTED_QUERY_NOT_IN_LIST"]
        and NOT_IN_LIST in body["errors"][0]["message"]
        and body.get("data") is None
    )


async def test_trusted_mode_runs_a_trusted_document_by_text_hash_and_document_id(
    trusted: GatewayClient,
) -> None:
    job_id = await trusted.create_video()
    variables = {"jobId": job_id}
    digest = sha256(DETAIL)
    answers = [
        await post(trusted, {"query": DETAIL, "variables": variables}),
        await post(trusted, {"extensions": apq(digest), "variables": variables}),
        await post(trusted, {"query": DETAIL, "extensions": apq(digest), "variables": variables}),
        await post(trusted, {"documentId": f"sha256:{digest}", "variables": variables}),
        await get(trusted, query=DETAIL, variables=variables),
        await get(trusted, extensions=apq(digest), variables=variables),
    ]
    for body in answers:
        assert "errors" not in body, body
        assert body["data"]["videoJob"]["jobId"] == job_id


async def test_trusted_mode_refuses_other_text_and_unknown_hashes_before_calling_upstream(
    trusted: GatewayClient,
) -> None:
    other = "query { videoJobs(first: 1) { totalCount } }"
    await trusted.reset_calls()
    answers = {
        "text": await post(trusted, {"query": other}),
        "trusted text, changed": await post(trusted, {"query": DETAIL + " ", "variables": {"jobId": "x"}}),
        "unknown hash": await post(trusted, {"extensions": apq(sha256(other))}),
        "unknown documentId": await post(trusted, {"documentId": f"sha256:{sha256(other)}"}),
        "text over GET": await get(trusted, query=other),
        "unknown hash over GET": await get(trusted, extensions=apq(sha256(other))),
        "introspection": await post(trusted, {"query": SCHEMA_QUERY}),
        "not even GraphQL": await post(trusted, {"query": "{{{"}),
    }
    for what, body in answers.items():
        assert refused(body), (what, body)
    assert await trusted.calls() == []


async def test_trusted_mode_registers_nothing_through_apq(trusted: GatewayClient) -> None:
    document = fresh("query { videoJobs(first: 1) { totalCount } }")
    digest = sha256(document)
    assert refused(await post(trusted, {"query": document, "extensions": apq(digest)}))
    assert refused(await post(trusted, {"extensions": apq(digest)}))
    assert refused(await get(trusted, extensions=apq(digest)))


async def test_open_mode_still_runs_any_document(gateway: GatewayClient) -> None:
    body = await post(gateway, {"query": "query { videoJobs(first: 1) { totalCount } }"})
    assert body == {"data": {"videoJobs": {"totalCount": 0}}}


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url, operations="trusted") as gateway:
        yield gateway


async def test_trusted_mode_over_sse_runs_trusted_text_and_refuses_other_text(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "SUCCEED")
    variables = {"jobId": job_id}
    events = await sse_payloads(live, {"query": STATE_CHANGED, "variables": variables})
    assert [e["data"]["videoJobStateChanged"]["state"] for e in events] == ["SUCCEED"]
    other = "subscription S($jobId: String!) { videoJobStateChanged(jobId: $jobId) { state } }"
    for payload in (
        {"query": other, "variables": variables},
        {"extensions": apq(sha256(other)), "variables": variables},
    ):
        assert [refused(e) for e in await sse_payloads(live, payload)] == [True]


async def multipart_payloads(live: LiveGateway, payload: dict[str, Any]) -> list[dict[str, Any]]:
    headers = {
        "Accept": "multipart/mixed;subscriptionSpec=1.0,application/json",
        "X-Auth-Token": "alice-token",
    }
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream("POST", "/graphql", json=payload, headers=headers) as response,
    ):
        assert response.headers["content-type"].startswith("multipart/mixed")
        body = (await response.aread()).decode()
    parts = [part.partition("\r\n\r\n")[2] for part in body.split("\r\n--graphql")]
    return [json.loads(part)["payload"] for part in parts if part.strip() and "payload" in json.loads(part)]


async def test_trusted_mode_over_multipart_runs_trusted_text_and_refuses_other_text(
    live: LiveGateway,
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "CANCELED")
    variables = {"jobId": job_id}
    payloads = await multipart_payloads(live, {"query": STATE_CHANGED, "variables": variables})
    assert [p["data"]["videoJobStateChanged"]["state"] for p in payloads] == ["CANCELED"]
    other = "subscription S($jobId: String!) { videoJobStateChanged(jobId: $jobId) { state } }"
    assert [refused(p) for p in await multipart_payloads(live, {"query": other, "variables": variables})] == [
        True
    ]


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_trusted_mode_over_websocket_runs_trusted_documents_and_refuses_others(
    live: LiveGateway, protocol: str
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "FAILED")
    variables = {"jobId": job_id}
    for payload in (
        {"query": STATE_CHANGED, "variables": variables},
        {"extensions": apq(sha256(STATE_CHANGED)), "variables": variables},
    ):
        messages = await ws_messages(live, protocol, payload)
        assert [m["type"] for m in messages] == ["next", "complete"]
        assert messages[0]["payload"]["data"]["videoJobStateChanged"]["state"] == "FAILED"

    other = fresh("subscription S($jobId: String!) { videoJobStateChanged(jobId: $jobId) { state } }")
    for payload in (
        {"query": other, "variables": variables},
        {"extensions": apq(sha256(other)), "variables": variables},
        {"query": other, "extensions": apq(sha256(other)), "variables": variables},
    ):
        messages = await ws_messages(live, protocol, payload)
        assert [m["type"] for m in messages] == ["error"]
        error = messages[0]["payload"][0]
        assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        assert NOT_IN_LIST in error["message"]
