"""The admin surface: call log, injected faults and latency, reset, and its absence when disabled."""

from __future__ import annotations

import time

import httpx
import pytest

from gateway.emulator import create_app
from tests.emulator.conftest import TOKEN_A, V1, make_config
from tests.support.http import loopback
from tests.support.servers import serve

LIST = f"{V1}/digital-human-videos"


async def test_call_log_records_operation_status_and_request_id(client: httpx.AsyncClient) -> None:
    ok = await client.get(LIST, params={"limit": 2}, headers=TOKEN_A)
    missing = await client.get(f"{V1}/2d-digital-human-videos/nope", headers=TOKEN_A)
    unknown = await client.get(f"{V1}/no-such-route", headers=TOKEN_A)
    calls = (await client.get("/_emulator/calls")).json()["calls"]
    assert [(c["operation"], c["status"]) for c in calls] == [
        ("ListDigitalHumanVideo", 200),
        ("Show2DDigitalHumanVideo", 404),
        (None, 404),
    ]
    assert calls[0]["query"] == "limit=2" and calls[0]["request_id"] == ok.headers["X-Request-Id"]
    assert [c["seq"] for c in calls] == [1, 2, 3]
    assert missing.headers["X-Request-Id"] != ok.headers["X-Request-Id"]
    assert unknown.json()["error_code"] == "MSS.00000002" and unknown.headers["X-Request-Id"]
    await client.delete("/_emulator/calls")
    assert (await client.get("/_emulator/calls")).json() == {"calls": []}


async def test_fault_answers_its_times_then_stops(client: httpx.AsyncClient) -> None:
    spec = {"method": "GET", "path": "digital-human-videos$", "status": 503, "times": 2, "retry_after": "1"}
    fault_id = (await client.post("/_emulator/faults", json=spec)).json()["id"]
    answers = [await client.get(LIST, headers=TOKEN_A) for _ in range(3)]
    assert isinstance(fault_id, int)
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].json()["error_code"] == "MSS.00000004"
    assert answers[0].headers["Retry-After"] == "1" and answers[0].headers["X-Request-Id"]
    calls = (await client.get("/_emulator/calls")).json()["calls"]
    assert [c["status"] for c in calls] == [503, 503, 200]
    assert calls[0]["operation"] == "ListDigitalHumanVideo"


async def test_fault_with_its_own_error_code_and_method_filter(client: httpx.AsyncClient) -> None:
    spec = {"method": "POST", "path": "cancel", "status": 429, "error_code": "MSS.00000429"}
    await client.post("/_emulator/faults", json=spec)
    listed = await client.get(LIST, headers=TOKEN_A)
    canceled = await client.post(f"{V1}/2d-digital-human-videos/x/cancel", headers=TOKEN_A)
    assert listed.status_code == 200
    assert (canceled.status_code, canceled.json()["error_code"]) == (429, "MSS.00000429")
    await client.delete("/_emulator/faults")
    assert (await client.post(f"{V1}/2d-digital-human-videos/x/cancel", headers=TOKEN_A)).status_code == 404


async def test_bad_fault_specs_are_refused(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_emulator/faults", json={"path": "(", "status": 500})).status_code == 400
    assert (await client.post("/_emulator/faults", json={"path": "x", "status": 42})).status_code == 400


async def test_latency_slows_matching_requests_only(client: httpx.AsyncClient) -> None:
    await client.put(
        "/_emulator/latency", json={"seconds": 0.2, "path": "digital-human-videos", "method": "GET"}
    )
    started = time.perf_counter()
    await client.get(LIST, headers=TOKEN_A)
    slow = time.perf_counter() - started
    started = time.perf_counter()
    await client.get(f"{V1}/digital-human/stylized/picture-modelings", headers=TOKEN_A)
    fast = time.perf_counter() - started
    await client.delete("/_emulator/latency")
    started = time.perf_counter()
    await client.get(LIST, headers=TOKEN_A)
    cleared = time.perf_counter() - started
    assert slow >= 0.2 and fast < 0.2 and cleared < 0.2


async def test_reset_clears_calls_faults_and_latency_but_keeps_jobs(client: httpx.AsyncClient) -> None:
    await client.post("/_emulator/faults", json={"path": ".*", "status": 500})
    await client.put("/_emulator/latency", json={"seconds": 5})
    await client.post("/_emulator/reset")
    response = await client.get(
        f"{V1}/2d-digital-human-videos/26f06524-4f75-4b3a-a853-b649a21aaf66", headers=TOKEN_A
    )
    assert response.status_code == 200
    assert len((await client.get("/_emulator/calls")).json()["calls"]) == 1
    assert (await client.get("/_emulator/callbacks")).json() == {"callbacks": []}


async def test_dropped_connection_gives_the_client_no_response() -> None:
    app = create_app(make_config())
    with serve(app) as server:
        async with loopback(server.url) as client:
            await client.post(
                "/_emulator/faults", json={"path": "digital-human-videos", "drop": True, "times": 1}
            )
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(LIST, headers=TOKEN_A)
            after = await client.get(LIST, headers=TOKEN_A)
            calls = (await client.get("/_emulator/calls")).json()["calls"]
    assert after.status_code == 200
    assert [c["status"] for c in calls] == [None, 200]


async def test_fault_delay_makes_a_client_time_out() -> None:
    app = create_app(make_config())
    with serve(app) as server:
        async with loopback(server.url) as client:
            await client.post(
                "/_emulator/faults", json={"path": "digital-human-videos", "status": 500, "delay": 0.4}
            )
            with pytest.raises(httpx.ReadTimeout):
                await client.get(LIST, headers=TOKEN_A, timeout=0.1)


async def test_admin_routes_do_not_exist_unless_enabled() -> None:
    app = create_app(make_config(admin_enabled=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu") as client:
        response = await client.get("/_emulator/calls")
    assert (response.status_code, response.json()["error_code"]) == (404, "MSS.00000002")
    assert response.headers["X-Request-Id"]
