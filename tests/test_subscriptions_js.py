"""Live job state with the JavaScript clients browsers and Node apps use: `graphql-ws` over a WebSocket
(graphql-transport-ws) and `graphql-sse` over Server-Sent Events (distinct connections mode), each run
by Node from tests/js against a real gateway server."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from schema.relay import encode_global_id
from tests.support.node import run_script
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import ALICE, JOBS, TIMEOUT, VIDEO, LiveGateway, Move, live_gateway, moving

JS = Path(__file__).resolve().parent / "js"
CLIENTS = ["graphql-ws", "graphql-sse"]


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url) as gateway:
        yield gateway


async def run_client(
    live: LiveGateway,
    client: str,
    document: str,
    variables: dict[str, Any],
    move: Move | None = None,
    credentials: dict[str, str] = ALICE,
) -> list[dict[str, Any]]:
    """What the JavaScript client reports, one message per line, until the subscription ends."""
    assert shutil.which("node"), "these tests need Node.js (20 or later) on the PATH"
    assert (JS / "node_modules" / "graphql-ws").is_dir(), "run `npm ci --prefix tests/js` (make test does)"
    url = live.ws_url if client == "graphql-ws" else live.url + "/graphql"
    options = {
        "transport": client,
        "url": url,
        "query": document,
        "variables": variables,
        # graphql-ws clients send credentials in connection_init; graphql-sse ones as HTTP headers.
        "connectionParams": credentials,
        "headers": credentials,
    }
    return await run_script("subscribe.mjs", options, seconds=TIMEOUT, progress="next", move=move)


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_video_moved_to_succeed_sends_three_events_then_completes(
    live: LiveGateway, client: str
) -> None:
    job_id = await live.client.create_video()
    messages = await run_client(
        live, client, VIDEO, {"jobId": job_id}, moving(live.client, job_id, "PROCESSING", "SUCCEED")
    )
    events = [m["next"] for m in messages if "next" in m]
    assert [e["data"]["videoJobStateChanged"]["state"] for e in events] == [
        "WAITING",
        "PROCESSING",
        "SUCCEED",
    ]
    assert all("errors" not in e for e in events)
    assert messages[-1] == {"complete": True}
    assert len(messages) == 4


@pytest.mark.parametrize("client", CLIENTS)
async def test_an_unknown_job_ends_with_not_found(live: LiveGateway, client: str) -> None:
    messages = await run_client(live, client, VIDEO, {"jobId": "no-such-job"})
    errors = [error for m in messages if "next" in m for error in m["next"].get("errors", [])]
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]
    assert messages[-1] == {"complete": True}


@pytest.mark.parametrize("client", CLIENTS)
async def test_another_users_job_ends_with_not_found(live: LiveGateway, client: str) -> None:
    job_id = await live.client.create_video()
    messages = await run_client(
        live, client, VIDEO, {"jobId": job_id}, credentials={"X-Auth-Token": "bob-token"}
    )
    errors = [error for m in messages if "next" in m for error in m["next"].get("errors", [])]
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]


@pytest.mark.parametrize("client", CLIENTS)
async def test_job_state_changed_follows_a_mix_of_jobs(live: LiveGateway, client: str) -> None:
    video, training = await live.client.create_video(), await live.client.create_training()
    ids = [encode_global_id("VideoJob", video), encode_global_id("TrainingJob", training)]

    async def move(events: int) -> None:
        if events == 2:
            await live.client.set_state(video, "FAILED")
        elif events == 3:
            await live.client.set_state(training, "JOB_SUCCESS")

    messages = await run_client(live, client, JOBS, {"ids": ids}, move)
    jobs = [m["next"]["data"]["jobStateChanged"] for m in messages if "next" in m]
    assert sorted(j["__typename"] for j in jobs[:2]) == ["TrainingJob", "VideoJob"]
    assert [(j["jobId"], j["rawState"], j["terminal"]) for j in jobs[2:]] == [
        (video, "FAILED", True),
        (training, "JOB_SUCCESS", True),
    ]
    assert messages[-1] == {"complete": True}
