"""The gateway in a real browser: headless Chromium, driven by puppeteer-core from tests/js/browser.mjs.

A page served from another origin queries, mutates and follows a job across origins (the gateway allows
that origin through GATEWAY_ALLOWED_ORIGINS), and GraphiQL, served by `metastudio-gateway serve` itself,
runs a query; in both, no console error, and every request stays on this machine."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from tests.support.node import run_script
from tests.support.servers import LoopbackServer, serve
from tests.support.serving import clean_env, serve_gateway
from tests.support.subscriptions import ALICE, LiveGateway, Move, live_gateway, moving

JS = Path(__file__).resolve().parent / "js"
CHROMIUM = "/usr/bin/chromium"
# A cold Chromium on a 2-core machine takes seconds to start; this bounds a hung run, it times nothing.
BROWSER_TIMEOUT = 120.0
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
TRANSPORTS = ["graphql-ws", "graphql-sse"]
GRAPHIQL_QUERY = "{ videoJobs(first: 2) { totalCount edges { node { jobId state } } } }"


def page_app() -> Starlette:
    """The follower page and the browser builds of the two subscription clients it loads."""
    modules = JS / "node_modules"
    return Starlette(
        routes=[
            Mount("/vendor/graphql-ws", StaticFiles(directory=modules / "graphql-ws" / "umd")),
            Mount("/vendor/graphql-sse", StaticFiles(directory=modules / "graphql-sse" / "umd")),
            Mount("/", StaticFiles(directory=JS / "browser", html=True)),
        ]
    )


@pytest.fixture
def page_server() -> Iterator[LoopbackServer]:
    with serve(page_app()) as server:
        yield server


@pytest.fixture
async def live(emulator: LoopbackServer, page_server: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url, allowed_origins=(page_server.url,)) as gateway:
        yield gateway


async def open_page(page: str, url: str, move: Move | None = None) -> list[dict[str, Any]]:
    """What tests/js/browser.mjs prints for one page, calling `move` after each live event it shows."""
    assert shutil.which("node"), "these tests need Node.js (20 or later) on the PATH"
    assert os.access(CHROMIUM, os.X_OK), "these tests need Debian's chromium (make test installs it)"
    assert (JS / "node_modules" / "puppeteer-core").is_dir(), (
        "run `npm ci --prefix tests/js` (make test does)"
    )
    options = {"page": page, "url": url, "chromium": CHROMIUM}
    return await run_script("browser.mjs", options, seconds=BROWSER_TIMEOUT, progress="event", move=move)


def shown(messages: list[dict[str, Any]]) -> dict[str, Any]:
    [page] = [m["shown"] for m in messages if "shown" in m]
    shown_page: dict[str, Any] = page
    return shown_page


def assert_stayed_on_this_machine(messages: list[dict[str, Any]]) -> None:
    [record] = [m for m in messages if "requests" in m]
    assert record["consoleErrors"] == []
    assert record["requests"]
    for url in record["requests"]:
        if url == "data:":
            continue
        parts = urlsplit(url)
        assert parts.scheme in ("http", "ws") and parts.hostname in LOOPBACK, f"the page asked for {url}"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_page_from_another_origin_queries_mutates_and_follows_a_job(
    live: LiveGateway, page_server: LoopbackServer, transport: str
) -> None:
    followed, canceled = await live.client.create_video(), await live.client.create_video()
    query = {
        "gateway": live.url + "/graphql",
        "token": ALICE["X-Auth-Token"],
        "job": followed,
        "cancel": canceled,
        "transport": transport,
    }

    messages = await open_page(
        "follower",
        f"{page_server.url}/?{urlencode(query)}",
        moving(live.client, followed, "PROCESSING", "SUCCEED"),
    )

    page = shown(messages)
    assert page["job"] == f"{followed} DIGITAL_HUMAN_2D WAITING"
    assert page["canceled"] == f"{canceled} CANCELED"
    assert page["missing"] == "videoJob null, errors NOT_FOUND"
    assert page["events"] == [
        f"{followed} WAITING",
        f"{followed} PROCESSING",
        f"{followed} SUCCEED (ended)",
    ]
    assert page["live"] == "complete"
    assert_stayed_on_this_machine(messages)


async def test_a_page_from_an_origin_not_allowed_can_neither_read_nor_change_jobs(
    emulator: LoopbackServer, page_server: LoopbackServer
) -> None:
    # The gateway allows another origin than the page's.
    async with live_gateway(emulator.url) as live:
        followed, canceled = await live.client.create_video(), await live.client.create_video()
        query = {
            "gateway": live.url + "/graphql",
            "token": ALICE["X-Auth-Token"],
            "job": followed,
            "cancel": canceled,
            "transport": "graphql-ws",
        }

        messages = await open_page("follower", f"{page_server.url}/?{urlencode(query)}")

        after = await live.client.query(
            "query($jobId: String!) { videoJob(jobId: $jobId) { state } }", {"jobId": canceled}
        )
    page = shown(messages)
    assert page["job"] == page["canceled"] == page["missing"] == "failed: TypeError: Failed to fetch"
    assert page["live"] == "failed: the connection failed"
    assert page["events"] == []
    # The browser sent no cancel: its preflight was refused.
    assert after["data"]["videoJob"]["state"] == "WAITING"
    [record] = [m for m in messages if "requests" in m]
    assert any("blocked by CORS policy" in error for error in record["consoleErrors"])


async def test_graphiql_runs_a_query_offline(tmp_path: Path) -> None:
    # `serve` as a newcomer runs it: the embedded emulator with its demo jobs, no header needed.
    served = await asyncio.to_thread(serve_gateway, tmp_path / "serve.log", clean_env())
    try:
        link = f"{served.url}/graphql?{urlencode({'q': GRAPHIQL_QUERY})}"
        messages = await open_page("graphiql", link)
    finally:
        await asyncio.to_thread(served.stop)

    # The result pane shows the answer as indented JSON, its indents as no-break spaces.
    result = json.loads(shown(messages)["result"].replace("\u00a0", " "))
    assert "errors" not in result
    jobs = result["data"]["videoJobs"]
    assert len(jobs["edges"]) == 2
    assert jobs["totalCount"] >= 2
    assert all(edge["node"]["jobId"] and edge["node"]["state"] for edge in jobs["edges"])
    assert_stayed_on_this_machine(messages)
