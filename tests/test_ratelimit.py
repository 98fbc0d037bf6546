"""Per-caller rate limits and MetaStudio's own 429s, as a client of the gateway sees them."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import websockets

from gateway.app import create_app
from gateway.emulator import create_app as create_emulator
from gateway.settings import Settings
from tests.schema.test_video_mutations import VIDEO_INPUT
from tests.support.clock import ManualTime
from tests.support.gateway import PROJECT, GatewayClient, emulator_config, gateway_client
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer, free_port, serve

LIST = "{ videoJobs(first: 1) { edges { node { jobId } } } }"
CREATE = """
mutation ($input: CreateVideoJobInput!) {
  createVideoJob(input: $input) { job { jobId } userErrors { code } }
}
"""
SUBSCRIBE = "subscription ($jobId: String!) { videoJobStateChanged(jobId: $jobId) { state } }"
# So slow that no token comes back during a test: a bucket holds only its burst.
NO_REFILL = 0.001


def caller_tokens() -> tuple[str, str]:
    """Tokens no other test (nor another run on the same Redis) uses, so buckets never collide."""
    run = uuid.uuid4().hex[:12]
    return f"alice-{run}", f"bob-{run}"


@pytest.fixture
def tokens() -> tuple[str, str]:
    return caller_tokens()


@pytest.fixture
def emulator(tokens: tuple[str, str]) -> Iterator[LoopbackServer]:
    with serve(create_emulator(emulator_config(tokens=tokens))) as server:
        yield server


async def list_jobs(gateway: GatewayClient, token: str) -> httpx.Response:
    return await gateway.post({"query": LIST}, token)


def assert_rate_limited(response: httpx.Response, name: str) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    body: dict[str, Any] = response.json()
    assert body.get("data") is None
    errors: list[dict[str, Any]] = body["errors"]
    [error] = errors
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["limit"]["name"] == name
    return error


async def test_a_caller_over_its_limit_gets_429_with_retry_after_and_no_upstream_call(
    emulator: LoopbackServer, tokens: tuple[str, str]
) -> None:
    alice, _ = tokens
    async with gateway_client(emulator.url, rate_limit_per_second=NO_REFILL, rate_limit_burst=2) as gateway:
        for _ in range(2):
            assert (await list_jobs(gateway, alice)).status_code == 200
        await gateway.reset_calls()

        refused = await list_jobs(gateway, alice)

        error = assert_rate_limited(refused, "requests")
        assert error["extensions"]["limit"]["burst"] == 2
        assert await gateway.calls() == []
        metrics = (await gateway.http.get("/metrics")).text
        assert 'metastudio_gateway_rate_limited_total{reason="request_rate"} 1.0' in metrics


async def test_one_callers_limit_leaves_other_callers_and_health_checks_alone(
    emulator: LoopbackServer, tokens: tuple[str, str]
) -> None:
    alice, bob = tokens
    async with gateway_client(emulator.url, rate_limit_per_second=NO_REFILL, rate_limit_burst=1) as gateway:
        assert (await list_jobs(gateway, alice)).status_code == 200
        assert_rate_limited(await list_jobs(gateway, alice), "requests")

        assert (await list_jobs(gateway, bob)).status_code == 200
        assert (await gateway.http.get("/healthz")).status_code == 200
        assert (await gateway.http.get("/readyz")).status_code == 200


async def test_a_bucket_refills_over_time(emulator: LoopbackServer, tokens: tuple[str, str]) -> None:
    alice, _ = tokens
    # A token each eighth of a second: times a float holds exactly.
    async with gateway_client(emulator.url, rate_limit_per_second=8.0, rate_limit_burst=1) as gateway:
        assert gateway.app is not None
        clock = ManualTime()
        gateway.app.state.rate_limiter.clock = clock
        assert (await list_jobs(gateway, alice)).status_code == 200
        assert_rate_limited(await list_jobs(gateway, alice), "requests")

        # Half a token's worth of time: still none.
        clock.advance(0.0625)
        assert_rate_limited(await list_jobs(gateway, alice), "requests")

        # A token's worth: one is back, and one only.
        clock.advance(0.0625)
        assert (await list_jobs(gateway, alice)).status_code == 200
        assert_rate_limited(await list_jobs(gateway, alice), "requests")


async def test_replicas_on_one_redis_enforce_one_limit(
    emulator: LoopbackServer, tokens: tuple[str, str]
) -> None:
    alice, bob = tokens
    limits: dict[str, Any] = {
        "redis_url": REDIS_URL,
        "rate_limit_per_second": NO_REFILL,
        "rate_limit_burst": 2,
    }
    async with (
        gateway_client(emulator.url, **limits) as first,
        gateway_client(emulator.url, **limits) as second,
    ):
        assert (await list_jobs(first, alice)).status_code == 200
        assert (await list_jobs(second, alice)).status_code == 200
        await first.reset_calls()

        assert_rate_limited(await list_jobs(first, alice), "requests")
        assert_rate_limited(await list_jobs(second, alice), "requests")
        assert await first.calls() == []
        assert (await list_jobs(second, bob)).status_code == 200


async def test_creates_have_a_stricter_limit_of_their_own(
    emulator: LoopbackServer, tokens: tuple[str, str]
) -> None:
    alice, _ = tokens
    async with gateway_client(
        emulator.url, create_rate_limit_per_second=NO_REFILL, create_rate_limit_burst=1
    ) as gateway:
        created = await gateway.post({"query": CREATE, "variables": {"input": VIDEO_INPUT}}, alice)
        assert created.status_code == 200, created.text
        assert created.json()["data"]["createVideoJob"]["job"]["jobId"]
        await gateway.reset_calls()

        refused = await gateway.post({"query": CREATE, "variables": {"input": VIDEO_INPUT}}, alice)

        assert_rate_limited(refused, "creates")
        assert await gateway.calls() == []
        # Reads are held to the general limit only.
        assert (await list_jobs(gateway, alice)).status_code == 200


async def test_a_websocket_subscribe_over_the_limit_gets_a_rate_limited_error(
    emulator: LoopbackServer, tokens: tuple[str, str]
) -> None:
    alice, _ = tokens
    settings = Settings(
        endpoint=emulator.url,
        project_id=PROJECT,
        auth_mode="token",
        max_retries=0,
        rate_limit_per_second=NO_REFILL,
        rate_limit_burst=1,
    )
    with serve(create_app(settings)) as server:
        url = server.url.replace("http://", "ws://", 1) + "/graphql"
        async with websockets.connect(
            url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(
                orjson.dumps({"type": "connection_init", "payload": {"X-Auth-Token": alice}}).decode()
            )
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
            for operation in ("1", "2"):
                subscribe = {"query": SUBSCRIBE, "variables": {"jobId": "no-such-job"}}
                message = {"id": operation, "type": "subscribe", "payload": subscribe}
                await ws.send(orjson.dumps(message).decode())
            async with asyncio.timeout(5):
                while True:
                    answer = orjson.loads(await ws.recv())
                    if answer.get("id") == "2":
                        break

    assert answer["type"] == "error"
    [error] = answer["payload"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["limit"]["name"] == "requests"


async def test_an_upstream_429_holds_back_that_callers_next_calls_without_sending_them(
    emulator: LoopbackServer, tokens: tuple[str, str]
) -> None:
    alice, bob = tokens
    async with gateway_client(emulator.url) as gateway:
        fault = {
            "method": "GET",
            "path": "/digital-human-videos$",
            "status": 429,
            "retry_after": "30",
            "times": 1,
        }
        assert (await gateway.emulator.post("/_emulator/faults", json=fault)).status_code == 200
        first = await list_jobs(gateway, alice)
        assert first.status_code == 200
        assert first.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        await gateway.reset_calls()

        again = await list_jobs(gateway, alice)

        assert again.status_code == 200
        [error] = again.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert "retry in 30 s" in error["message"]
        assert await gateway.calls() == []
        # Another principal is not held back by alice's 429.
        other = await list_jobs(gateway, bob)
        assert other.status_code == 200
        assert "errors" not in other.json(), other.text
        assert len(await gateway.calls()) == 1


async def test_after_an_upstream_429_without_retry_after_the_next_call_waits_briefly_and_goes_through(
    emulator: LoopbackServer, tokens: tuple[str, str]
) -> None:
    alice, _ = tokens
    async with gateway_client(emulator.url) as gateway:
        fault = {"method": "GET", "path": "/digital-human-videos$", "status": 429, "times": 1}
        assert (await gateway.emulator.post("/_emulator/faults", json=fault)).status_code == 200
        first = await list_jobs(gateway, alice)
        assert first.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        await gateway.reset_calls()

        again = await list_jobs(gateway, alice)

        assert again.status_code == 200
        assert "errors" not in again.json(), again.text
        assert [call["status"] for call in await gateway.calls()] == [200]


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of this test's own, so that the test can stop it under a running gateway."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout == b"PONG\n":
            break
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", server
    finally:
        server.kill()
        server.wait()


async def test_without_redis_requests_go_through_unlimited_and_one_warning_says_so(
    emulator: LoopbackServer,
    tokens: tuple[str, str],
    own_redis: tuple[str, subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice, _ = tokens
    redis_url, server = own_redis
    limits: dict[str, Any] = {
        "redis_url": redis_url,
        "rate_limit_per_second": NO_REFILL,
        "rate_limit_burst": 1,
    }
    async with gateway_client(emulator.url, **limits) as gateway:
        assert (await list_jobs(gateway, alice)).status_code == 200
        assert_rate_limited(await list_jobs(gateway, alice), "requests")
        server.kill()
        server.wait()

        with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
            answers = [await list_jobs(gateway, alice) for _ in range(3)]

        assert [answer.status_code for answer in answers] == [200, 200, 200]
        assert all("errors" not in answer.json() for answer in answers), answers[0].text
        warnings = [r.getMessage() for r in caplog.records if r.name == "gateway.ratelimit"]
        assert len(warnings) == 1, warnings
        assert "rate limits are not enforced" in warnings[0]
