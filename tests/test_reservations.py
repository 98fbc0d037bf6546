"""graphql-sse's single connection mode: reserved streams carrying several operations, and SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.schema.test_video_mutations import VIDEO_INPUT
from tests.support.http import loopback
from tests.support.node import run_script
from tests.support.servers import LoopbackServer
from tests.support.serving import Served, clean_env, serve_gateway
from tests.support.subscriptions import TIMEOUT, VIDEO, LiveGateway, live_gateway, wait_for_idle
from tests.test_http_protocol import CREATE, TOKEN_HEADER, codes, media_type, sse_events


class EventStream:
    """A graphql-sse single connection stream read in the background: its events, by operation id."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[tuple[str, dict[str, Any] | None]] = asyncio.Queue()

    async def read(self, response: httpx.Response) -> None:
        async for event in sse_events(response):
            await self.events.put(event)

    async def until_complete(self, operation_id: str) -> list[tuple[str, dict[str, Any] | None]]:
        seen = []
        async with asyncio.timeout(TIMEOUT):
            while True:
                event = await self.events.get()
                seen.append(event)
                if event == ("complete", {"id": operation_id}):
                    return seen


@contextlib.asynccontextmanager
async def reserved_stream(live: LiveGateway) -> AsyncIterator[tuple[str, EventStream]]:
    reserved = await live.client.http.put("/graphql", headers={"X-Auth-Token": "alice-token"})
    assert reserved.status_code == 201
    assert media_type(reserved) == "text/plain"
    token = reserved.text
    stream = EventStream()
    async with live.client.http.stream(
        "GET", "/graphql", headers={"Accept": "text/event-stream", TOKEN_HEADER: token}, timeout=TIMEOUT
    ) as response:
        assert response.status_code == 200
        assert media_type(response) == "text/event-stream"
        reader = asyncio.create_task(stream.read(response))
        try:
            yield token, stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def operate(live: LiveGateway, token: str, operation_id: str, query: str, **variables: Any) -> int:
    response = await live.client.http.post(
        "/graphql",
        json={"query": query, "variables": variables, "extensions": {"operationId": operation_id}},
        headers={TOKEN_HEADER: token, "X-Auth-Token": "alice-token"},
    )
    return response.status_code


async def test_single_connection_mode_carries_several_operations_on_one_stream(live: LiveGateway) -> None:
    followed, stopped = await live.client.create_videos(2)
    async with reserved_stream(live) as (token, stream):
        assert await operate(live, token, "followed", VIDEO, jobId=followed) == 202
        assert await operate(live, token, "stopped", VIDEO, jobId=stopped) == 202
        assert await operate(live, token, "typename", "{ __typename }") == 202
        firsts: dict[str, Any] = {}
        async with asyncio.timeout(TIMEOUT):
            while len(firsts) < 3:
                name, data = await stream.events.get()
                assert data is not None
                if name == "next":
                    firsts[data["id"]] = data["payload"]["data"]
        assert firsts["typename"] == {"__typename": "Query"}
        assert firsts["followed"]["videoJobStateChanged"]["state"] == "WAITING"
        assert firsts["stopped"]["videoJobStateChanged"]["state"] == "WAITING"

        deleted = await live.client.http.delete(
            "/graphql", params={"operationId": "stopped"}, headers={TOKEN_HEADER: token}
        )
        assert deleted.status_code == 200
        await live.client.set_state(followed, "SUCCEED")
        rest = await stream.until_complete("followed")
        jobs = [(name, data) for name, data in rest if data is not None and data["id"] != "typename"]
        assert [(name, data["id"]) for name, data in jobs if data is not None] == [
            ("next", "followed"),
            ("complete", "followed"),
        ]
        assert jobs[0][1]["payload"]["data"]["videoJobStateChanged"]["state"] == "SUCCEED"
        assert (await wait_for_idle(live))["watchers"] == 0


async def test_a_document_error_on_the_stream_is_the_operations_one_event(live: LiveGateway) -> None:
    async with reserved_stream(live) as (token, stream):
        assert await operate(live, token, "bad", "{ videoJobs { nope } }") == 202
        events = await stream.until_complete("bad")
    assert [name for name, _ in events] == ["next", "complete"]
    assert codes(events[0][1]["payload"]) == ["GRAPHQL_VALIDATION_FAILED"]  # type: ignore[index]


