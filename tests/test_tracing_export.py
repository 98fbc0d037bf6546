"""Tracing settings and OTLP export: the served gateway's spans reach a collector, or nothing loads."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from gateway import __version__
from gateway.settings import Settings, SettingsError
from tests.support.serving import clean_env, serve_gateway
from tests.test_tracing import COLLECTOR_KEY, VIDEO_LIST

# Settings


def test_tracing_is_off_unless_an_otlp_endpoint_is_set() -> None:
    settings = Settings.from_env({})
    assert settings.otlp_endpoint is None
    assert settings.service_name == "metastudio-gateway"


def test_the_traces_endpoint_wins_over_the_base_one_and_the_service_name_is_read() -> None:
    settings = Settings.from_env(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example.com/v1/traces",
            "OTEL_SERVICE_NAME": "gateway-eu",
        }
    )
    assert settings.otlp_endpoint == "https://traces.example.com/v1/traces"
    assert settings.service_name == "gateway-eu"


def test_an_endpoint_that_is_no_http_url_stops_the_gateway_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317?key=hush"})
    assert raised.value.problems == [
        "OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL with a host (OTLP/HTTP)"
    ]
    assert "hush" not in str(raised.value)


# The real gateway process, exporting to a real OTLP/HTTP receiver


class OTLPReceiver:
    """An OTLP/HTTP trace receiver: POST /v1/traces with a protobuf ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_response(404)
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                received.requests.append(request)
                received.headers.append({name.lower(): value for name, value in self.headers.items()})
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OTLPReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """Every span received, with its resource's attributes."""
        found: list[tuple[dict[str, Any], Any]] = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    found.extend((resource, span) for span in scope_spans.spans)
        return found

    def wait_for(self, count: int, within: float = 15.0) -> list[tuple[dict[str, Any], Any]]:
        deadline = time.monotonic() + within
        while len(self.spans()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.spans()


def exporting_env(receiver: OTLPReceiver, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in clean_env().items() if not k.startswith("OTEL_")}
    return {
        **env,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer {COLLECTOR_KEY}",
        "OTEL_SERVICE_NAME": "gateway-under-test",
        "GATEWAY_LOG_LEVEL": "debug",
        **extra,
    }


def assert_one_traced_query(spans: list[tuple[dict[str, Any], Any]]) -> None:
    by_name = {span.name: (resource, span) for resource, span in spans}
    assert set(by_name) == {"query VideoJobList", "metastudio ListDigitalHumanVideo", "GET"}
    resource, server = by_name["query VideoJobList"]
    assert resource["service.name"] == "gateway-under-test"
    assert resource["service.version"] == __version__
    _, operation = by_name["metastudio ListDigitalHumanVideo"]
    _, attempt = by_name["GET"]
    assert server.parent_span_id == b""
    assert operation.parent_span_id == server.span_id
    assert attempt.parent_span_id == operation.span_id
    assert len({server.trace_id, operation.trace_id, attempt.trace_id}) == 1
    status = {a.key: a.value.int_value for a in attempt.attributes}["http.response.status_code"]
    assert status == 200


def test_the_served_gateway_exports_its_spans_to_the_otlp_endpoint(tmp_path: Path) -> None:
    with OTLPReceiver() as receiver:
        env = exporting_env(receiver, OTEL_BSP_SCHEDULE_DELAY="50")
        served = serve_gateway(tmp_path / "gateway.log", env)
        try:
            response = httpx.post(f"{served.url}/graphql", json={"query": VIDEO_LIST}, timeout=10)
            assert response.status_code == 200 and "errors" not in response.json(), response.text
            # Exported while the gateway runs, within the batch processor's delay.
            spans = receiver.wait_for(3)
        finally:
            served.stop()
        log = served.output()

    assert_one_traced_query(spans)
    assert receiver.headers[0]["authorization"] == f"Bearer {COLLECTOR_KEY}"
    assert "spans of service gateway-under-test go with OTLP over HTTP" in log
    assert COLLECTOR_KEY not in log


def test_spans_still_queued_are_exported_when_the_gateway_stops(tmp_path: Path) -> None:
    with OTLPReceiver() as receiver:
        env = exporting_env(receiver, OTEL_BSP_SCHEDULE_DELAY="600000")
        served = serve_gateway(tmp_path / "gateway.log", env)
        try:
            response = httpx.post(f"{served.url}/graphql", json={"query": VIDEO_LIST}, timeout=10)
            assert response.status_code == 200, response.text
            time.sleep(0.3)
            assert receiver.spans() == []
        finally:
            served.stop()
        assert served.process.returncode == 0, served.output()
        spans = receiver.spans()

    assert_one_traced_query(spans)


LOADED_MODULES = """
import asyncio, json, sys
import httpx
from gateway.app import create_app
from gateway.embedded import start_for
from gateway.settings import Settings

async def main():
    emulator, settings = start_for(Settings.from_env())
    try:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
                response = await http.post("/graphql", json={"query": sys.argv[1]})
                assert response.status_code == 200 and "errors" not in response.json(), response.text
    finally:
        emulator.stop()
    print(json.dumps(sorted(name for name in sys.modules if name.startswith("opentelemetry"))))

asyncio.run(main())
"""


def loaded_opentelemetry(env: dict[str, str]) -> list[str]:
    """The OpenTelemetry modules a process holds once it has built the app and answered a query."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_MODULES, VIDEO_LIST],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def test_without_an_endpoint_nothing_of_opentelemetry_is_loaded() -> None:
    env = {k: v for k, v in clean_env().items() if not k.startswith("OTEL_")}
    assert loaded_opentelemetry(env) == []
    # The same process with an endpoint loads the SDK: the check above can see it.
    with OTLPReceiver() as receiver:
        traced = loaded_opentelemetry({**env, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    assert "opentelemetry.sdk.trace" in traced
