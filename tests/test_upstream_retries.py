"""A passing MetaStudio internal error (HTTP 500): a read is asked again and answered, a create never is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import GatewayClient, gateway_client
from tests.support.servers import LoopbackServer

CREATE_VIDEO = (Path(__file__).resolve().parents[1] / "queries" / "create_video_job.graphql").read_text(
    encoding="utf-8"
)
VIDEO_INPUT: dict[str, Any] = {
    "modelAssetId": "cda7e9a469ee9cf3ffc1ad62794a12ff",
    "voiceConfig": {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"},
    "videoConfig": {"bitrate": 5000, "width": 1080, "height": 1920},
    "shootScripts": [{"sequenceNo": 0, "shootScript": {"textConfig": {"text": "Hello there."}}}],
    "outputAssetConfig": {"assetName": "Greeting"},
}
INTERNAL_ERROR = {"status": 500, "error_code": "MSS.00000004"}


@pytest.fixture
async def gateway(emulator: LoopbackServer) -> AsyncIterator[GatewayClient]:
    async with gateway_client(emulator.url, max_retries=2) as client:
        yield client


async def fault(gateway: GatewayClient, method: str, path: str, times: int | None) -> None:
    spec = {"method": method, "path": path, "times": times, **INTERNAL_ERROR}
    response = await gateway.emulator.post("/_emulator/faults", json=spec)
    assert response.status_code == 200, response.text


async def test_a_read_meeting_an_internal_error_once_is_answered(gateway: GatewayClient) -> None:
    job_id = await gateway.create_video()
    await gateway.reset_calls()
    await fault(gateway, "GET", "/digital-human-videos$", times=1)

    body = await gateway.query(f'{{ videoJob(jobId: "{job_id}") {{ jobId state }} }}')

    assert body == {"data": {"videoJob": {"jobId": job_id, "state": "WAITING"}}}
    assert [(c["method"], c["status"]) for c in await gateway.calls()] == [("GET", 500), ("GET", 200)]


async def test_a_read_meeting_internal_errors_every_time_gives_up_after_the_retries(
    gateway: GatewayClient,
) -> None:
    job_id = await gateway.create_video()
    await gateway.reset_calls()
    await fault(gateway, "GET", "/digital-human-videos$", times=None)

    body = await gateway.query(f'{{ videoJob(jobId: "{job_id}") {{ jobId state }} }}')

    assert body["data"] == {"videoJob": None}
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR"
    assert error["extensions"]["upstream"]["status"] == 500
    assert error["extensions"]["upstream"]["errorCode"] == "MSS.00000004"
    # The first attempt and max_retries (2) more, no further.
    assert [c["status"] for c in await gateway.calls()] == [500, 500, 500]


async def test_a_create_meeting_an_internal_error_is_not_repeated(gateway: GatewayClient) -> None:
    await fault(gateway, "POST", "/2d-digital-human-videos$", times=1)

    body = await gateway.query(CREATE_VIDEO, {"input": VIDEO_INPUT})

    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR"
    assert error["extensions"]["upstream"]["status"] == 500
    # The job may or may not have been made: asking again could make a second one.
    creates = [c for c in await gateway.calls() if c["method"] == "POST"]
    assert [(c["path"].rsplit("/", 1)[-1], c["status"]) for c in creates] == [
        ("2d-digital-human-videos", 500)
    ]
