"""/metrics scraped from a real gateway server: its format, and figures that move as clients go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.gateway import gateway_client
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import (
    ALICE,
    TIMEOUT,
    VIDEO,
    WS_PROTOCOLS,
    LiveGateway,
    error_of,
    live_gateway,
    subscribe,
)
from tests.test_http_protocol import sse_events

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

JOB_STATE = "query ($jobId: String!) { videoJob(jobId: $jobId) { jobId state } }"
SSE = {"Accept": "text/event-stream", **ALICE}


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url) as gateway:
        yield gateway


async def scrape(live: LiveGateway) -> Samples:
    response = await live.client.http.get("/metrics")
    assert response.status_code == 200
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def upstream_total(samples: Samples) -> float:
    return sum(v for (name, _), v in samples.items() if name == "metastudio_gateway_upstream_requests_total")


async def wait_for(live: LiveGateway, name: str, expected: float) -> float:
    """The gauge once it reads `expected`, or what it reads at the timeout (unsubscribing is asynchronous)."""
    seen = value(await scrape(live), name)
    async with asyncio.timeout(TIMEOUT):
        while seen != expected:
            await asyncio.sleep(0.02)
            seen = value(await scrape(live), name)
    return seen


async def test_metrics_are_prometheus_text_naming_every_contract_metric(live: LiveGateway) -> None:
    response = await live.client.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family.type for family in text_string_to_metric_families(response.text)}
    assert families == {
        "metastudio_gateway_graphql_requests": "counter",
        "metastudio_gateway_graphql_request_duration_seconds": "histogram",
        "metastudio_gateway_upstream_requests": "counter",
        "metastudio_gateway_upstream_request_duration_seconds": "histogram",
        "metastudio_gateway_subscriptions_active": "gauge",
        "metastudio_gateway_watched_jobs": "gauge",
        "metastudio_gateway_rate_limited": "counter",
        "metastudio_gateway_unauthenticated": "counter",
        "metastudio_gateway_upstream_pool_starved_seconds": "gauge",
        "metastudio_gateway_read_cache_lookups": "counter",
        "metastudio_gateway_read_cache_entries": "gauge",
        "metastudio_gateway_read_cache_bytes": "gauge",
    }


async def test_a_query_counts_once_and_counts_the_upstream_calls_it_made(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    await live.client.reset_calls()
    before = await scrape(live)
    body = await live.client.query(JOB_STATE, {"jobId": job_id})
    assert body["data"]["videoJob"]["jobId"] == job_id
    after = await scrape(live)
    calls = await live.client.calls()

    ok = {"operation_type": "query", "outcome": "ok"}
    requests = "metastudio_gateway_graphql_requests_total"
    assert value(after, requests, **ok) - value(before, requests, **ok) == 1
    assert len(calls) >= 1
    assert upstream_total(after) - upstream_total(before) == len(calls)
    durations = "metastudio_gateway_graphql_request_duration_seconds_count"
    query = {"operation_type": "query"}
    assert value(after, durations, **query) - value(before, durations, **query) == 1
    answered = {
        labels for (name, labels), v in after.items() if name == "metastudio_gateway_upstream_requests_total"
    }
    assert all(dict(labels)["status"] == "200" for labels in answered)


async def test_a_missing_job_counts_as_a_client_error(live: LiveGateway) -> None:
    before = await scrape(live)
    body = await live.client.query('query { trainingJob(jobId: "no-such-job") { state } }')
    assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]
    after = await scrape(live)

    requests = "metastudio_gateway_graphql_requests_total"
    refused = {"operation_type": "query", "outcome": "client_error"}
    assert value(after, requests, **refused) - value(before, requests, **refused) == 1
    ok = {"operation_type": "query", "outcome": "ok"}
    assert value(after, requests, **ok) == value(before, requests, **ok)
    missing = {"operation": "Show2dModelTrainingJob", "status": "404"}
    assert value(after, "metastudio_gateway_upstream_requests_total", **missing) >= 1


async def test_an_open_sse_subscription_is_active_until_the_client_leaves(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    assert value(await scrape(live), "metastudio_gateway_subscriptions_active") == 0
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream(
            "POST", "/graphql", json={"query": VIDEO, "variables": {"jobId": job_id}}, headers=SSE
        ) as response,
    ):
        # Read while the stream is open: leaving the loop lets the client close the response.
        async for name, data in sse_events(response):
            assert name == "next"
            assert data is not None and data["data"]["videoJobStateChanged"]["state"] == "WAITING"
            during = await scrape(live)
            break
    assert value(during, "metastudio_gateway_subscriptions_active") == 1
    assert value(during, "metastudio_gateway_watched_jobs") == 1
    assert await wait_for(live, "metastudio_gateway_subscriptions_active", 0) == 0
    assert await wait_for(live, "metastudio_gateway_watched_jobs", 0) == 0
    subscriptions = {"operation_type": "subscription", "outcome": "ok"}
    assert value(await scrape(live), "metastudio_gateway_graphql_requests_total", **subscriptions) == 1


async def test_a_subscription_past_the_callers_limit_counts_as_rate_limited(emulator: LoopbackServer) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_caller=1) as live:
        first, second = await live.client.create_videos(2)
        before = await scrape(live)
        async with (
            asyncio.timeout(TIMEOUT),
            live.client.http.stream(
                "POST", "/graphql", json={"query": VIDEO, "variables": {"jobId": first}}, headers=SSE
            ) as held,
        ):
            async for name, _ in sse_events(held):
                assert name == "next"
                # The second subscription while the first is still open: leaving the loop ends it.
                async with live.client.http.stream(
                    "POST", "/graphql", json={"query": VIDEO, "variables": {"jobId": second}}, headers=SSE
                ) as refused:
                    events = [data async for _, data in sse_events(refused) if data is not None]
                after = await scrape(live)
                break
        assert [error["extensions"]["code"] for error in events[0]["errors"]] == ["RATE_LIMITED"]

        limited = "metastudio_gateway_rate_limited_total"
        reason = {"reason": "subscriptions_per_caller"}
        assert value(after, limited, **reason) - value(before, limited, **reason) == 1
        requests = "metastudio_gateway_graphql_requests_total"
        outcome = {"operation_type": "subscription", "outcome": "refused"}
        assert value(after, requests, **outcome) - value(before, requests, **outcome) == 1
        assert value(after, "metastudio_gateway_subscriptions_active") == 1


async def test_every_app_counts_only_its_own_requests(emulator: LoopbackServer) -> None:
    async with gateway_client(emulator.url) as one, gateway_client(emulator.url) as other:
        await one.query('query { trainingJob(jobId: "no-such-job") { state } }')
        counted = parse((await one.http.get("/metrics")).text)
        untouched = parse((await other.http.get("/metrics")).text)
    requests = "metastudio_gateway_graphql_requests_total"
    labels = {"operation_type": "query", "outcome": "client_error"}
    assert value(counted, requests, **labels) == 1
    assert value(untouched, requests, **labels) == 0


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_a_websocket_past_its_subscription_limit_counts_as_rate_limited(
    emulator: LoopbackServer, protocol: str
) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_connection=1) as live:
        first, second = await live.client.create_videos(2)
        before = await scrape(live)
        async with live.session(protocol) as session:
            running = subscribe(session, VIDEO, jobId=first)
            async with asyncio.timeout(TIMEOUT):
                await anext(running)
            during = await scrape(live)
            error = await error_of(session, VIDEO, jobId=second)
            after = await scrape(live)
            await running.aclose()  # type: ignore[attr-defined]
    assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 1}
    assert value(during, "metastudio_gateway_subscriptions_active") == 1
    limited = "metastudio_gateway_rate_limited_total"
    reason = {"reason": "subscriptions_per_connection"}
    assert value(after, limited, **reason) - value(before, limited, **reason) == 1


async def test_an_operation_over_the_call_budget_counts_as_rate_limited(emulator: LoopbackServer) -> None:
    async with gateway_client(emulator.url, call_budget=1) as gateway:
        body = await gateway.query(
            'query { a: trainingJob(jobId: "one") { state } b: trainingJob(jobId: "two") { state } }'
        )
        samples = parse((await gateway.http.get("/metrics")).text)
    assert body["errors"][0]["extensions"]["code"] == "OPERATION_LIMIT_EXCEEDED"
    assert value(samples, "metastudio_gateway_rate_limited_total", reason="call_budget") == 1
    refused = {"operation_type": "query", "outcome": "refused"}
    assert value(samples, "metastudio_gateway_graphql_requests_total", **refused) == 1
    assert upstream_total(samples) == 0
