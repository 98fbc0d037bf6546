"""Training job creates through /graphql on the emulator: defaults, rules, idempotency, refusals."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from schema.relay import encode_global_id
from tests.support.gateway import GatewayClient, gateway_client
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer

QUERIES = Path(__file__).resolve().parents[2] / "queries"
CREATE = (QUERIES / "create_training_job.graphql").read_text(encoding="utf-8")
SUBMIT = (QUERIES / "submit_training_job.graphql").read_text(encoding="utf-8")
DELETE = (QUERIES / "delete_training_job.graphql").read_text(encoding="utf-8")
READ = "query ($jobId: String!) { trainingJob(jobId: $jobId) { jobId state } }"


def operations(calls: list[dict[str, Any]]) -> list[str]:
    return [call["operation"] for call in calls]


async def create(gateway: GatewayClient, **input: Any) -> dict[str, Any]:
    body = await gateway.query(CREATE, {"input": {"name": "Anna", **input}})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createTrainingJob"]
    return payload


async def test_create_returns_the_waiting_job_and_an_upload_url_for_each_part(
    gateway: GatewayClient,
) -> None:
    payload = await create(
        gateway,
        name="Anna",
        contact="13800000000",
        batchName="spring",
        tags=["demo", "green"],
        videoMultipartCount=3,
        actionVideoMultipartCount=2,
        modelVersion="V3_3",
        isBackgroundReplacement=False,
    )

    assert payload["userErrors"] == []
    job = payload["job"]
    assert (job["state"], job["phase"], job["rawState"], job["terminal"]) == (
        "WAIT_FILE_UPLOAD",
        "PENDING_UPLOAD",
        "WAIT_FILE_UPLOAD",
        False,
    )
    assert (job["name"], job["contact"], job["batchName"], job["tags"]) == (
        "Anna",
        "13800000000",
        "spring",
        ["demo", "green"],
    )
    # The same enum value the input took.
    assert (job["modelVersion"], job["isBackgroundReplacement"]) == ("V3_3", False)
    assert job["id"] == encode_global_id("TrainingJob", job["jobId"])
    urls = payload["uploadUrls"]
    assert len(urls["trainingVideoUploadUrl"]) == 3
    assert len(urls["actionVideoUploadUrl"]) == 2
    singles = [name for name in urls if not name.endswith("VideoUploadUrl")]
    assert len(singles) == 7
    assert all(urls[name].startswith("http") for name in singles)
    assert all(job["jobId"] in url for url in urls["trainingVideoUploadUrl"])
    calls = await gateway.calls()
    assert operations(calls) == ["Create2dModelTrainingJob", "Show2dModelTrainingJob"]
    assert calls[0]["method"] == "POST"


async def test_create_sends_the_documented_defaults(gateway: GatewayClient) -> None:
    payload = await create(gateway, name="Defaults")
    job_id = payload["job"]["jobId"]

    body = await gateway.query(
        "query ($jobId: String!) { trainingJob(jobId: $jobId) { modelVersion rawModelVersion"
        " isBackgroundReplacement isFlexus isFastFlexus isLiveCopy isOnlyHumanModel isOndemandResource"
        " supportedService } }",
        {"jobId": job_id},
    )

    assert body["data"]["trainingJob"] == {
        "modelVersion": "V3_2",
        "rawModelVersion": "V3.2",
        "isBackgroundReplacement": True,
        "isFlexus": False,
        "isFastFlexus": False,
        "isLiveCopy": False,
        "isOnlyHumanModel": False,
        "isOndemandResource": False,
        "supportedService": ["VIDEO_2D", "LIVE_2D"],
    }
    assert len(payload["uploadUrls"]["trainingVideoUploadUrl"]) == 1


async def test_create_carries_voice_properties_and_services(gateway: GatewayClient) -> None:
    payload = await create(
        gateway,
        audioSourceType="AUDIO",
        voiceProperties={"jobTag": "NEWS", "sex": "MALE", "language": "EN"},
        supportedService=["CHAT_2D"],
    )

    body = await gateway.query(
        "query ($jobId: String!) { trainingJob(jobId: $jobId) { audioSourceType supportedService"
        " voiceProperties { jobTag sex language } } }",
        {"jobId": payload["job"]["jobId"]},
    )

    assert body["data"]["trainingJob"] == {
        "audioSourceType": "AUDIO",
        "supportedService": ["CHAT_2D"],
        "voiceProperties": {"jobTag": "NEWS", "sex": "MALE", "language": "EN"},
    }


@pytest.mark.parametrize(
    ("input", "code", "field", "words"),
    [
        ({"name": ""}, "REQUIRED", ["input", "name"], "name is required"),
        ({"name": "   "}, "REQUIRED", ["input", "name"], "must not be blank"),
        ({"videoMultipartCount": 0}, "INVALID_INPUT", ["input", "videoMultipartCount"], "between 1 and 1000"),
        (
            {"videoMultipartCount": 1001},
            "INVALID_INPUT",
            ["input", "videoMultipartCount"],
            "between 1 and 1000",
        ),
        (
            {"actionVideoMultipartCount": 0},
            "INVALID_INPUT",
            ["input", "actionVideoMultipartCount"],
            "between 1 and 1000",
        ),
        (
            {"actionVideoMultipartCount": 5000},
            "INVALID_INPUT",
            ["input", "actionVideoMultipartCount"],
            "between 1 and 1000",
        ),
    ],
)
async def test_create_rules_are_user_errors_and_nothing_goes_upstream(
    gateway: GatewayClient, input: dict[str, Any], code: str, field: list[str], words: str
) -> None:
    payload = await create(gateway, **input)

    assert payload["job"] is None
    assert payload["uploadUrls"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == (code, field)
    assert words in error["message"]
    assert await gateway.calls() == []


async def test_every_broken_rule_is_listed_at_once(gateway: GatewayClient) -> None:
    payload = await create(gateway, name="", videoMultipartCount=0, actionVideoMultipartCount=1001)

    assert [error["field"][-1] for error in payload["userErrors"]] == [
        "name",
        "videoMultipartCount",
        "actionVideoMultipartCount",
    ]
    assert await gateway.calls() == []


@pytest.mark.parametrize(
    "input",
    [
        {"modelVersion": "V2"},
        {"commandMessage": "DELETE_EVERYTHING"},
        {"audioSourceType": "RADIO"},
        {"supportedService": ["VIDEO_3D"]},
        {"voiceProperties": {"jobTag": "SPORTS", "sex": "MALE", "language": "CN"}},
        {"voiceProperties": {"jobTag": "NEWS", "sex": "OTHER", "language": "CN"}},
        {"voiceProperties": {"jobTag": "NEWS", "sex": "MALE", "language": "FR"}},
        {"voiceProperties": {"jobTag": "NEWS", "sex": "MALE"}},
    ],
)
async def test_values_outside_the_documented_enums_never_reach_the_upstream(
    gateway: GatewayClient, input: dict[str, Any]
) -> None:
    body = await gateway.query(CREATE, {"input": {"name": "Anna", **input}})

    assert body.get("data") is None
    assert {error["extensions"]["code"] for error in body["errors"]} == {"BAD_USER_INPUT"}
    assert await gateway.calls() == []


async def test_a_chinese_app_user_id_is_refused_before_the_upstream(gateway: GatewayClient) -> None:
    response = await gateway.http.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": {"name": "Anna"}}},
        headers=[(b"X-Auth-Token", b"alice-token"), (b"X-App-UserId", "用户".encode())],
    )

    payload = response.json()["data"]["createTrainingJob"]
    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["headers", "X-App-UserId"])
    assert await gateway.calls() == []


@pytest.fixture(params=["memory", "redis"])
async def keyed_gateway(
    request: pytest.FixtureRequest, emulator: LoopbackServer
) -> AsyncIterator[GatewayClient]:
    redis_url = None if request.param == "memory" else REDIS_URL
    async with gateway_client(emulator.url, redis_url=redis_url) as client:
        yield client


async def test_the_same_idempotency_key_creates_once_and_replays_the_upload_urls(
    keyed_gateway: GatewayClient,
) -> None:
    key = uuid.uuid4().hex
    first = await create(keyed_gateway, name="Once", videoMultipartCount=2, idempotencyKey=key)
    again = await create(keyed_gateway, name="Once", videoMultipartCount=2, idempotencyKey=key)

    assert first["userErrors"] == again["userErrors"] == []
    assert again["job"]["jobId"] == first["job"]["jobId"]
    assert again["uploadUrls"] == first["uploadUrls"]
    assert len(again["uploadUrls"]["trainingVideoUploadUrl"]) == 2
    calls = operations(await keyed_gateway.calls())
    assert calls.count("Create2dModelTrainingJob") == 1
    # The replay still shows the job as the upstream sees it now.
    assert calls.count("Show2dModelTrainingJob") == 2


async def test_the_same_key_with_a_different_input_is_refused(keyed_gateway: GatewayClient) -> None:
    key = uuid.uuid4().hex
    await create(keyed_gateway, name="First", idempotencyKey=key)
    await keyed_gateway.reset_calls()

    payload = await create(keyed_gateway, name="Second", idempotencyKey=key)

    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    assert await keyed_gateway.calls() == []


async def test_keys_belong_to_their_caller(gateway: GatewayClient) -> None:
    key = uuid.uuid4().hex
    variables = {"input": {"name": "Shared key", "idempotencyKey": key}}
    alice = await gateway.query(CREATE, variables, token="alice-token")
    bob = await gateway.query(CREATE, variables, token="bob-token")

    alice_job = alice["data"]["createTrainingJob"]["job"]["jobId"]
    bob_job = bob["data"]["createTrainingJob"]["job"]["jobId"]
    assert alice_job != bob_job
    assert operations(await gateway.calls()).count("Create2dModelTrainingJob") == 2


async def test_an_upstream_503_on_create_is_an_error_and_the_create_is_never_repeated(
    gateway: GatewayClient,
) -> None:
    fault = {"method": "POST", "path": "/digital-human-training-manage/user/jobs$", "status": 503}
    assert (await gateway.emulator.post("/_emulator/faults", json=fault)).status_code == 200

    body = await gateway.query(CREATE, {"input": {"name": "Anna"}})

    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["upstream"]["status"] == 503
    calls = await gateway.calls()
    assert [(call["method"], call["status"]) for call in calls] == [("POST", 503)]


async def test_an_upstream_refusal_of_the_create_is_a_user_error_with_its_code(
    gateway: GatewayClient,
) -> None:
    fault = {
        "method": "POST",
        "path": "/digital-human-training-manage/user/jobs$",
        "status": 400,
        "error_code": "MSS.00000003",
    }
    assert (await gateway.emulator.post("/_emulator/faults", json=fault)).status_code == 200

    payload = await create(gateway)

    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["upstreamErrorCode"]) == ("UPSTREAM_REJECTED", "MSS.00000003")
    assert len(await gateway.calls()) == 1
