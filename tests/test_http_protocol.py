"""GraphQL over HTTP as the spec has it against a real gateway server: media types, errors, streams."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.node import run_script
from tests.support.subscriptions import TIMEOUT, VIDEO, LiveGateway

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
    audits = await run_script("audit.mjs", {"url": live.url + "/graphql"}, seconds=60)
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
