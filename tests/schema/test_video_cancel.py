"""Canceling video jobs through HTTP against the emulator: either kind, by state, and by caller."""

from __future__ import annotations

import pytest

from tests.schema.test_video_mutations import KINDS, VIDEO_INPUT, cancel, create, operations
from tests.support.gateway import V1, GatewayClient


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_cancel_video_job_of_either_kind(gateway: GatewayClient, kind: str) -> None:
    path, kind_name = KINDS[kind]
    job_id = await (gateway.create_video() if kind == "2d" else gateway.create_photo_video())
    await gateway.reset_calls()

    payload = await cancel(gateway, job_id)

    assert payload["userErrors"] == []
    job = payload["job"]
    assert (job["jobId"], job["kind"]) == (job_id, kind_name)
    assert (job["state"], job["rawState"], job["terminal"]) == ("CANCELED", "CANCELED", True)
    calls = await gateway.calls()
    # The gateway finds the job's kind (and state) with one list call, cancels, then reads it again.
    assert operations(calls)[0] == "ListDigitalHumanVideo"
    assert (calls[1]["method"], calls[1]["path"]) == ("POST", f"{V1}{path}/{job_id}/cancel")
    assert operations(calls)[2:] == ["ListDigitalHumanVideo"]


async def test_cancel_of_a_job_created_through_the_gateway_needs_no_lookup(gateway: GatewayClient) -> None:
    job_id = (await create(gateway, VIDEO_INPUT))["job"]["jobId"]
    await gateway.reset_calls()

    payload = await cancel(gateway, job_id)

    assert payload["job"]["state"] == "CANCELED"
    assert operations(await gateway.calls()) == ["Cancel2DDigitalHumanVideo", "ListDigitalHumanVideo"]


async def test_cancel_after_succeed_is_refused_without_asking_the_upstream_to_cancel(
    gateway: GatewayClient,
) -> None:
    job_id = await gateway.create_video()
    await gateway.set_state(job_id, "SUCCEED")
    await gateway.reset_calls()

    payload = await cancel(gateway, job_id)

    [error] = payload["userErrors"]
    assert error["code"] == "STATE_CONFLICT"
    assert error["field"] == ["jobId"]
    assert "SUCCEED" in error["message"]
    assert payload["job"]["state"] == "SUCCEED"
    assert operations(await gateway.calls()) == ["ListDigitalHumanVideo"]


async def test_cancel_refused_by_the_upstream_for_its_state_is_a_state_conflict(
    gateway: GatewayClient,
) -> None:
    # Created through the gateway, so its kind is known and the cancel goes out without a lookup.
    job_id = (await create(gateway, VIDEO_INPUT))["job"]["jobId"]
    await gateway.set_state(job_id, "FAILED", error_code="MSS.00000004", error_msg="render failed")
    await gateway.reset_calls()

    payload = await cancel(gateway, job_id)

    [error] = payload["userErrors"]
    assert error["code"] == "STATE_CONFLICT"
    assert error["field"] == ["jobId"]
    assert "FAILED" in error["message"]
    assert error["upstreamErrorCode"] == "MSS.00000003"
    assert payload["job"]["state"] == "FAILED"
    assert operations(await gateway.calls()) == ["Cancel2DDigitalHumanVideo", "ListDigitalHumanVideo"]


async def test_cancel_of_an_unknown_job_is_not_found(gateway: GatewayClient) -> None:
    payload = await cancel(gateway, "no-such-job")

    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "NOT_FOUND"
    assert error["field"] == ["jobId"]
    assert "no-such-job" in error["message"]
    assert operations(await gateway.calls()) == ["ListDigitalHumanVideo"]


async def test_cancel_of_another_callers_job_is_not_found(gateway: GatewayClient) -> None:
    job_id = await gateway.create_video(token="bob-token")
    await gateway.reset_calls()

    payload = await cancel(gateway, job_id)

    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    assert "Cancel2DDigitalHumanVideo" not in operations(await gateway.calls())
