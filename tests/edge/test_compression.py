"""Response compression: pages compressed as the client accepts, small answers and streams never."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Iterator

import brotli
import pytest

from gateway.emulator import create_app as create_emulator
from gateway.settings import Settings, SettingsError
from tests.edge.support import ACCEPT_MULTIPART, COUNT, ORIGIN, listed, page_request, raw
from tests.support.gateway import (
    V1,
    VIDEO_BODY,
    GatewayClient,
    emulator_config,
    gateway_client,
)
from tests.support.http import loopback_sync
from tests.support.servers import LoopbackServer, serve
from tests.support.subscriptions import TIMEOUT, VIDEO, LiveGateway

# Compression


@pytest.fixture(scope="module")
def hundred_jobs() -> Iterator[LoopbackServer]:
    """One emulator holding 100 video jobs, for the tests that only read a page of them."""
    with serve(create_emulator(emulator_config())) as server:
        with loopback_sync(server.url) as http:
            for _ in range(100):
                created = http.post(
                    f"{V1}/2d-digital-human-videos", json=VIDEO_BODY, headers={"X-Auth-Token": "alice-token"}
                )
                assert created.status_code == 200, created.text
        yield server


@pytest.fixture
async def paged(hundred_jobs: LoopbackServer) -> AsyncIterator[GatewayClient]:
    async with gateway_client(hundred_jobs.url, allowed_origins=(ORIGIN,)) as client:
        yield client


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("*", "br"),
        ("*;q=0.5, gzip;q=0", "br"),
    ],
)
async def test_a_page_of_jobs_comes_compressed_and_decompresses_to_the_same_json(
    paged: GatewayClient, accept_encoding: str, coding: str
) -> None:
    gateway = paged
    plain, identity = await raw(gateway.http, "POST", "identity", **page_request())
    response, body = await raw(gateway.http, "POST", accept_encoding, **page_request())
    assert len(json.loads(identity)["data"]["videoJobs"]["edges"]) == 100
    assert "content-encoding" not in plain.headers
    assert response.headers["content-encoding"] == coding
    assert int(response.headers["content-length"]) == len(body) < len(identity) / 4
    assert "accept-encoding" in listed(response.headers["vary"])
    decoded = gzip.decompress(body) if coding == "gzip" else brotli.decompress(body)
    assert decoded == identity


@pytest.mark.parametrize(
    "accept_encoding", ["identity", "", "deflate", "br;q=0, gzip;q=0", "gzip;q=0.5, identity"]
)
async def test_a_page_of_jobs_comes_plain_when_the_client_takes_no_offered_coding(
    paged: GatewayClient, accept_encoding: str
) -> None:
    gateway = paged
    response, body = await raw(gateway.http, "POST", accept_encoding, **page_request())
    assert "content-encoding" not in response.headers
    assert "accept-encoding" in listed(response.headers["vary"])
    assert len(json.loads(body)["data"]["videoJobs"]["edges"]) == 100


async def test_a_small_answer_comes_plain(gateway: GatewayClient) -> None:
    response, body = await raw(
        gateway.http, "POST", "gzip, br", json={"query": COUNT}, headers={"X-Auth-Token": "alice-token"}
    )
    assert "content-encoding" not in response.headers
    assert json.loads(body) == {"data": {"videoJobs": {"totalCount": 0}}}


async def test_compression_follows_its_settings(emulator: LoopbackServer) -> None:
    async with gateway_client(emulator.url, compression=("gzip",), compression_min_bytes=10) as gateway:
        small, body = await raw(
            gateway.http, "POST", "br, gzip", json={"query": COUNT}, headers={"X-Auth-Token": "alice-token"}
        )
        assert small.headers["content-encoding"] == "gzip"
        assert json.loads(gzip.decompress(body)) == {"data": {"videoJobs": {"totalCount": 0}}}
    async with gateway_client(emulator.url, compression=()) as gateway:
        await gateway.create_videos(100)
        response, _ = await raw(gateway.http, "POST", "br, gzip", **page_request())
        assert "content-encoding" not in response.headers


def test_compression_settings_are_read_and_checked() -> None:
    defaults = Settings.from_env({})
    assert (defaults.compression, defaults.compression_min_bytes) == (("br", "gzip"), 1024)
    chosen = Settings.from_env({"GATEWAY_COMPRESSION": "GZIP, br", "GATEWAY_COMPRESSION_MIN_BYTES": "2048"})
    assert (chosen.compression, chosen.compression_min_bytes) == (("gzip", "br"), 2048)
    assert Settings.from_env({"GATEWAY_COMPRESSION": "off"}).compression == ()
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"GATEWAY_COMPRESSION": "zstd", "GATEWAY_COMPRESSION_MIN_BYTES": "0"})
    assert [problem.split(":")[0] for problem in refused.value.problems] == [
        "GATEWAY_COMPRESSION",
        "GATEWAY_COMPRESSION_MIN_BYTES",
    ]


async def sse_first_then_rest(live: LiveGateway, job_id: str, accept_encoding: str) -> list[str]:
    """The states of a graphql-sse stream: the job is moved on only once the first event has arrived, so
    that event cannot have waited for the stream's end."""
    states: list[str] = []
    event = ""
    headers = {
        "Accept": "text/event-stream",
        "X-Auth-Token": "alice-token",
        "Accept-Encoding": accept_encoding,
    }
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream(
            "POST", "/graphql", json={"query": VIDEO, "variables": {"jobId": job_id}}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
                if event == "complete":
                    break
            elif line.startswith("data:") and event == "next":
                states.append(json.loads(line.partition(":")[2])["data"]["videoJobStateChanged"]["state"])
                if len(states) == 1:
                    await live.client.set_state(job_id, "SUCCEED")
    return states


async def test_an_sse_stream_is_never_compressed_and_streams(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    assert await sse_first_then_rest(live, job_id, "gzip, br") == ["WAITING", "SUCCEED"]


async def test_a_multipart_stream_is_never_compressed_and_streams(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    headers = {"Accept": ACCEPT_MULTIPART, "X-Auth-Token": "alice-token", "Accept-Encoding": "gzip, br"}
    received = b""
    moved = False
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream(
            "POST", "/graphql", json={"query": VIDEO, "variables": {"jobId": job_id}}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/mixed")
        assert "content-encoding" not in response.headers
        async for chunk in response.aiter_raw():
            received += chunk
            if not moved and b'"WAITING"' in received:
                moved = True
                await live.client.set_state(job_id, "SUCCEED")
    assert moved
    assert received.index(b'"WAITING"') < received.index(b'"SUCCEED"')
    assert received.rstrip().endswith(b"--graphql--")
