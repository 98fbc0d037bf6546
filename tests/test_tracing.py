"""OpenTelemetry tracing: a span per GraphQL operation over a span per upstream call, in-process."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway.app import create_app
from gateway.settings import Settings
from schema.relay import encode_global_id
from tests.support.gateway import AK, PROJECT, SK, GatewayClient
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, serve
from tests.test_upstream_retries import VIDEO_INPUT

QUERIES = Path(__file__).resolve().parents[1] / "queries"
JOBS_BY_ID = (QUERIES / "jobs_by_id.graphql").read_text(encoding="utf-8")
CREATE_VIDEO = (QUERIES / "create_video_job.graphql").read_text(encoding="utf-8")
VIDEO_DETAIL = (QUERIES / "video_job_detail.graphql").read_text(encoding="utf-8")
VIDEO_LIST = (QUERIES / "video_job_list.graphql").read_text(encoding="utf-8")
VIDEO_STATE_CHANGED = (QUERIES / "video_job_state_changed.graphql").read_text(encoding="utf-8")

CLIENT_TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CLIENT_SPAN_ID = 0x00F067AA0BA902B7
CLIENT_TRACEPARENT = f"00-{CLIENT_TRACE_ID:032x}-{CLIENT_SPAN_ID:016x}-01"
ALICE = {"X-Auth-Token": "alice-token"}
COLLECTOR_KEY = "collector-key-that-must-never-be-logged"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    # A provider of the test's own, never the global one: nothing leaks into other tests.
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def gateway_settings(emulator_url: str, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "endpoint": emulator_url,
        "project_id": PROJECT,
        "auth_mode": "token",
        "max_retries": 0,
    }
    fields.update(overrides)
    return Settings(**fields)


@contextlib.asynccontextmanager
async def traced_gateway(
    emulator_url: str, provider: TracerProvider, **settings: Any
) -> AsyncIterator[GatewayClient]:
    app = create_app(gateway_settings(emulator_url, **settings), tracer_provider=provider)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
        loopback(emulator_url) as emulator,
    ):
        yield GatewayClient(http, emulator)


@pytest.fixture
async def gateway(emulator: LoopbackServer, provider: TracerProvider) -> AsyncIterator[GatewayClient]:
    async with traced_gateway(emulator.url, provider) as client:
        yield client


def of_kind(spans: Sequence[ReadableSpan], kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is kind]


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def traceparent_of(span: ReadableSpan) -> str:
    context = span.context
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def only_server_span(spans: Sequence[ReadableSpan]) -> ReadableSpan:
    [server] = of_kind(spans, SpanKind.SERVER)
    return server


async def fault(gateway: GatewayClient, **spec: Any) -> None:
    response = await gateway.emulator.post("/_emulator/faults", json=spec)
    assert response.status_code == 200, response.text


# In-process, spans kept in memory


async def test_a_batched_query_is_one_operation_span_over_a_span_per_upstream_operation(
    emulator: LoopbackServer, gateway: GatewayClient, exporter: InMemorySpanExporter
) -> None:
    videos = [await gateway.create_video(), await gateway.create_photo_video()]
    training = [await gateway.create_training(), await gateway.create_training()]
    picture = await gateway.create_picture()
    ids = [encode_global_id("VideoJob", v) for v in videos]
    ids += [encode_global_id("TrainingJob", t) for t in training]
    ids += [encode_global_id("PictureModelingJob", picture)]
    await gateway.reset_calls()
    exporter.clear()

    response = await gateway.post({"query": JOBS_BY_ID, "variables": {"ids": ids}})

    assert response.status_code == 200
    assert "errors" not in response.json()
    spans = exporter.get_finished_spans()
    server = only_server_span(spans)
    assert server.name == "query JobsById"
    assert server.parent is None
    assert server.attributes is not None
    assert server.attributes["graphql.operation.type"] == "query"
    assert server.attributes["graphql.operation.name"] == "JobsById"
    assert server.attributes["gateway.request_id"] == response.headers["X-Request-Id"]
    assert server.attributes["gateway.outcome"] == "ok"
    assert server.attributes["gateway.graphql.errors"] == 0
    assert server.attributes["gateway.transport"] == "http"
    assert server.status.status_code is StatusCode.UNSET
    # Never the variables: only the upstream URLs (CLIENT spans) name a job.
    job_ids = [*videos, *training, picture, *ids]
    for span in of_kind(spans, SpanKind.SERVER) + of_kind(spans, SpanKind.INTERNAL):
        for value in (span.attributes or {}).values():
            assert not any(job_id in str(value) for job_id in job_ids), (span.name, value)

    # The two videos share one batched list call; training and picture jobs have a show call each.
    operations = children(spans, server)
    assert sorted(span.name for span in operations) == [
        "metastudio ListDigitalHumanVideo",
        "metastudio Show2dModelTrainingJob",
        "metastudio Show2dModelTrainingJob",
        "metastudio ShowPictureModelingJob",
    ]
    assert all(span.kind is SpanKind.INTERNAL for span in operations)
    assert {span.context.trace_id for span in spans} == {server.context.trace_id}

    calls = {call["request_id"]: call for call in await gateway.calls()}
    assert len(calls) == 4
    for operation in operations:
        [attempt] = children(spans, operation)
        assert attempt.kind is SpanKind.CLIENT
        assert attempt.name == "GET"
        attributes = attempt.attributes or {}
        assert attributes["http.request.method"] == "GET"
        assert attributes["http.response.status_code"] == 200
        assert attributes["server.address"] == "127.0.0.1"
        assert attributes["metastudio.operation"] == operation.name.removeprefix("metastudio ")
        assert "http.request.resend_count" not in attributes
        url = str(attributes["url.full"])
        assert url.startswith(f"{emulator.url}/v1/{PROJECT}/")
        assert "?" not in url
        # The upstream saw this very attempt's span as its parent.
        call = calls[str(attributes["metastudio.request_id"])]
        assert call["traceparent"] == traceparent_of(attempt)
        assert url.endswith(call["path"])


async def test_a_client_trace_context_is_continued_down_to_the_upstream(
    gateway: GatewayClient, exporter: InMemorySpanExporter
) -> None:
    job_id = await gateway.create_video()
    await gateway.reset_calls()
    exporter.clear()

    body = await gateway.query(
        VIDEO_DETAIL, {"jobId": job_id}, traceparent=CLIENT_TRACEPARENT, tracestate="studio=7f3a"
    )

    assert "errors" not in body
    spans = exporter.get_finished_spans()
    server = only_server_span(spans)
    assert server.parent is not None and server.parent.is_remote
    assert server.parent.span_id == CLIENT_SPAN_ID
    assert {span.context.trace_id for span in spans} == {CLIENT_TRACE_ID}
    attempts = of_kind(spans, SpanKind.CLIENT)
    assert len(attempts) == 2  # the kind from the batched list, then that kind's show call
    for attempt in attempts:
        assert attempt.context.trace_state.get("studio") == "7f3a"
    sent = {call["traceparent"] for call in await gateway.calls()}
    assert sent == {traceparent_of(attempt) for attempt in attempts}
    assert all(parent.startswith(f"00-{CLIENT_TRACE_ID:032x}-") for parent in sent)


async def test_a_mutation_traces_its_create_and_the_read_after_it(
    gateway: GatewayClient, exporter: InMemorySpanExporter
) -> None:
    body = await gateway.query(CREATE_VIDEO, {"input": VIDEO_INPUT})

    assert body["data"]["createVideoJob"]["userErrors"] == []
    spans = exporter.get_finished_spans()
    server = only_server_span(spans)
    assert server.name == "mutation CreateVideoJob"
    assert (server.attributes or {})["graphql.operation.type"] == "mutation"
    operations = children(spans, server)
    first = min(operations, key=lambda span: span.start_time or 0)
    assert first.name == "metastudio Create2DDigitalHumanVideo"
    create = next(span for span in operations if span.name == "metastudio Create2DDigitalHumanVideo")
    [attempt] = children(spans, create)
    assert (attempt.attributes or {})["http.request.method"] == "POST"
    assert attempt.name == "POST"
    assert len(operations) == len(await gateway.calls()) == 2


async def test_an_upstream_error_marks_the_attempts_the_operation_and_the_request(
    emulator: LoopbackServer, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async with traced_gateway(emulator.url, provider, max_retries=1) as gateway:
        job_id = await gateway.create_video()
        await fault(gateway, method="GET", path="/digital-human-videos$", status=500, error_code="MSS.1")
        exporter.clear()

        body = await gateway.query(f'{{ videoJob(jobId: "{job_id}") {{ jobId state }} }}')

    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR"
    spans = exporter.get_finished_spans()
    server = only_server_span(spans)
    assert server.status.status_code is StatusCode.ERROR
    attributes = server.attributes or {}
    assert attributes["gateway.outcome"] == "upstream_error"
    assert attributes["gateway.graphql.errors"] == 1
    assert attributes["gateway.graphql.error_codes"] == ("UPSTREAM_ERROR",)
    [operation] = children(spans, server)
    assert operation.name == "metastudio ListDigitalHumanVideo"
    assert operation.status.status_code is StatusCode.ERROR
    assert [event.name for event in operation.events] == ["exception"]
    # The first attempt and the one retry, each marked with the status it got.
    attempts = sorted(children(spans, operation), key=lambda span: span.start_time or 0)
    assert [(a.attributes or {}).get("http.request.resend_count") for a in attempts] == [None, 1]
    for attempt in attempts:
        assert attempt.status.status_code is StatusCode.ERROR
        assert (attempt.attributes or {})["http.response.status_code"] == 500
        assert (attempt.attributes or {})["error.type"] == "500"


async def test_an_upstream_timeout_marks_the_attempt_with_its_kind(
    emulator: LoopbackServer, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async with traced_gateway(emulator.url, provider, read_timeout=0.2) as gateway:
        job_id = await gateway.create_video()
        await fault(gateway, method="GET", path="/digital-human-videos$", status=200, delay=1.0)
        exporter.clear()

        body = await gateway.query(f'{{ videoJob(jobId: "{job_id}") {{ jobId state }} }}')

    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    spans = exporter.get_finished_spans()
    [attempt] = of_kind(spans, SpanKind.CLIENT)
    assert attempt.status.status_code is StatusCode.ERROR
    assert (attempt.attributes or {})["error.type"] == "ReadTimeout"
    assert "http.response.status_code" not in (attempt.attributes or {})
    [operation] = of_kind(spans, SpanKind.INTERNAL)
    assert operation.status.status_code is StatusCode.ERROR
    assert "UpstreamTimeout" in (operation.status.description or "")
    assert only_server_span(spans).status.status_code is StatusCode.ERROR


async def test_an_invalid_document_is_a_client_error_span_with_nothing_below(
    gateway: GatewayClient, exporter: InMemorySpanExporter
) -> None:
    body = await gateway.query("query Broken { videoJobs { nope } }")

    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    [server] = exporter.get_finished_spans()
    assert server.name == "query Broken"
    attributes = server.attributes or {}
    assert attributes["gateway.outcome"] == "client_error"
    assert attributes["gateway.graphql.error_codes"] == ("GRAPHQL_VALIDATION_FAILED",)
    # The caller's mistake, not the gateway's.
    assert server.status.status_code is StatusCode.UNSET


async def test_a_subscription_over_server_sent_events_has_its_span(
    gateway: GatewayClient, exporter: InMemorySpanExporter
) -> None:
    job_id = await gateway.create_video()
    await gateway.set_state(job_id, "SUCCEED")
    exporter.clear()

    response = await gateway.http.post(
        "/graphql",
        json={"query": VIDEO_STATE_CHANGED, "variables": {"jobId": job_id}},
        headers={"Accept": "text/event-stream", **ALICE},
    )

    assert response.status_code == 200
    assert "SUCCEED" in response.text
    spans = exporter.get_finished_spans()
    server = only_server_span(spans)
    assert server.name == "subscription VideoJobStateChanged"
    assert (server.attributes or {})["gateway.outcome"] == "ok"
    assert [span.name for span in children(spans, server)] == ["metastudio ListDigitalHumanVideo"]


async def test_a_signed_request_carrying_trace_context_still_verifies(
    emulator: LoopbackServer, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async with traced_gateway(emulator.url, provider, auth_mode="aksk", ak=AK, sk=SK) as gateway:
        await gateway.reset_calls()

        body = await gateway.query(VIDEO_LIST, None, None, **{"X-App-UserId": "carol"})
        calls = await gateway.calls()

    assert "errors" not in body
    # The emulator checks SDK-HMAC-SHA256 as MetaStudio does: the trace context, added after signing,
    # is outside SignedHeaders and leaves the signature valid.
    [call] = calls
    assert call["status"] == 200
    assert call["principal"] == f"ak:{AK}/user:carol"
    [attempt] = of_kind(exporter.get_finished_spans(), SpanKind.CLIENT)
    assert call["traceparent"] == traceparent_of(attempt)


async def test_a_subscription_span_ends_at_its_first_event_and_later_events_trace_on_their_own(
    emulator: LoopbackServer, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    settings = gateway_settings(emulator.url, poll_interval=0.1, fast_poll_interval=0.1)
    app = create_app(settings, tracer_provider=provider)
    with serve(app) as server:
        async with loopback(emulator.url) as admin:
            gateway = GatewayClient(admin, admin)
            job_id = await gateway.create_video()
            exporter.clear()
            async with websockets.connect(
                server.url.replace("http://", "ws://", 1) + "/graphql",
                subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
                additional_headers={"traceparent": CLIENT_TRACEPARENT},
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": ALICE}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                subscribe = {"query": VIDEO_STATE_CHANGED, "variables": {"jobId": job_id}}
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert first["payload"]["data"]["videoJobStateChanged"]["state"] == "WAITING"

                # Still subscribed, and its span already exported, with the first read below it.
                spans = exporter.get_finished_spans()
                subscription = only_server_span(spans)
                assert subscription.name == "subscription VideoJobStateChanged"
                assert (subscription.attributes or {})["gateway.transport"] == "websocket"
                assert subscription.context.trace_id == CLIENT_TRACE_ID
                assert [span.name for span in children(spans, subscription)] == [
                    "metastudio ListDigitalHumanVideo"
                ]
                exporter.clear()

                await gateway.set_state(job_id, "SUCCEED")
                second = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert second["payload"]["data"]["videoJobStateChanged"]["state"] == "SUCCEED"
                assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"id": "1", "type": "complete"}

    later = exporter.get_finished_spans()
    assert of_kind(later, SpanKind.SERVER) == []
    # The hub's polls and the event's read: each a trace of its own, not part of the client's.
    roots = [span for span in later if span.parent is None]
    assert roots and all(span.name.startswith("metastudio ") for span in roots)
    assert all(span.context.trace_id != CLIENT_TRACE_ID for span in later)


async def test_a_query_over_a_websocket_is_one_operation_span(
    emulator: LoopbackServer, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    app = create_app(gateway_settings(emulator.url), tracer_provider=provider)
    with serve(app) as server:
        async with websockets.connect(
            server.url.replace("http://", "ws://", 1) + "/graphql",
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": ALICE}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": VIDEO_LIST}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "next"
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "complete"

    spans = exporter.get_finished_spans()
    server_span = only_server_span(spans)
    assert server_span.name == "query VideoJobList"
    assert server_span.parent is None
    [operation] = children(spans, server_span)
    assert operation.name == "metastudio ListDigitalHumanVideo"
    assert len(children(spans, operation)) == 1
