"""The gateway's own CPU per request: `python -m bench.cpu [--only OP | --profile OP] [--json]`.

The operations of the latency table run one after another through the whole ASGI app (middleware,
Strawberry's view, the schema, the loaders, the upstream client) in this one process, while the
upstream's answers come from a recording made against the emulator first. Nothing else shares the
time measured, so the milliseconds are what the gateway itself spends on a request: the number that
caps its throughput when it, not the upstream, is the bottleneck.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from bench import latency, startup
from gateway.app import create_app
from gateway.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

ROUNDS, REQUESTS_PER_ROUND = 7, 200
Message = MutableMapping[str, Any]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class RecordedUpstream(httpx.AsyncBaseTransport):
    """Answers every request from the first answer the emulator gave to the same method and URL;
    records while `live` is set."""

    def __init__(self, live: httpx.AsyncBaseTransport) -> None:
        self.live: httpx.AsyncBaseTransport | None = live
        self.answers: dict[tuple[str, str], Answer] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, str(request.url))
        if key not in self.answers:
            if self.live is None:
                raise RuntimeError(f"no recorded answer for {request.method} {request.url}")
            response = await self.live.handle_async_request(request)
            body = await response.aread()
            await response.aclose()
            self.answers[key] = (response.status_code, response.headers.raw, body)
        status, headers, body = self.answers[key]
        return httpx.Response(status, headers=headers, content=body)


async def post(app: Callable[..., Awaitable[None]], body: bytes) -> bytes:
    """One POST /graphql straight through the ASGI app, as uvicorn would hand it over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json"),
            (b"x-auth-token", startup.TOKEN.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


def dropping_provider() -> TracerProvider:
    """A tracer provider that does all an exporting one does in this process (spans batched on the
    processor's thread and encoded as OTLP) and then drops each batch instead of sending it."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Dropped(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            encode_spans(spans).SerializePartialToString()
            return SpanExportResult.SUCCESS

    provider = SDKTracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    return provider


async def measure(
    profile: str | None, only: str | None = None, rounds: int = ROUNDS, *, tracing: bool = False
) -> dict[str, float]:
    emulator = startup.emulator()
    emulator.wait_ready("/_emulator/calls")
    provider = dropping_provider() if tracing else None
    try:
        ids = await latency.seed(emulator.url)
        settings = Settings.from_env(startup.gateway_env(emulator.url))
        upstream = RecordedUpstream(httpx.AsyncHTTPTransport())
        app = create_app(settings, upstream_transport=upstream, tracer_provider=provider)
        async with app.router.lifespan_context(app):
            bodies = {name: orjson.dumps(payload) for name, payload in latency.payloads(ids).items()}
            for name, body in bodies.items():
                answer = orjson.loads(await post(app, body))
                if "errors" in answer:
                    raise RuntimeError(f"{name}: {answer['errors']}")
            upstream.live = None
            if profile is not None:
                await profiled(app, bodies[profile])
                return {}
            return {
                name: await per_request(app, body, rounds)
                for name, body in bodies.items()
                if only is None or name == only
            }
    finally:
        emulator.stop()
        if provider is not None:
            provider.shutdown()


async def per_request(app: Callable[..., Awaitable[None]], body: bytes, rounds_wanted: int = ROUNDS) -> float:
    """CPU milliseconds per request in the fastest round: other work on the machine only ever adds."""
    for _ in range(REQUESTS_PER_ROUND // 4):
        await post(app, body)
    rounds = []
    for _ in range(rounds_wanted):
        started = time.process_time()
        for _ in range(REQUESTS_PER_ROUND):
            await post(app, body)
        rounds.append((time.process_time() - started) * 1000 / REQUESTS_PER_ROUND)
    return min(rounds)


async def profiled(app: Callable[..., Awaitable[None]], body: bytes) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(REQUESTS_PER_ROUND):
        await post(app, body)
    profiler.disable()
    # BENCH_PROFILE_SORT=cumulative and BENCH_PROFILE_LINES=80 show where each layer's time goes.
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "tottime"))
    stats.print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "30")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--profile", metavar="OPERATION", help="cProfile one operation instead")
    parser.add_argument("--only", metavar="OPERATION", help="measure one operation (to sample with py-spy)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds of {REQUESTS_PER_ROUND} requests")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--tracing", action="store_true", help="trace every request (spans encoded as OTLP, then dropped)"
    )
    args = parser.parse_args(argv)
    import uvloop

    results = uvloop.run(measure(args.profile, args.only, args.rounds, tracing=args.tracing))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(results) + b"\n")
        return 0
    for name, ms in results.items():
        print(f"{name:<22} {ms:6.2f} ms CPU per request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
