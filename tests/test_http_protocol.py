"""GraphQL over HTTP as the spec has it, against a real gateway server: media types chosen from Accept,
status codes, request errors as GraphQL JSON, graphql-http's own audits, and graphql-sse's single
connection mode driven by hand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.schema.test_video_mutations import VIDEO_INPUT
from tests.support.servers import LoopbackServer
from tests.support.serving import Served, clean_env, serve_gateway
from tests.support.subscriptions import TIMEOUT, VIDEO, LiveGateway, live_gateway, wait_for_idle

JS = Path(__file__).resolve().parent / "js"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# What @urql/core 6 sends by default with every operation.
URQL_ACCEPT = (
    "application/graphql-response+json, application/graphql+json, application/json, "
    "text/event-stream, multipart/mixed"
)
JOB = "query ($id: String!) { videoJob(jobId: $id) { jobId state } }"
TOKEN_HEADER = "X-GraphQL-Event-Stream-Token"
CREATE = "mutation ($input: CreateVideoJobInput!) { createVideoJob(input: $input) { job { jobId } } }"


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url) as gateway:
        yield gateway


async def post(
    live: LiveGateway, body: dict[str, Any] | str, accept: str | None, **headers: str
) -> httpx.Response:
    sent = {"X-Auth-Token": "alice-token", "Content-Type": "application/json", **headers}
    if accept is not None:
        sent["Accept"] = accept
    content = body if isinstance(body, str) else json.dumps(body)
    return await live.client.http.post("/graphql", content=content, headers=sent)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].partition(";")[0].strip()


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


async def test_graphql_http_server_audits_all_pass(live: LiveGateway) -> None:
    assert shutil.which("node"), "this test needs Node.js (20 or later) on the PATH"
    assert (JS / "node_modules" / "graphql-http").is_dir(), "run `npm ci --prefix tests/js` (make test does)"
    process = await asyncio.create_subprocess_exec(
        "node",
        str(JS / "audit.mjs"),
        live.url + "/graphql",
        cwd=JS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    audits = [json.loads(line) for line in stdout.decode().splitlines()]
    assert len(audits) >= 60
    assert [a for a in audits if a["status"] != "ok"] == []


async def test_urqls_default_accept_gets_the_new_media_type(live: LiveGateway) -> None:
    response = await post(live, {"query": "{ __typename }"}, URQL_ACCEPT)
    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json, text/event-stream;q=0.1", "application/json"),
        ("text/event-stream;q=0.1, */*", "application/json"),
        ("application/json;q=0.5, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, application/json", "application/json"),
    ],
)
async def test_a_query_is_one_json_body_whatever_streams_the_client_also_takes(
    live: LiveGateway, accept: str | None, expected: str
) -> None:
    response = await post(live, {"query": "{ __typename }"}, accept)
    assert response.status_code == 200
    assert media_type(response) == expected
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        ("{ videoJobs {", {}, "GRAPHQL_PARSE_FAILED"),
        ("{ videoJobs { nope } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        (JOB, {"id": 7}, "BAD_USER_INPUT"),
        (JOB, {}, "BAD_USER_INPUT"),
    ],
)
async def test_a_request_error_is_400_without_data_in_the_new_media_type_and_200_in_json(
    live: LiveGateway, document: str, variables: dict[str, Any], code: str
) -> None:
    new = await post(live, {"query": document, "variables": variables}, GRAPHQL_RESPONSE_JSON)
    assert (new.status_code, media_type(new)) == (400, GRAPHQL_RESPONSE_JSON)
    assert "data" not in new.json()
    assert codes(new.json()) == [code]

    legacy = await post(live, {"query": document, "variables": variables}, "application/json")
    assert (legacy.status_code, media_type(legacy)) == (200, "application/json")
    assert legacy.json()["data"] is None
    assert codes(legacy.json()) == [code]


async def test_a_field_error_is_200_with_data_in_the_new_media_type(live: LiveGateway) -> None:
    response = await post(live, {"query": JOB, "variables": {"id": "no-such-job"}}, GRAPHQL_RESPONSE_JSON)
    assert (response.status_code, media_type(response)) == (200, GRAPHQL_RESPONSE_JSON)
    body = response.json()
    assert body["data"] == {"videoJob": None}
    assert codes(body) == ["NOT_FOUND"]


async def test_an_operation_limit_keeps_its_code(live: LiveGateway) -> None:
    deep = "{ videoJobs { edges { node { " + "outputAsset { " * 12 + "assetName" + " }" * 12 + " } } } }"
    response = await post(live, {"query": deep}, GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 400
    assert codes(response.json()) == ["OPERATION_LIMIT_EXCEEDED"]


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, "application/json"])
async def test_a_mutation_over_get_is_405_allowing_post(live: LiveGateway, accept: str) -> None:
    response = await live.client.http.get(
        "/graphql",
        params={"query": 'mutation { cancelVideoJob(jobId: "x") { userErrors { code } } }'},
        headers={"Accept": accept, "X-Auth-Token": "alice-token"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert media_type(response) == accept
    assert "POST" in response.json()["errors"][0]["message"]
    assert await live.client.calls() == []


@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE_JSON, 400), ("application/json", 200)])
async def test_several_operations_without_a_name_run_none(
    live: LiveGateway, accept: str, status: int
) -> None:
    document = 'query A { __typename } query B { videoJob(jobId: "x") { jobId } }'
    response = await post(live, {"query": document}, accept)
    assert (response.status_code, media_type(response)) == (status, accept)
    assert codes(response.json()) == ["BAD_USER_INPUT"]
    assert "operationName" in response.json()["errors"][0]["message"]
    named = await post(live, {"query": document, "operationName": "A"}, accept)
    assert named.json() == {"data": {"__typename": "Query"}}
    assert await live.client.calls() == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{ not json", "JSON"),
        ({"qeury": "{ __typename }"}, "query"),
        ({"query": "{ __typename }", "operationName": 7}, "operationName"),
        ({"query": "{ __typename }", "variables": [1]}, "variables"),
    ],
)
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, "*/*"])
async def test_a_request_the_gateway_cannot_read_is_a_400_graphql_error(
    live: LiveGateway, body: dict[str, Any] | str, problem: str, accept: str
) -> None:
    response = await post(live, body, accept)
    assert response.status_code == 400
    assert media_type(response) == (GRAPHQL_RESPONSE_JSON if accept != "*/*" else "application/json")
    [error] = response.json()["errors"]
    assert problem in error["message"]


async def test_a_method_the_endpoint_does_not_take_is_a_405_graphql_error(live: LiveGateway) -> None:
    response = await live.client.http.patch("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST, PUT, DELETE"
    assert media_type(response) == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_accept_header_taking_nothing_the_gateway_writes_is_a_406(live: LiveGateway) -> None:
    response = await post(live, {"query": "{ __typename }"}, "text/html")
    assert response.status_code == 406
    assert media_type(response) == "application/json"
    assert "Accept" in response.json()["errors"][0]["message"]


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any] | None]]:
    """(event, data) of a Server-Sent Events response, comments left out; LF-only line endings asserted."""
    buffer = ""
    async for chunk in response.aiter_text():
        assert "\r" not in chunk
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields: dict[str, str] = {}
            for line in block.split("\n"):
                if line and not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
            if "event" in fields:
                yield fields["event"], json.loads(fields["data"]) if fields.get("data") else None


async def test_a_subscription_streams_when_the_client_names_a_stream_even_below_json(
    live: LiveGateway,
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "SUCCEED")
    events = []
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream(
            "POST",
            "/graphql",
            json={"query": VIDEO, "variables": {"jobId": job_id}},
            headers={"Accept": "application/json, text/event-stream;q=0.5", "X-Auth-Token": "alice-token"},
        ) as response,
    ):
        assert media_type(response) == "text/event-stream"
        async for name, data in sse_events(response):
            events.append((name, data))
    assert [name for name, _ in events] == ["next", "complete"]
    assert events[0][1]["data"]["videoJobStateChanged"]["state"] == "SUCCEED"  # type: ignore[index]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/event-stream;q=0.5, multipart/mixed;subscriptionSpec=1.0", "multipart/mixed"),
        ("multipart/mixed;subscriptionSpec=1.0;q=0.5, text/event-stream", "text/event-stream"),
        ("multipart/mixed, text/event-stream;q=0.2, application/json", "text/event-stream"),
    ],
)
async def test_a_subscription_takes_the_stream_the_client_ranks_higher(
    live: LiveGateway, accept: str, expected: str
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "SUCCEED")
    response = await post(live, {"query": VIDEO, "variables": {"jobId": job_id}}, accept)
    assert response.status_code == 200
    assert media_type(response) == expected
    assert '"SUCCEED"' in response.text


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
    process = await asyncio.create_subprocess_exec(
        "node",
        str(JS / "sse_single.mjs"),
        json.dumps(options),
        cwd=JS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    messages: list[dict[str, Any]] = []
    moves = iter(["PROCESSING", "SUCCEED"])
    try:
        async with asyncio.timeout(TIMEOUT):
            while line := await process.stdout.readline():
                message: dict[str, Any] = json.loads(line)
                messages.append(message)
                if message.get("op") == 0 and "next" in message:
                    moved = next(moves, None)
                    if moved is not None:
                        await live.client.set_state(followed, moved)
            stderr = await process.stderr.read()
            assert await process.wait() == 0, stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

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


@pytest.fixture
def started() -> Iterator[list[Served]]:
    processes: list[Served] = []
    yield processes
    for served in processes:
        served.stop()


async def test_sigterm_ends_a_reserved_stream_once_its_subscriptions_say_why(
    started: list[Served], tmp_path: Path
) -> None:
    served = serve_gateway(tmp_path / "gateway.log", clean_env(GATEWAY_LOG_LEVEL="info"))
    started.append(served)
    async with httpx.AsyncClient(base_url=served.url, timeout=TIMEOUT) as http:
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
