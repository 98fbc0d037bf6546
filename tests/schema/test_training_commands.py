"""Training job commands through /graphql on the emulator: submit for review and delete, by state."""

from __future__ import annotations

import pytest

from schema.relay import encode_global_id
from tests.schema.test_training_mutations import DELETE, READ, SUBMIT, operations
from tests.support.gateway import GatewayClient


async def test_submit_sends_the_review_command_and_returns_the_verifying_job(gateway: GatewayClient) -> None:
    job_id = await gateway.create_training()
    await gateway.reset_calls()

    body = await gateway.query(SUBMIT, {"jobId": job_id})

    payload = body["data"]["submitTrainingJob"]
    assert payload["userErrors"] == []
    assert payload["job"]["jobId"] == job_id
    assert (payload["job"]["state"], payload["job"]["phase"]) == ("AUTO_VERIFYING", "VERIFYING")
    calls = await gateway.calls()
    assert operations(calls) == ["Execute2dModelTrainingCommandByUser", "Show2dModelTrainingJob"]
    assert calls[0]["path"].endswith(f"/{job_id}/command")


async def test_a_job_whose_review_failed_can_be_submitted_again(gateway: GatewayClient) -> None:
    job_id = await gateway.create_training()
    await gateway.set_state(job_id, "AUTO_VERIFY_FAILED")

    body = await gateway.query(SUBMIT, {"jobId": job_id})

    payload = body["data"]["submitTrainingJob"]
    assert payload["userErrors"] == []
    assert payload["job"]["state"] == "AUTO_VERIFYING"


@pytest.mark.parametrize("state", ["TRAINING", "AUTO_VERIFYING", "JOB_SUCCESS"])
async def test_submitting_a_job_in_a_state_that_refuses_it_is_a_state_conflict(
    gateway: GatewayClient, state: str
) -> None:
    job_id = await gateway.create_training()
    await gateway.set_state(job_id, state)
    await gateway.reset_calls()

    body = await gateway.query(SUBMIT, {"jobId": job_id})

    assert "errors" not in body, body
    payload = body["data"]["submitTrainingJob"]
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("STATE_CONFLICT", ["jobId"])
    assert state in error["message"]
    assert error["upstreamErrorCode"] == "MSS.00000003"
    assert payload["job"]["rawState"] == state
    assert operations(await gateway.calls()) == [
        "Execute2dModelTrainingCommandByUser",
        "Show2dModelTrainingJob",
    ]


async def test_submitting_an_unknown_job_is_not_found(gateway: GatewayClient) -> None:
    body = await gateway.query(SUBMIT, {"jobId": "no-such-job"})

    payload = body["data"]["submitTrainingJob"]
    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("NOT_FOUND", ["jobId"])
    assert len(await gateway.calls()) == 1


async def test_delete_answers_both_ids_and_the_job_is_gone(gateway: GatewayClient) -> None:
    job_id = await gateway.create_training()
    await gateway.reset_calls()

    body = await gateway.query(DELETE, {"jobId": job_id})

    assert body["data"]["deleteTrainingJob"] == {
        "deletedJobId": job_id,
        "deletedId": encode_global_id("TrainingJob", job_id),
        "userErrors": [],
    }
    calls = await gateway.calls()
    assert [(call["method"], call["operation"]) for call in calls] == [("DELETE", "Delete2dModelTrainingJob")]
    after = await gateway.query(READ, {"jobId": job_id})
    assert after["data"]["trainingJob"] is None
    assert after["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_deleting_an_unknown_job_is_not_found(gateway: GatewayClient) -> None:
    body = await gateway.query(DELETE, {"jobId": "no-such-job"})

    payload = body["data"]["deleteTrainingJob"]
    assert (payload["deletedJobId"], payload["deletedId"]) == (None, None)
    [error] = payload["userErrors"]
    assert (error["code"], error["field"], error["upstreamErrorCode"]) == (
        "NOT_FOUND",
        ["jobId"],
        "MSS.00000002",
    )
    assert len(await gateway.calls()) == 1


async def test_deleting_a_job_under_review_is_a_state_conflict(gateway: GatewayClient) -> None:
    job_id = await gateway.create_training()
    await gateway.set_state(job_id, "AUTO_VERIFYING")

    body = await gateway.query(DELETE, {"jobId": job_id})

    payload = body["data"]["deleteTrainingJob"]
    assert payload["deletedJobId"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "STATE_CONFLICT"
    assert "AUTO_VERIFYING" in error["message"]
    still = await gateway.query(READ, {"jobId": job_id})
    assert still["data"]["trainingJob"] == {"jobId": job_id, "state": "AUTO_VERIFYING"}


@pytest.mark.parametrize("document", [SUBMIT, DELETE])
async def test_a_blank_job_id_is_refused_before_the_upstream(gateway: GatewayClient, document: str) -> None:
    body = await gateway.query(document, {"jobId": " "})

    [payload] = body["data"].values()
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("REQUIRED", ["jobId"])
    assert await gateway.calls() == []