async def test_a_reservation_takes_one_stream_and_goes_with_it(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    async with reserved_stream(live) as (token, _):
        second = await live.client.http.get(
            "/graphql", headers={"Accept": "text/event-stream", TOKEN_HEADER: token}
        )
        assert second.status_code == 409
        assert media_type(second) == "application/json"
        assert await operate(live, token, "held", VIDEO, jobId=job_id) == 202
        assert await operate(live, token, "held", VIDEO, jobId=job_id) == 409
    # The stream has closed: its token names nothing any more.
    for _ in range(int(TIMEOUT / 0.02)):
        if await operate(live, token, "after", "{ __typename }") == 404:
            break
        await asyncio.sleep(0.02)
    assert await operate(live, token, "after", "{ __typename }") == 404


@pytest.mark.parametrize(
    ("method", "headers", "params", "status"),
    [
        ("POST", {TOKEN_HEADER: "no-such-token"}, {}, 404),
        ("DELETE", {}, {"operationId": "x"}, 404),
        ("DELETE", {TOKEN_HEADER: "no-such-token"}, {"operationId": "x"}, 404),
        ("PUT", {"Accept": "application/json"}, {}, 406),
    ],
)
async def test_single_connection_requests_out_of_turn_are_graphql_errors(
    live: LiveGateway, method: str, headers: dict[str, str], params: dict[str, str], status: int
) -> None:
    response = await live.client.http.request(
        method,
        "/graphql",
        headers=headers,
        params=params,
        json={"query": "{ __typename }", "extensions": {"operationId": "x"}} if method == "POST" else None,
    )
    assert response.status_code == status
    assert media_type(response) == "application/json"
    assert response.json()["errors"][0]["message"]


async def test_a_stream_runs_at_most_the_operations_of_one_connection(emulator: LoopbackServer) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_connection=1) as live:
        job_id = await live.client.create_video()
        async with reserved_stream(live) as (token, _):
            assert await operate(live, token, "first", VIDEO, jobId=job_id) == 202
            response = await live.client.http.post(
                "/graphql",
                json={
                    "query": VIDEO,
                    "variables": {"jobId": job_id},
                    "extensions": {"operationId": "second"},
                },
                headers={TOKEN_HEADER: token, "X-Auth-Token": "alice-token"},
            )
            assert response.status_code == 429
            assert response.headers["retry-after"] == "1"
            [error] = response.json()["errors"]
            assert "1 operations" in error["message"]
            assert error["extensions"]["code"] == "RATE_LIMITED"


async def test_an_operation_without_an_id_is_refused(live: LiveGateway) -> None:
    async with reserved_stream(live) as (token, _):
        response = await live.client.http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={TOKEN_HEADER: token}
        )
    assert response.status_code == 400
    assert "operationId" in response.json()["errors"][0]["message"]


async def test_graphql_sse_client_runs_several_subscriptions_over_one_reserved_stream(
    live: LiveGateway,
) -> None:
    followed, stopped = await live.client.create_videos(2)
    options = {
        "url": live.url + "/graphql",
        "headers": {"X-Auth-Token": "alice-token"},
        "operations": [
            {"query": VIDEO, "variables": {"jobId": followed}},
            {"query": VIDEO, "variables": {"jobId": stopped}, "stopAfter": 1},
        ],
    }
    assert shutil.which("node"), "this test needs Node.js (20 or later) on the PATH"
    moves = iter(["PROCESSING", "SUCCEED"])

    async def move(_: int) -> None:
        moved = next(moves, None)
        if moved is not None:
            await live.client.set_state(followed, moved)

    messages = await run_script(
        "sse_single.mjs",
        options,
        seconds=TIMEOUT,
        progress=lambda message: message.get("op") == 0 and "next" in message,
        move=move,
    )

    def state(message: dict[str, Any]) -> str:
        return str(message["next"]["data"]["videoJobStateChanged"]["state"])

    first = [m for m in messages if m.get("op") == 0]
    assert [state(m) for m in first[:-1]] == ["WAITING", "PROCESSING", "SUCCEED"]
    assert first[-1] == {"op": 0, "complete": True}
    second = [m for m in messages if m.get("op") == 1]
    assert state(second[0]) == "WAITING"
    assert second[1:] == [{"op": 1, "stopped": True}, {"op": 1, "complete": True}]
    [requests] = [m["requests"] for m in messages if "requests" in m]
    assert sorted(requests) == ["DELETE", "GET stream", "POST", "POST", "PUT"]
    assert (await wait_for_idle(live))["watchers"] == 0


async def test_sigterm_ends_a_reserved_stream_once_its_subscriptions_say_why(
    started: list[Served], tmp_path: Path
) -> None:
    served = serve_gateway(tmp_path / "gateway.log", clean_env(GATEWAY_LOG_LEVEL="info"))
    started.append(served)
    async with loopback(served.url, timeout=TIMEOUT) as http:
        created = await http.post("/graphql", json={"query": CREATE, "variables": {"input": VIDEO_INPUT}})
        job_id = created.json()["data"]["createVideoJob"]["job"]["jobId"]
        token = (await http.put("/graphql")).text
        events = []
        async with (
            asyncio.timeout(TIMEOUT),
            http.stream(
                "GET", "/graphql", headers={"Accept": "text/event-stream", TOKEN_HEADER: token}
            ) as response,
        ):
            received = sse_events(response)
            operation = {"query": VIDEO, "variables": {"jobId": job_id}, "extensions": {"operationId": "job"}}
            posted = await http.post("/graphql", json=operation, headers={TOKEN_HEADER: token})
            assert posted.status_code == 202
            events.append(await anext(received))
            served.process.send_signal(signal.SIGTERM)
            events.extend([event async for event in received])
    assert await asyncio.to_thread(served.process.wait, TIMEOUT) == 0
    assert events[0][0] == "next"
    last, end = events[-2:]
    assert last[0] == "next"
    assert last[1] is not None
    assert "shutting down" in last[1]["payload"]["errors"][0]["message"]
    assert end == ("complete", {"id": "job"})
    assert "Traceback" not in served.output()
