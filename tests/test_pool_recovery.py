"""A slow upstream under a burst of requests never leaves the gateway unable to call it afterwards,
and health and readiness say when upstream calls cannot get a connection."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.emulator import create_app as create_emulator
from gateway.settings import Settings
from tests.support.gateway import PROJECT, emulator_config
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, serve

COUNTS = (Path(__file__).parent.parent / "queries" / "video_job_counts.graphql").read_text()


# Each alias a read of its own, and (below) each request a caller of its own: identical reads in flight
# share one upstream call, which would spare the pool the burst.
def aliases(count: int) -> str:
    return "{" + " ".join(f"a{i}: videoJobs(first: {i + 1}) {{ totalCount }}" for i in range(count)) + "}"


ALIASES_60 = aliases(60)
TOKEN = {"X-Auth-Token": "alice-token"}


def caller(n: int) -> dict[str, str]:
    return {**TOKEN, "X-App-UserId": f"user-{n}"}


@pytest.fixture
def emulator() -> Iterator[LoopbackServer]:
    with serve(create_emulator(emulator_config())) as server:
        yield server


def settings(emulator: LoopbackServer, **overrides: Any) -> Settings:
    # The figures scaled by ten: an upstream answering in 0.35 s, a pool wait of 0.3 s.
    fields: dict[str, Any] = {
        "endpoint": emulator.url,
        "project_id": PROJECT,
        "auth_mode": "token",
        "max_retries": 0,
        "connect_timeout": 0.3,
        "read_timeout": 1.5,
        "total_timeout": 3.0,
        # The reproduction's 60 aliases, over the default GATEWAY_MAX_ALIASES of 30.
        "max_aliases": 60,
    }
    return Settings(**{**fields, **overrides})


async def error_codes(responses: list[httpx.Response]) -> set[str]:
    codes = set()
    for response in responses:
        for error in response.json().get("errors", []):
            codes.add(error["extensions"]["code"])
    return codes


@pytest.mark.parametrize(
    ("document", "clients"), [(COUNTS, 100), (ALIASES_60, 10)], ids=["100 dashboards", "10 x 60 aliases"]
)
async def test_after_a_burst_against_a_slow_upstream_the_next_query_succeeds(
    emulator: LoopbackServer, document: str, clients: int
) -> None:
    # A pool of 20 connections: a few bursts strand all of them where cancellation leaks connections.
    app = create_app(settings(emulator, upstream_max_connections=20))
    with serve(app) as gateway:
        async with (
            loopback(gateway.url, timeout=30) as http,
            loopback(emulator.url) as admin,
        ):
            await admin.put("/_emulator/latency", json={"seconds": 0.35})
            for _ in range(2):
                body = {"query": document}
                burst = await asyncio.gather(
                    *(http.post("/graphql", json=body, headers=caller(n)) for n in range(clients))
                )
                # More than the pool can serve in time: some of it fails, as it should.
                assert "UPSTREAM_TIMEOUT" in await error_codes(list(burst))
            await admin.delete("/_emulator/latency")

            # With the upstream fast again, the next query gets a connection within the pool wait (0.3 s).
            response = await http.post("/graphql", json={"query": COUNTS}, headers=TOKEN)
            assert "errors" not in response.json(), response.text
            assert response.json()["data"]["all"]["totalCount"] == 0
            # And so do as many at once as the pool has connections.
            many = await asyncio.gather(
                *(http.post("/graphql", json={"query": aliases(10)}, headers=caller(n)) for n in range(2))
            )
            assert not await error_codes(list(many))
            ready = await http.get("/readyz")
            assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_health_and_readiness_tell_when_no_upstream_connection_can_be_had(
    emulator: LoopbackServer,
) -> None:
    app = create_app(
        settings(
            emulator, upstream_max_connections=2, total_timeout=4.0, read_timeout=4.0, pool_wedge_seconds=0.5
        )
    )
    slow_query = {"query": "{ videoJobs(first: 1) { totalCount } }"}
    with serve(app) as gateway:
        async with (
            loopback(gateway.url, timeout=30) as http,
            loopback(emulator.url) as admin,
        ):
            await admin.put("/_emulator/latency", json={"seconds": 2.0})
            holders = [
                asyncio.ensure_future(http.post("/graphql", json=slow_query, headers=caller(n)))
                for n in range(2)
            ]
            await asyncio.sleep(0.2)
            refused = await http.post("/graphql", json=slow_query, headers=caller(2))
            assert refused.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_TIMEOUT"

            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert "all 2 connections to MetaStudio are taken" in ready.json()["reason"]
            assert (await http.get("/healthz")).status_code == 200

            # Starved for longer than METASTUDIO_POOL_WEDGE_SECONDS: restarting is what helps now.
            await asyncio.sleep(0.6)
            await http.post("/graphql", json=slow_query, headers=caller(3))
            health = await http.get("/healthz")
            assert health.status_code == 503
            assert health.json()["status"] == "wedged"
            assert "no upstream call has got a connection" in health.json()["reason"]

            await admin.delete("/_emulator/latency")
            await asyncio.gather(*holders)
            # Readiness looks again by itself; no query is needed to see the pool healed.
            for _ in range(50):
                if (await http.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await http.get("/readyz")).json() == {"status": "ready"}
            assert (await http.get("/healthz")).json() == {"status": "ok"}
