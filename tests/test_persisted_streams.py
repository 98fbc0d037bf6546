"""Persisted and trusted operations over SSE, multipart and WebSocket subscriptions."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.support.subscriptions import TIMEOUT, WS_PROTOCOLS, LiveGateway, sse_payloads, ws_messages
from tests.test_persisted import QUERIES, apq, codes, fresh, sha256

# --- Streams: SSE and WebSocket ---


async def test_over_sse_a_trusted_subscription_runs_by_hash_and_an_unknown_hash_is_streamed_back(
    live: LiveGateway,
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "SUCCEED")
    text = (QUERIES / "video_job_state_changed.graphql").read_text()
    events = await sse_payloads(live, {"extensions": apq(sha256(text)), "variables": {"jobId": job_id}})
    assert [e["data"]["videoJobStateChanged"]["state"] for e in events] == ["SUCCEED"]
    missed = await sse_payloads(
        live, {"extensions": apq(sha256(fresh(text))), "variables": {"jobId": job_id}}
    )
    assert [codes(e) for e in missed] == [["PERSISTED_QUERY_NOT_FOUND"]]


# Each WebSocket protocol's names for starting an operation and for one of its results.


async def multipart_payloads(live: LiveGateway, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The payloads of an Apollo multipart subscription stream, heartbeats left out."""
    headers = {
        "Accept": "multipart/mixed;subscriptionSpec=1.0,application/json",
        "X-Auth-Token": "alice-token",
    }
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream("POST", "/graphql", json=payload, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/mixed")
        body = (await response.aread()).decode()
    parts = [part.partition("\r\n\r\n")[2] for part in body.split("\r\n--graphql")]
    return [json.loads(part)["payload"] for part in parts if part.strip() and "payload" in json.loads(part)]


async def test_over_multipart_a_trusted_subscription_runs_by_hash_and_an_unknown_hash_is_sent_back(
    live: LiveGateway,
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "CANCELED")
    text = (QUERIES / "video_job_state_changed.graphql").read_text()
    payloads = await multipart_payloads(
        live, {"extensions": apq(sha256(text)), "variables": {"jobId": job_id}}
    )
    assert [p["data"]["videoJobStateChanged"]["state"] for p in payloads] == ["CANCELED"]
    missed = await multipart_payloads(
        live, {"extensions": apq(sha256(fresh(text))), "variables": {"jobId": job_id}}
    )
    assert [codes(p) for p in missed] == [["PERSISTED_QUERY_NOT_FOUND"]]


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_over_websocket_apq_misses_registers_and_hits(live: LiveGateway, protocol: str) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "FAILED")
    document = fresh("subscription S($jobId: String!) { videoJobStateChanged(jobId: $jobId) { state } }")
    digest, variables = sha256(document), {"jobId": job_id}

    missed = await ws_messages(live, protocol, {"extensions": apq(digest), "variables": variables})
    assert [m["type"] for m in missed] == ["error"]
    assert missed[0]["payload"][0]["message"] == "PersistedQueryNotFound"
    assert missed[0]["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    for payload in (
        {"query": document, "extensions": apq(digest), "variables": variables},
        {"extensions": apq(digest), "variables": variables},
    ):
        messages = await ws_messages(live, protocol, payload)
        assert [m["type"] for m in messages] == ["next", "complete"]
        assert messages[0]["payload"] == {"data": {"videoJobStateChanged": {"state": "FAILED"}}}


async def test_over_websocket_a_hash_that_is_not_the_querys_is_refused(live: LiveGateway) -> None:
    document = fresh("subscription S($jobId: String!) { videoJobStateChanged(jobId: $jobId) { state } }")
    payload = {"query": document, "extensions": apq(sha256(fresh(document))), "variables": {"jobId": "x"}}
    messages = await ws_messages(live, "graphql-transport-ws", payload)
    assert [(m["type"], m["payload"][0]["extensions"]["code"]) for m in messages] == [
        ("error", "BAD_USER_INPUT")
    ]
