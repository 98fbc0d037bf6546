"""Apollo Client's automatic persisted queries link (what Apollo iOS and Apollo Kotlin apps turn on too)
against a real gateway server: a miss, the registration it answers with, and hits, over POST and with
`useGETForHashedQueries` over GET, run by Node from tests/js."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.node import run_script
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import TIMEOUT, LiveGateway, live_gateway

JS = Path(__file__).resolve().parent / "js"
QUERY = "query VideoJobState($jobId: String!) { videoJob(jobId: $jobId) { jobId state } }"


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url) as gateway:
        yield gateway


async def run_apollo(live: LiveGateway, variables: dict[str, Any], *, use_get: bool) -> list[dict[str, Any]]:
    """What the script reports, one message per line: requests, responses and query results."""
    assert shutil.which("node"), "these tests need Node.js (20 or later) on the PATH"
    assert (JS / "node_modules" / "@apollo" / "client").is_dir(), "run `npm ci --prefix tests/js`"
    options = {
        "url": live.url + "/graphql",
        "query": QUERY,
        "variables": variables,
        "headers": {"X-Auth-Token": "alice-token"},
        "runs": 2,
        "useGETForHashedQueries": use_get,
    }
    return await run_script("apollo-apq.mjs", options, seconds=TIMEOUT)


@pytest.mark.parametrize("use_get", [False, True], ids=["post", "get-for-hashed-queries"])
async def test_apollo_clients_persisted_query_link_misses_registers_then_hits(
    live: LiveGateway, use_get: bool
) -> None:
    job_id = await live.client.create_video()
    messages = await run_apollo(live, {"jobId": job_id}, use_get=use_get)

    requests = [m["request"] for m in messages if "request" in m]
    hashed = "GET" if use_get else "POST"
    assert [(r["method"], r["sentQuery"]) for r in requests] == [
        (hashed, False),  # the hash alone: unknown
        ("POST", True),  # the query with its hash: registered and run
        (hashed, False),  # the hash alone: known now
    ]
    digests = {r["extensions"]["persistedQuery"]["sha256Hash"] for r in requests}
    assert len(digests) == 1
    assert all(r["extensions"]["persistedQuery"]["version"] == 1 for r in requests)

    responses = [m["response"] for m in messages if "response" in m]
    assert [r["status"] for r in responses] == [200, 200, 200]
    assert responses[0]["body"]["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    assert responses[0]["body"].get("data") is None
    # Apollo adds `__typename` to every selection it sends.
    expected = {"videoJob": {"jobId": job_id, "state": "WAITING", "__typename": "VideoJob"}}
    assert [r["body"] for r in responses[1:]] == [{"data": expected}, {"data": expected}]

    results = [m for m in messages if "result" in m or "thrown" in m]
    assert results == [{"result": {"data": expected, "error": None}}] * 2
    # The link hashes the document as it prints it; the gateway keeps that text under that hash.
    registered = await live.app.state.persisted.find(digests.pop())
    assert registered is not None
    assert registered.origin == "registered"
    assert (
        hashlib.sha256(registered.text.encode()).hexdigest()
        == requests[0]["extensions"]["persistedQuery"]["sha256Hash"]
    )
