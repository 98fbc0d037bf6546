"""Live job state over plain HTTP in Apollo's multipart subscription format, read as a stream with httpx
from a real gateway server (credentials in the request's own headers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from schema.relay import encode_global_id
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import (
    ALICE,
    JOBS,
    TIMEOUT,
    VIDEO,
    LiveGateway,
    Move,
    first_event,
    live_gateway,
    moving,
    sse_payloads,
    subscribe,
    wait_for_idle,
)

ACCEPT_MULTIPART = "multipart/mixed;subscriptionSpec=1.0,application/json"
BOUNDARY = "\r\n--graphql"


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url) as gateway:
        yield gateway


async def multipart(
    live: LiveGateway,
    document: str,
    variables: dict[str, Any],
    move: Move | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """The payloads of the stream's parts (heartbeats left out), and whether the closing boundary came."""
    sent = {"Accept": ACCEPT_MULTIPART, **({"X-Auth-Token": "alice-token"} if headers is None else headers)}
    payloads: list[dict[str, Any]] = []
    closed = False
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream(
            "POST",
            "/graphql",
            json={"query": document, "variables": variables},
            headers=sent,
            timeout=TIMEOUT,
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/mixed;boundary=graphql")
        buffer = ""
        async for chunk in response.aiter_text():
            buffer += chunk
            while (end := buffer.find(BOUNDARY)) != -1:
                part, buffer = buffer[:end], buffer[end + len(BOUNDARY) :]
                _, _, body = part.partition("\r\n\r\n")
                message = json.loads(body) if body.strip() else {}
                if "payload" in message:
                    payloads.append(message["payload"])
                    if move is not None:
                        await move(len(payloads))
            closed = closed or buffer.startswith("--")
    return payloads, closed


async def test_a_video_moved_to_succeed_sends_three_events_then_completes(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    payloads, closed = await multipart(
        live, VIDEO, {"jobId": job_id}, moving(live.client, job_id, "PROCESSING", "SUCCEED")
    )
    assert [p["data"]["videoJobStateChanged"]["state"] for p in payloads] == [
        "WAITING",
        "PROCESSING",
        "SUCCEED",
    ]
    assert closed


async def test_an_unknown_job_ends_with_not_found(live: LiveGateway) -> None:
    payloads, closed = await multipart(live, VIDEO, {"jobId": "no-such-job"})
    assert [(p["data"], [e["extensions"]["code"] for e in p["errors"]]) for p in payloads] == [
        (None, ["NOT_FOUND"])
    ]
    assert closed


async def test_another_users_job_ends_with_not_found(live: LiveGateway) -> None:
    job_id = await live.client.create_video("bob-token")
    payloads, _ = await multipart(
        live, VIDEO, {"jobId": job_id}, headers={"Authorization": "Bearer alice-token"}
    )
    assert [e["extensions"]["code"] for e in payloads[0]["errors"]] == ["NOT_FOUND"]


async def test_a_subscription_without_a_token_is_unauthenticated(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    payloads, _ = await multipart(live, VIDEO, {"jobId": job_id}, headers={})
    assert [e["extensions"]["code"] for e in payloads[0]["errors"]] == ["UNAUTHENTICATED"]


async def test_job_state_changed_completes_once_every_job_has_ended(live: LiveGateway) -> None:
    first, second = await live.client.create_videos(2)
    await live.client.set_state(first, "SUCCEED")
    ids = [encode_global_id("VideoJob", first), encode_global_id("VideoJob", second)]

    async def move(events: int) -> None:
        if events == 2:
            await live.client.set_state(second, "CANCELED")

    payloads, closed = await multipart(live, JOBS, {"ids": ids}, move)
    jobs = [p["data"]["jobStateChanged"] for p in payloads]
    assert sorted((j["jobId"], j["rawState"]) for j in jobs[:2]) == sorted(
        [(first, "SUCCEED"), (second, "WAITING")]
    )
    assert [(j["jobId"], j["rawState"]) for j in jobs[2:]] == [(second, "CANCELED")]
    assert closed


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_sent_as_a_plain_request_says_how_to_stream_it(
    live: LiveGateway, method: str
) -> None:
    job_id = await live.client.create_video()
    request = {"query": VIDEO, "variables": json.dumps({"jobId": job_id})}
    if method == "POST":
        response = await live.client.http.post(
            "/graphql", json={**request, "variables": {"jobId": job_id}}, headers=ALICE
        )
    else:
        response = await live.client.http.get("/graphql", params=request, headers=ALICE)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "WebSocket" in body["errors"][0]["message"]
    assert "text/event-stream" in body["errors"][0]["message"]
    assert live.counts()["watchers"] == 0


async def test_over_sse_one_caller_is_held_to_its_limit_and_others_are_not(emulator: LoopbackServer) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_caller=1) as live:
        held, refused = await live.client.create_videos(2)
        [bobs] = await live.client.create_videos(1, "bob-token")
        for job_id in (refused, bobs):
            await live.client.set_state(job_id, "SUCCEED")
        async with live.session() as session:
            holding = subscribe(session, VIDEO, jobId=held)
            assert await first_event(holding) == "WAITING"

            [payload] = await sse_payloads(
                live, {"query": VIDEO, "variables": {"jobId": refused}}, "alice-token"
            )
            assert payload["data"] is None
            [error] = payload["errors"]
            assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 1, "scope": "caller"}
            bob = await sse_payloads(live, {"query": VIDEO, "variables": {"jobId": bobs}}, "bob-token")
            assert [p["data"]["videoJobStateChanged"]["state"] for p in bob] == ["SUCCEED"]

            await holding.aclose()  # type: ignore[attr-defined]
            assert (await wait_for_idle(live))["watchers"] == 0
            mine = await sse_payloads(live, {"query": VIDEO, "variables": {"jobId": refused}}, "alice-token")
            assert [p["data"]["videoJobStateChanged"]["state"] for p in mine] == ["SUCCEED"]
