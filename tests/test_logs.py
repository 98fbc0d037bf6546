"""JSON logs from `serve`: one object per line, each naming its request, upstream calls and no secret."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from gateway import redaction
from tests.support.http import loopback_sync
from tests.support.serving import clean_env, serve_gateway

TOKEN = "tok-logs-7f1c2e9a5d3b"
CALLBACK_SECRET = "callback-secret-5b8d0e2f4a6c"
APP_USER = "raw-user-alice-4242"
AK = "AKLOGS0123456789ABCD"
SK = "sk-known-secret-value-0123456789"
JWT_SECRET = "jwt-secret-for-the-logs-test-0123456789abcdef"
CALLBACK_TOKEN = "callback-token-in-a-path-9e8d7c"
# In a query string only: the access line logs the path alone, since query strings carry variables.
QUERY_STRING_MARKER = "variables-in-the-query-string-31337"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
# A client's bearer JWT (GATEWAY_CLIENT_AUTH=jwt), naming APP_USER.
BEARER = jwt.encode({"sub": APP_USER, "exp": int(time.time()) + 3600}, JWT_SECRET, algorithm="HS256")

LIST = (
    "query LatestVideos { videoJobs(first: 3, filter: { states: [SUCCEED] }) { edges { node { jobId } } } }"
)
# Lookups by id go through dataloaders, whose batches run in tasks of their own.
LOOKUPS = """query Lookups($a: String!, $b: String!) {
  a: videoJob(jobId: $a) { state }
  b: videoJob(jobId: $b) { state }
  t: trainingJob(jobId: "no-such-job") { state }
}"""
SUBSCRIBE = (
    "subscription FollowVideo($jobId: String!) { videoJobStateChanged(jobId: $jobId) { jobId state } }"
)


@dataclass
class Run:
    """What one `serve` wrote, and what its clients saw."""

    output: str
    responses: dict[str, httpx.Response] = field(default_factory=dict)
    upstream_ids: set[str] = field(default_factory=set)
    job_id: str = ""

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.output.splitlines()]

    def of(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["request_id"] == request_id]

    def access(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.of(request_id) if line["logger"] == "gateway.access"]


Requests = Callable[[httpx.Client, Path, Run], None]


def served_run(log: Path, env: dict[str, str], requests: Requests) -> Run:
    """Start `serve`, send `requests` through a client of it, stop it, and keep what it wrote."""
    served = serve_gateway(log, env)
    run = Run("")
    try:
        with loopback_sync(served.url, timeout=30) as http:
            requests(http, log, run)
    finally:
        served.stop()
    run.output = served.output()
    return run


def json_requests(http: httpx.Client, log: Path, run: Run) -> None:
    token = {"X-Auth-Token": TOKEN}
    run.responses["listed"] = http.post(
        "/graphql", json={"query": LIST}, headers={**token, "X-Request-Id": "client-1"}
    )
    run.responses["as user"] = http.post(
        "/graphql",
        json={"query": LIST},
        headers={**token, "X-App-UserId": APP_USER, "X-Request-Id": "not a good id"},
    )
    run.responses["bad request"] = http.post(
        f"/graphql?variables={QUERY_STRING_MARKER}",
        content=b"not json",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    run.responses["callback"] = http.post(f"/callbacks/{CALLBACK_TOKEN}", json={"state": "SUCCEED"})
    jobs = [edge["node"]["jobId"] for edge in run.responses["listed"].json()["data"]["videoJobs"]["edges"]]
    run.job_id = jobs[0]
    run.responses["lookups"] = http.post(
        "/graphql",
        json={"query": LOOKUPS, "variables": {"a": jobs[1], "b": jobs[2]}},
        headers={**token, "X-Request-Id": "client-2"},
    )
    asyncio.run(follow_a_job(str(http.base_url).rstrip("/"), run.job_id))
    # The embedded emulator's call log (its URL is in the start-up lines) names the X-Request-Id it
    # answered each call with.
    admin = next(
        line["message"].split()[-1]
        for line in map(json.loads, log.read_text().splitlines())
        if line["message"].startswith("Admin:")
    )
    run.upstream_ids = {call["request_id"] for call in httpx.get(admin, timeout=10).json()["calls"]}


async def follow_a_job(url: str, job_id: str) -> None:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(
        ws_url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        additional_headers={"X-Request-Id": "ws-conn-1", "X-Auth-Token": TOKEN},
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"X-Auth-Token": TOKEN}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        payload = {"query": SUBSCRIBE, "operationName": "FollowVideo", "variables": {"jobId": job_id}}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        received = [json.loads(await socket.recv()) for _ in range(2)]
        assert [message["type"] for message in received] == ["next", "complete"]
    # A page on another origin may not open one.
    with pytest.raises(InvalidStatus):
        async with connect(
            ws_url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            additional_headers={"X-Request-Id": "ws-refused", "Origin": "https://elsewhere.example"},
        ):
            pass
    await asyncio.sleep(0.3)  # the gateway's close lines


@pytest.fixture(scope="module")
def json_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    env = clean_env(
        GATEWAY_LOG_FORMAT="json",
        GATEWAY_LOG_LEVEL="debug",
        METASTUDIO_AUTH_MODE="token",
        METASTUDIO_EMULATOR_TOKENS=TOKEN,
        METASTUDIO_EMULATOR_ADMIN="true",
        GATEWAY_CALLBACK_SECRET=CALLBACK_SECRET,
        # No poll of the followed job during the test: every upstream call then belongs to a request.
        GATEWAY_POLL_INTERVAL="600",
    )
    return served_run(tmp_path_factory.mktemp("json") / "gateway.log", env, json_requests)


def test_every_line_is_one_json_object_uvicorn_and_the_banner_included(json_run: Run) -> None:
    lines = json_run.lines()
    assert all({"time", "level", "logger", "message", "request_id"} <= line.keys() for line in lines)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]) for line in lines)
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", "gateway", "gateway.access", "gateway.upstream", "gateway.emulator"} <= loggers
    assert any(line["message"].startswith("Uvicorn running on") for line in lines)
    assert any(line["message"].startswith("metastudio-gateway ") for line in lines)
    assert any(line["message"].startswith("Finished server process") for line in lines)


def test_the_access_line_names_the_request_id_the_response_carries(json_run: Run) -> None:
    for name, response in json_run.responses.items():
        request_id = response.headers["x-request-id"]
        [access] = json_run.access(request_id)
        assert access["status"] == response.status_code, name
        assert access["method"] == "POST"
        assert access["duration_ms"] >= 0


def test_a_clients_well_formed_id_is_kept_and_a_malformed_one_replaced(json_run: Run) -> None:
    assert json_run.responses["listed"].headers["x-request-id"] == "client-1"
    replaced = json_run.responses["as user"].headers["x-request-id"]
    assert GENERATED_ID.fullmatch(replaced)
    assert json_run.access(replaced)
    assert "not a good id" not in json_run.output


def test_the_access_line_names_the_operation_caller_and_upstream_calls(json_run: Run) -> None:
    [access] = json_run.access("client-1")
    assert access["operation_name"] == "LatestVideos"
    assert access["operation_type"] == "query"
    assert access["path"] == "/graphql"
    assert re.fullmatch(r"[0-9a-f]{16}", access["caller"])
    assert access["upstream_calls"] >= 1
    assert len(access["upstream_request_ids"]) == access["upstream_calls"]
    assert set(access["upstream_request_ids"]) <= json_run.upstream_ids
    # Another caller (another X-App-UserId) is another hash, and its user id is never written.
    [other] = json_run.access(json_run.responses["as user"].headers["x-request-id"])
    assert other["caller"] != access["caller"]
    assert APP_USER not in json_run.output


def test_each_upstream_attempt_names_the_request_and_the_upstreams_own_id(json_run: Run) -> None:
    [access] = json_run.access("client-1")
    attempts = [line for line in json_run.of("client-1") if line["logger"] == "gateway.upstream"]
    assert len(attempts) == access["upstream_calls"]
    for attempt in attempts:
        assert attempt["level"] == "debug"
        assert attempt["operation_name"] == "LatestVideos"
        assert attempt["upstream_operation"] == "ListDigitalHumanVideo"
        assert attempt["method"] == "GET"
        assert attempt["status"] == 200
        assert "?" not in attempt["path"]
        assert attempt["upstream_request_id"] in json_run.upstream_ids
    assert [a["upstream_request_id"] for a in attempts] == access["upstream_request_ids"]


def test_dataloader_batches_log_as_their_request(json_run: Run) -> None:
    assert json_run.responses["lookups"].json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    [access] = json_run.access("client-2")
    attempts = [line for line in json_run.of("client-2") if line["logger"] == "gateway.upstream"]
    assert {a["upstream_operation"] for a in attempts} == {"ListDigitalHumanVideo", "Show2dModelTrainingJob"}
    assert len(attempts) == access["upstream_calls"] == 2
    assert all(a["operation_name"] == "Lookups" for a in attempts)
    [errors] = [line for line in json_run.of("client-2") if line["logger"] == "gateway.graphql"]
    assert errors["operation_name"] == "Lookups"


def test_every_upstream_call_is_logged_with_the_request_that_made_it(json_run: Run) -> None:
    attempts = [line for line in json_run.lines() if line["logger"] == "gateway.upstream"]
    assert {a["upstream_request_id"] for a in attempts} == json_run.upstream_ids
    assert all(a["request_id"] is not None for a in attempts)


def test_a_bad_request_is_logged_with_its_status_and_no_query_string(json_run: Run) -> None:
    response = json_run.responses["bad request"]
    assert response.status_code == 400
    [access] = json_run.access(response.headers["x-request-id"])
    assert access["status"] == 400
    assert access["path"] == "/graphql"
    assert access["upstream_calls"] == 0
    assert QUERY_STRING_MARKER not in json_run.output


def test_a_callbacks_token_is_not_in_its_access_line(json_run: Run) -> None:
    response = json_run.responses["callback"]
    [access] = json_run.access(response.headers["x-request-id"])
    assert access["path"] == "/callbacks/<token>"
    assert CALLBACK_TOKEN not in json_run.output


def test_a_websocket_logs_its_opening_each_operation_and_its_close(json_run: Run) -> None:
    lines = json_run.of("ws-conn-1")
    opened, *_, closed = [line for line in lines if line["logger"] == "gateway.access"]
    assert (opened["method"], opened["path"], opened["status"]) == ("WEBSOCKET", "/graphql", 101)
    assert (closed["close_code"], closed["operations"]) == (1000, 1)
    [operation] = [
        line for line in lines if line.get("operation_name") == "FollowVideo" and "ended" in line["message"]
    ]
    assert operation["operation_type"] == "subscription"
    assert operation["upstream_calls"] >= 1
    assert operation["duration_ms"] > 0
    attempts = [line for line in lines if line["logger"] == "gateway.upstream"]
    assert attempts
    assert all(a["operation_name"] == "FollowVideo" for a in attempts)
    assert {a["upstream_request_id"] for a in attempts} <= json_run.upstream_ids
    assert closed["upstream_calls"] == operation["upstream_calls"]


def pieces(secret: str, size: int = 10) -> set[str]:
    """Every run of `size` characters of a secret: a line cut short must not hold part of one either."""
    return {secret[start : start + size] for start in range(len(secret) - size + 1)}


def test_a_refused_websocket_is_logged_with_its_status(json_run: Run) -> None:
    [refused] = json_run.access("ws-refused")
    assert (refused["method"], refused["status"], refused["operations"]) == ("WEBSOCKET", 403, 0)


def test_no_secret_appears_in_json_logs(json_run: Run) -> None:
    for secret in (TOKEN, CALLBACK_SECRET, APP_USER, CALLBACK_TOKEN):
        assert not [piece for piece in pieces(secret) if piece in json_run.output], secret
    # Not even masked: nothing tried to write one.
    assert redaction.REDACTED not in json_run.output
