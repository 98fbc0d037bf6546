"""Picture modeling jobs created from a picture URL: the waiting job, input rules, idempotency."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.schema.test_picture_mutations import CREATE_BY_URL, FROM_URL, SHOW, operations
from tests.support.gateway import GatewayClient


async def test_create_from_url_returns_the_waiting_job(gateway: GatewayClient) -> None:
    body = await gateway.query(
        FROM_URL,
        {
            "input": {
                "pictureUrl": "https://example.com/face.png",
                "styleId": "system_male_002",
                "name": "From a URL",
                "notifyUrl": "https://example.com/done",
            }
        },
    )

    assert "errors" not in body, body
    payload = body["data"]["createPictureModelingJobFromUrl"]
    assert payload["userErrors"] == []
    job = payload["job"]
    assert (job["state"], job["name"], job["styleId"]) == ("WAITING", "From a URL", "system_male_002")
    assert payload["modelAssetId"] == job["modelAssetId"]
    assert operations(await gateway.calls()) == [CREATE_BY_URL, SHOW]


URL_INPUT = {"pictureUrl": "https://example.com/face.png", "styleId": "system_male_001", "name": "Portrait"}


@pytest.mark.parametrize(
    ("input", "code", "field", "words"),
    [
        ({"pictureUrl": ""}, "REQUIRED", "pictureUrl", "pictureUrl is required"),
        ({"pictureUrl": "face.png"}, "INVALID_INPUT", "pictureUrl", "http:// or https://"),
        ({"pictureUrl": "file:///etc/passwd"}, "INVALID_INPUT", "pictureUrl", "http:// or https://"),
        (
            {"pictureUrl": "https://example.com/" + "a" * 2030},
            "INVALID_INPUT",
            "pictureUrl",
            "at most 2048 characters",
        ),
        ({"styleId": " "}, "REQUIRED", "styleId", "must not be blank"),
        ({"name": ""}, "REQUIRED", "name", "name is required"),
        ({"notifyUrl": "mailto:me@example.com"}, "INVALID_INPUT", "notifyUrl", "http:// or https://"),
        (
            {"notifyUrl": "http://example.com/" + "a" * 2030},
            "INVALID_INPUT",
            "notifyUrl",
            "at most 2048 characters",
        ),
    ],
)
async def test_url_rules_are_user_errors_and_nothing_goes_upstream(
    gateway: GatewayClient, input: dict[str, Any], code: str, field: str, words: str
) -> None:
    body = await gateway.query(FROM_URL, {"input": {**URL_INPUT, **input}})

    payload = body["data"]["createPictureModelingJobFromUrl"]
    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == (code, ["input", field])
    assert words in error["message"]
    assert await gateway.calls() == []


async def test_the_same_key_creates_from_a_url_once(gateway: GatewayClient) -> None:
    key = uuid.uuid4().hex
    variables = {"input": {**URL_INPUT, "idempotencyKey": key}}
    first = await gateway.query(FROM_URL, variables)
    again = await gateway.query(FROM_URL, variables)
    other = await gateway.query(FROM_URL, {"input": {**URL_INPUT, "name": "Other", "idempotencyKey": key}})

    first_job = first["data"]["createPictureModelingJobFromUrl"]["job"]["jobId"]
    assert again["data"]["createPictureModelingJobFromUrl"]["job"]["jobId"] == first_job
    [error] = other["data"]["createPictureModelingJobFromUrl"]["userErrors"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert operations(await gateway.calls()).count(CREATE_BY_URL) == 1


async def test_an_upstream_refusal_of_a_url_create_is_a_user_error_with_its_code(
    gateway: GatewayClient,
) -> None:
    fault = {
        "method": "POST",
        "path": "/picture-modelings-by-url$",
        "status": 400,
        "error_code": "MSS.00000003",
    }
    assert (await gateway.emulator.post("/_emulator/faults", json=fault)).status_code == 200

    body = await gateway.query(FROM_URL, {"input": URL_INPUT})

    payload = body["data"]["createPictureModelingJobFromUrl"]
    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["upstreamErrorCode"]) == ("UPSTREAM_REJECTED", "MSS.00000003")
    assert len(await gateway.calls()) == 1
