"""Every documented input rule of the video creates is checked at the gateway: a broken rule is a
userError naming the input path and the rule, and nothing at all goes upstream."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.schema.test_video_mutations import (
    CANCEL_VIDEO,
    CREATE_PHOTO_VIDEO,
    CREATE_VIDEO,
    PHOTO_INPUT,
    VIDEO_INPUT,
)
from tests.schema.video_input_rules import MISSING, OTHER_RULES, SCRIPT, SETTINGS_RULES, Bad, layer
from tests.schema.video_scene_rules import SCENE_RULES
from tests.support.gateway import GatewayClient

RULES: dict[str, Bad] = {**SETTINGS_RULES, **SCENE_RULES, **OTHER_RULES}


def broken(base: dict[str, Any], at: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(base)
    target: Any = data
    for step in at[:-1]:
        if isinstance(step, str):
            target = target.setdefault(step, {})
        else:
            target = target[step]
    if value is MISSING:
        target.pop(at[-1], None)
    else:
        target[at[-1]] = value
    return data


async def refused(gateway: GatewayClient, bad: Bad) -> dict[str, Any]:
    document, name, base = (
        (CREATE_PHOTO_VIDEO, "createPhotoVideoJob", PHOTO_INPUT)
        if bad.photo
        else (CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    )
    body = await gateway.query(document, {"input": broken(base, bad.at, bad.value)})
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"][name]
    return payload


@pytest.mark.parametrize("rule", sorted(RULES))
async def test_a_broken_rule_is_a_user_error_and_nothing_goes_upstream(
    gateway: GatewayClient, rule: str
) -> None:
    bad = RULES[rule]

    payload = await refused(gateway, bad)

    assert payload["job"] is None
    field = ["input", *map(str, bad.field or bad.at)]
    matching = [error for error in payload["userErrors"] if error["field"] == field]
    assert matching, payload["userErrors"]
    [error] = matching
    assert error["code"] == bad.code
    assert bad.message in error["message"]
    assert error["upstreamErrorCode"] is None
    assert await gateway.calls() == []


async def test_every_broken_rule_is_reported_at_once(gateway: GatewayClient) -> None:
    video_input = broken(VIDEO_INPUT, ("voiceConfig", "speed"), 10)
    video_input = broken(video_input, ("videoConfig", "bitrate"), 5)
    video_input = broken(video_input, (*SCRIPT, "layerConfig"), layer(position={"layerIndex": 0}))
    video_input = broken(video_input, ("outputAssetConfig", "assetName"), MISSING)

    body = await gateway.query(CREATE_VIDEO, {"input": video_input})

    errors = body["data"]["createVideoJob"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("INVALID_INPUT", ["input", "voiceConfig", "speed"]),
        ("INVALID_INPUT", ["input", "videoConfig", "bitrate"]),
        ("REQUIRED", ["input", "outputAssetConfig", "assetName"]),
        (
            "INVALID_INPUT",
            ["input", "shootScripts", "0", "shootScript", "layerConfig", "0", "position", "layerIndex"],
        ),
    ]
    assert await gateway.calls() == []


@pytest.mark.parametrize(
    ("at", "value"),
    [
        (("videoConfig", "codec"), "H265"),
        (("videoConfig", "clipMode"), "STRETCH"),
        ((*SCRIPT, "scriptType"), "VIDEO"),
        ((*SCRIPT, "layerConfig"), [{"layerType": "STICKER"}]),
        ((*SCRIPT, "backgroundConfig"), [{"backgroundType": "GRADIENT"}]),
        (("callbackConfig",), {"callbackUrl": "https://example.com/cb", "authType": "BASIC"}),
    ],
)
async def test_an_unknown_enum_value_is_refused_by_the_schema_before_any_upstream_call(
    gateway: GatewayClient, at: tuple[str | int, ...], value: Any
) -> None:
    body = await gateway.query(CREATE_VIDEO, {"input": broken(VIDEO_INPUT, at, value)})

    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await gateway.calls() == []


CHINESE_USER = {"X-App-UserId": "用户"}


async def test_an_app_user_id_with_chinese_characters_is_refused_before_a_create(
    gateway: GatewayClient,
) -> None:
    response = await gateway.http.post(
        "/graphql",
        json={"query": CREATE_VIDEO, "variables": {"input": VIDEO_INPUT}},
        headers=[(b"X-Auth-Token", b"alice-token"), (b"X-App-UserId", "用户-7".encode())],
    )

    payload = response.json()["data"]["createVideoJob"]
    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["headers", "X-App-UserId"])
    assert "Chinese" in error["message"]
    assert await gateway.calls() == []


async def test_an_app_user_id_with_chinese_characters_is_refused_before_a_cancel(
    gateway: GatewayClient,
) -> None:
    job_id = await gateway.create_video()
    await gateway.reset_calls()

    response = await gateway.http.post(
        "/graphql",
        json={"query": CANCEL_VIDEO, "variables": {"jobId": job_id}},
        headers=[(b"X-Auth-Token", b"alice-token"), (b"X-App-UserId", "用户".encode())],
    )

    payload = response.json()["data"]["cancelVideoJob"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["headers", "X-App-UserId"])
    ]
    assert await gateway.calls() == []
