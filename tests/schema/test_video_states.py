"""Video job states the gateway does not know, or spelled the upstream's own way, never break a query."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from gateway.emulator import create_app as create_emulator
from tests.support.gateway import GatewayClient, emulator_config
from tests.support.servers import LoopbackServer, serve

DETAIL = """query ($id: String!) {
  videoJob(jobId: $id) { state rawState terminal scriptId voiceConfig { speed } }
}"""
SUMMARY = """{ videoJobs(first: 10) { edges { node { jobId state rawState terminal } } } }"""


@pytest.fixture
def emulator_app() -> Starlette:
    return create_emulator(emulator_config())


@pytest.fixture
def emulator(emulator_app: Starlette) -> Iterator[LoopbackServer]:
    # Replaces the shared emulator fixture so these tests can reach the emulator's jobs directly.
    with serve(emulator_app) as server:
        yield server


def upstream_reports(app: Starlette, job_id: str, state: str) -> None:
    """Makes the upstream answer with a state string its admin routes refuse to set (it is not documented)."""
    jobs = app.state.emulator.store.find(job_id)
    assert jobs, job_id
    for job in jobs:
        job.state = state


async def test_an_unknown_upstream_state_reads_as_unknown_with_its_raw_string(
    gateway: GatewayClient, emulator_app: Starlette
) -> None:
    job_id = await gateway.create_video()
    upstream_reports(emulator_app, job_id, "QUEUED_FOR_GPU")

    listed = await gateway.query(SUMMARY)
    shown = await gateway.query(DETAIL, {"id": job_id})

    assert "errors" not in listed
    assert listed["data"]["videoJobs"]["edges"][0]["node"] == {
        "jobId": job_id,
        "state": "UNKNOWN",
        "rawState": "QUEUED_FOR_GPU",
        "terminal": False,
    }
    assert "errors" not in shown
    assert shown["data"]["videoJob"] == {
        "state": "UNKNOWN",
        "rawState": "QUEUED_FOR_GPU",
        "terminal": False,
        "scriptId": None,
        "voiceConfig": {"speed": 100},
    }


async def test_success_is_read_as_succeed_and_terminal(
    gateway: GatewayClient, emulator_app: Starlette
) -> None:
    job_id = await gateway.create_photo_video()
    upstream_reports(emulator_app, job_id, "SUCCESS")

    body = await gateway.query(DETAIL, {"id": job_id})

    assert body["data"]["videoJob"]["state"] == "SUCCEED"
    assert body["data"]["videoJob"]["rawState"] == "SUCCESS"
    assert body["data"]["videoJob"]["terminal"] is True


@pytest.mark.parametrize(
    ("state", "terminal"),
    [
        ("WAITING", False),
        ("PROCESSING", False),
        ("SUCCEED", True),
        ("FAILED", True),
        ("CANCELED", True),
        ("BLOCK", True),
    ],
)
async def test_every_documented_state_reads_as_itself(
    gateway: GatewayClient, state: str, terminal: bool
) -> None:
    job_id = await gateway.create_video()
    if state != "WAITING":
        await gateway.set_state(job_id, state)

    body = await gateway.query(DETAIL, {"id": job_id})

    assert body["data"]["videoJob"]["state"] == body["data"]["videoJob"]["rawState"] == state
    assert body["data"]["videoJob"]["terminal"] is terminal
