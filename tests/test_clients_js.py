"""The JavaScript clients apps use, each with the settings its documentation shows, against a real gateway
server: urql (`cacheExchange` and `fetchExchange`, subscriptions over Server-Sent Events, multipart HTTP
and graphql-sse), graphql-request, and graphql-sse in single connection mode. Node runs them from
tests/js; what they print is what an app using them would see."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.node import run_script
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import (
    ALICE,
    QUERIES,
    TIMEOUT,
    VIDEO,
    LiveGateway,
    Move,
    live_gateway,
    moving,
)
from tests.test_subscriptions_js import run_client

JS = Path(__file__).resolve().parent / "js"
VIDEO_DETAIL = (QUERIES / "video_job_detail.graphql").read_text(encoding="utf-8")
CANCEL_VIDEO = (QUERIES / "cancel_video_job.graphql").read_text(encoding="utf-8")
# Which media type answers each urql set-up's subscription, as urql reports it (graphql-sse's own fetch
# does not go through urql's).
URQL_SUBSCRIPTIONS = {
    "urql": ["text/event-stream"],
    "urql-multipart": ["multipart/mixed"],
    "urql-graphql-sse": [],
}


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url) as gateway:
        yield gateway


async def run(
    live: LiveGateway,
    client: str,
    document: str,
    variables: dict[str, Any],
    move: Move | None = None,
    headers: dict[str, str] = ALICE,
) -> list[dict[str, Any]]:
    """What tests/js/clients.mjs prints for one operation, one message a line, until it ends."""
    assert shutil.which("node"), "these tests need Node.js (20 or later) on the PATH"
    assert (JS / "node_modules" / "@urql" / "core").is_dir(), (
        "run `npm ci --prefix tests/js` (make test does)"
    )
    options = {
        "client": client,
        "url": live.url + "/graphql",
        "query": document,
        "variables": variables,
        "headers": headers,
    }
    return await run_script("clients.mjs", options, seconds=TIMEOUT, progress="result", move=move)


def results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["result"] for m in messages if "result" in m]


# urql with its defaults


async def test_urql_runs_a_query(live: LiveGateway) -> None:
    job_id = await live.client.create_video()

    messages = await run(live, "urql", VIDEO_DETAIL, {"jobId": job_id})

    # urql's Accept names application/graphql-response+json first, and a single result comes as one.
    [response] = [m["response"] for m in messages if "response" in m]
    assert response["contentType"].split(";")[0] == "application/graphql-response+json"
    [result] = results(messages)
    assert "graphQLErrors" not in result
    job = result["data"]["videoJob"]
    assert (job["jobId"], job["kind"], job["state"]) == (job_id, "DIGITAL_HUMAN_2D", "WAITING")
    assert job["outputAsset"]["assetName"] == "Greeting"
    assert messages[-1] == {"complete": True}


async def test_urql_runs_a_mutation(live: LiveGateway) -> None:
    job_id = await live.client.create_video()

    [result] = results(await run(live, "urql", CANCEL_VIDEO, {"jobId": job_id}))

    assert "graphQLErrors" not in result
    payload = result["data"]["cancelVideoJob"]
    assert payload["userErrors"] == []
    assert (payload["job"]["jobId"], payload["job"]["state"]) == (job_id, "CANCELED")


async def test_urql_shows_a_missing_job_as_not_found(live: LiveGateway) -> None:
    [result] = results(await run(live, "urql", VIDEO_DETAIL, {"jobId": "no-such-job"}))

    assert result["data"] == {"videoJob": None}
    assert [(e["path"], e["extensions"]["code"]) for e in result["graphQLErrors"]] == [
        (["videoJob"], "NOT_FOUND")
    ]
    assert result["networkError"] is None


@pytest.mark.parametrize("client", URQL_SUBSCRIPTIONS)
async def test_urql_follows_a_video_job_until_it_succeeds(live: LiveGateway, client: str) -> None:
    job_id = await live.client.create_video()

    messages = await run(
        live, client, VIDEO, {"jobId": job_id}, moving(live.client, job_id, "PROCESSING", "SUCCEED")
    )

    assert [m["response"]["contentType"].split(";")[0] for m in messages if "response" in m] == (
        URQL_SUBSCRIPTIONS[client]
    )
    shown = results(messages)
    assert all("graphQLErrors" not in r for r in shown), shown
    # urql marks each event `hasNext`, then repeats the last one without it once the stream has ended.
    events = [r["data"]["videoJobStateChanged"] for r in shown if r["hasNext"]]
    assert [e["state"] for e in events] == ["WAITING", "PROCESSING", "SUCCEED"]
    assert shown[-1]["hasNext"] is False
    assert shown[-1]["data"]["videoJobStateChanged"] == events[-1]
    assert events[-1]["terminal"] is True
    assert messages[-1] == {"complete": True}


@pytest.mark.parametrize("client", URQL_SUBSCRIPTIONS)
async def test_urql_shows_a_subscription_to_a_missing_job_as_not_found(
    live: LiveGateway, client: str
) -> None:
    messages = await run(live, client, VIDEO, {"jobId": "no-such-job"})

    shown = results(messages)
    assert shown[-1]["hasNext"] is False
    assert shown[-1]["data"] is None
    assert [e["extensions"]["code"] for e in shown[-1]["graphQLErrors"]] == ["NOT_FOUND"]
    assert {e["extensions"]["code"] for r in shown for e in r["graphQLErrors"]} == {"NOT_FOUND"}
    assert messages[-1] == {"complete": True}


# graphql-request


async def test_graphql_request_runs_a_query_with_a_bearer_token(live: LiveGateway) -> None:
    job_id = await live.client.create_video()

    [message, end] = await run(
        live,
        "graphql-request",
        VIDEO_DETAIL,
        {"jobId": job_id},
        headers={"Authorization": "Bearer alice-token"},
    )

    job = message["result"]["data"]["videoJob"]
    assert (job["jobId"], job["state"]) == (job_id, "WAITING")
    assert end == {"complete": True}


async def test_graphql_request_runs_a_mutation(live: LiveGateway) -> None:
    job_id = await live.client.create_video()

    [message, _] = await run(live, "graphql-request", CANCEL_VIDEO, {"jobId": job_id})

    payload = message["result"]["data"]["cancelVideoJob"]
    assert payload["userErrors"] == []
    assert payload["job"]["state"] == "CANCELED"


async def test_graphql_request_throws_not_found_for_a_missing_job(live: LiveGateway) -> None:
    [message, _] = await run(live, "graphql-request", VIDEO_DETAIL, {"jobId": "no-such-job"})

    thrown = message["thrown"]
    assert thrown["status"] == 200
    assert thrown["data"] == {"videoJob": None}
    assert [(e["path"], e["extensions"]["code"]) for e in thrown["errors"]] == [(["videoJob"], "NOT_FOUND")]


async def test_graphql_request_without_a_token_is_unauthenticated(live: LiveGateway) -> None:
    [message, _] = await run(live, "graphql-request", VIDEO_DETAIL, {"jobId": "no-such-job"}, headers={})

    assert [e["extensions"]["code"] for e in message["thrown"]["errors"]] == ["UNAUTHENTICATED"]


# Apollo Client with automatic persisted queries, set up as the README shows


async def test_apollo_client_runs_a_query_with_a_bearer_token(live: LiveGateway) -> None:
    job_id = await live.client.create_video()

    [message, end] = await run(
        live, "apollo", VIDEO_DETAIL, {"jobId": job_id}, headers={"Authorization": "Bearer alice-token"}
    )

    job = message["result"]["data"]["videoJob"]
    assert (job["jobId"], job["kind"], job["state"]) == (job_id, "DIGITAL_HUMAN_2D", "WAITING")
    assert end == {"complete": True}


async def test_apollo_client_runs_a_mutation(live: LiveGateway) -> None:
    job_id = await live.client.create_video()

    [message, _] = await run(live, "apollo", CANCEL_VIDEO, {"jobId": job_id})

    payload = message["result"]["data"]["cancelVideoJob"]
    assert payload["userErrors"] == []
    assert (payload["job"]["jobId"], payload["job"]["state"]) == (job_id, "CANCELED")


async def test_apollo_client_throws_not_found_for_a_missing_job(live: LiveGateway) -> None:
    [message, _] = await run(live, "apollo", VIDEO_DETAIL, {"jobId": "no-such-job"})

    thrown = message["thrown"]
    assert [(e["path"], e["extensions"]["code"]) for e in thrown["errors"]] == [(["videoJob"], "NOT_FOUND")]


# graphql-sse, single connection mode: one event stream carries every operation of the client


async def test_graphql_sse_single_connection_follows_a_video_job(live: LiveGateway) -> None:
    job_id = await live.client.create_video()

    messages = await run_client(
        live,
        "graphql-sse-single-connection",
        VIDEO,
        {"jobId": job_id},
        moving(live.client, job_id, "PROCESSING", "SUCCEED"),
    )

    events = [m["next"] for m in messages if "next" in m]
    assert all("errors" not in e for e in events), messages
    assert [e["data"]["videoJobStateChanged"]["state"] for e in events] == [
        "WAITING",
        "PROCESSING",
        "SUCCEED",
    ]
    assert messages[-1] == {"complete": True}


async def test_graphql_sse_single_connection_ends_a_missing_job_with_not_found(live: LiveGateway) -> None:
    messages = await run_client(live, "graphql-sse-single-connection", VIDEO, {"jobId": "no-such-job"})

    errors = [error for m in messages if "next" in m for error in m["next"].get("errors", [])]
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"], messages
    assert messages[-1] == {"complete": True}
