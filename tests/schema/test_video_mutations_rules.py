"""Every documented input rule of the video creates is checked at the gateway: a broken rule is a
userError naming the input path and the rule, and nothing at all goes upstream."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from tests.schema.test_video_mutations import (
    CANCEL_VIDEO,
    CREATE_PHOTO_VIDEO,
    CREATE_VIDEO,
    PHOTO_INPUT,
    VIDEO_INPUT,
)
from tests.support.gateway import GatewayClient

LONG_URL = "https://example.com/" + "a" * 2030  # 2049 characters
SCRIPT = ("shootScripts", 0, "shootScript")
LAYER = (*SCRIPT, "layerConfig", 0)
BACKGROUND = (*SCRIPT, "backgroundConfig", 0)
ACTION = (*SCRIPT, "audioDriveActionConfig", 0)
SUBTITLE = ("videoConfig", "subtitleConfig")


@dataclass(frozen=True)
class Bad:
    """An input with one rule broken, and the userError it must get."""

    at: tuple[str | int, ...]  # where the bad value goes in the input
    value: Any  # the bad value; MISSING removes the field
    code: str
    message: str  # a part of the message that names the rule
    field: tuple[str | int, ...] | None = None  # the reported path, when it differs from `at`
    photo: bool = False


MISSING = object()


def layer(**fields: Any) -> list[dict[str, Any]]:
    return [{"layerType": "IMAGE", **fields}]


def background(**fields: Any) -> list[dict[str, Any]]:
    return [{"backgroundType": "IMAGE", "backgroundConfig": "https://example.com/bg.png", **fields}]


def script(sequence_no: int, text: str = "Hi.") -> dict[str, Any]:
    return {"sequenceNo": sequence_no, "shootScript": {"textConfig": {"text": text}}}


RULES: dict[str, Bad] = {
    # VoiceConfig
    "voice speed below 50": Bad(
        ("voiceConfig", "speed"), 49, "INVALID_INPUT", "speed must be between 50 and 200"
    ),
    "voice speed above 200": Bad(("voiceConfig", "speed"), 201, "INVALID_INPUT", "between 50 and 200"),
    "voice pitch below 50": Bad(
        ("voiceConfig", "pitch"), 49, "INVALID_INPUT", "pitch must be between 50 and 200"
    ),
    "voice pitch above 200": Bad(("voiceConfig", "pitch"), 201, "INVALID_INPUT", "between 50 and 200"),
    "voice volume below 90": Bad(
        ("voiceConfig", "volume"), 89, "INVALID_INPUT", "volume must be between 90 and 240"
    ),
    "voice volume above 240": Bad(("voiceConfig", "volume"), 241, "INVALID_INPUT", "between 90 and 240"),
    "voice asset missing": Bad(
        ("voiceConfig", "voiceAssetId"), MISSING, "REQUIRED", "voiceAssetId is required"
    ),
    "voice asset blank": Bad(("voiceConfig", "voiceAssetId"), "  ", "REQUIRED", "voiceAssetId is required"),
    "voice asset too long": Bad(("voiceConfig", "voiceAssetId"), "v" * 257, "INVALID_INPUT", "at most 256"),
    # VideoConfig
    "bitrate below 40": Bad(
        ("videoConfig", "bitrate"), 39, "INVALID_INPUT", "bitrate must be between 40 and 30000"
    ),
    "bitrate above 30000": Bad(("videoConfig", "bitrate"), 30001, "INVALID_INPUT", "between 40 and 30000"),
    "bitrate missing": Bad(("videoConfig", "bitrate"), MISSING, "REQUIRED", "bitrate is required"),
    "width missing": Bad(("videoConfig", "width"), MISSING, "REQUIRED", "width is required"),
    "height missing": Bad(("videoConfig", "height"), MISSING, "REQUIRED", "height is required"),
    "width above 3840": Bad(
        ("videoConfig", "width"), 3841, "INVALID_INPUT", "width must be between 0 and 3840"
    ),
    "height above 3840": Bad(("videoConfig", "height"), 3841, "INVALID_INPUT", "between 0 and 3840"),
    "resize to an unsupported resolution": Bad(
        ("videoConfig", "height"),
        1080,
        "INVALID_INPUT",
        "with clipMode RESIZE, width x height must be one of 1920x1080, 1080x1920, 1280x720, 720x1280, "
        "3840x2160, 2160x3840, got 1080x1080",
        field=("videoConfig", "width"),
    ),
    "frame rate not 24, 25 or 30": Bad(
        ("videoConfig", "frameRate"), "60", "INVALID_INPUT", "frameRate must be one of 24, 25, 30"
    ),
    "crop x out of range": Bad(
        ("videoConfig", "dx"), -1921, "INVALID_INPUT", "dx must be between -1920 and 3840"
    ),
    "crop y out of range": Bad(
        ("videoConfig", "dy"), 3841, "INVALID_INPUT", "dy must be between -1920 and 3840"
    ),
    "output external url too long": Bad(
        ("videoConfig", "outputExternalUrl"), LONG_URL, "INVALID_INPUT", "at most 2048 characters"
    ),
    "output external url not http": Bad(
        ("videoConfig", "outputExternalUrl"),
        "ftp://example.com/v.mp4",
        "INVALID_INPUT",
        "http:// or https://",
    ),
    # SubtitleConfig
    "subtitle x out of range": Bad((*SUBTITLE, "dx"), 1921, "INVALID_INPUT", "dx must be between 0 and 1920"),
    "subtitle y out of range": Bad((*SUBTITLE, "dy"), -1, "INVALID_INPUT", "dy must be between 0 and 1920"),
    "subtitle height out of range": Bad(
        (*SUBTITLE, "h"), 1921, "INVALID_INPUT", "h must be between 0 and 1920"
    ),
    "subtitle width out of range": Bad(
        (*SUBTITLE, "w"), 1921, "INVALID_INPUT", "w must be between 0 and 1920"
    ),
    "subtitle font name too long": Bad((*SUBTITLE, "fontName"), "f" * 65, "INVALID_INPUT", "at most 64"),
    "subtitle font size above 120": Bad(
        (*SUBTITLE, "fontSize"), 121, "INVALID_INPUT", "fontSize must be between 0 and 120"
    ),
    "subtitle font colour not #RRGGBB": Bad(
        (*SUBTITLE, "fontColor"), "white", "INVALID_INPUT", "fontColor must be a colour written #RRGGBB"
    ),
    "subtitle stroke colour not #RRGGBB": Bad(
        (*SUBTITLE, "strokeColor"), "#12345", "INVALID_INPUT", "strokeColor must be a colour"
    ),
    "subtitle stroke thickness above 50": Bad(
        (*SUBTITLE, "strokeThickness"), 50.5, "INVALID_INPUT", "strokeThickness must be between 0 and 50"
    ),
    "subtitle opacity above 1": Bad(
        (*SUBTITLE, "opacity"), 1.5, "INVALID_INPUT", "opacity must be between 0 and 1"
    ),
    # Shoot scripts
    "sequence number used twice": Bad(
        ("shootScripts",),
        [script(1), script(1)],
        "INVALID_INPUT",
        "sequenceNo 1 is used more than once",
        field=("shootScripts", 1, "sequenceNo"),
    ),
    "sequence number negative": Bad(
        ("shootScripts", 0, "sequenceNo"), -1, "INVALID_INPUT", "sequenceNo must be between 0 and 2147483647"
    ),
    "text of more than 10,000 characters": Bad(
        (*SCRIPT, "textConfig", "text"),
        "<speak>" + "a" * 10_001 + "</speak>",
        "INVALID_INPUT",
        "text must be at most 10000 characters without SSML tags, got 10001",
    ),
    "text of more than 131,072 characters with its tags": Bad(
        (*SCRIPT, "textConfig", "text"),
        "<break/>" * 16_385,
        "INVALID_INPUT",
        "text must be at most 131072 characters",
    ),
    "text missing": Bad((*SCRIPT, "textConfig", "text"), MISSING, "REQUIRED", "text is required"),
    "audio file url too long": Bad(
        (*SCRIPT, "audioDriveFileExternalUrl"), LONG_URL, "INVALID_INPUT", "at most 2048 characters"
    ),
    "audio action without its tag": Bad(
        (*SCRIPT, "audioDriveActionConfig"),
        [{"actionStartTime": 1.5}],
        "REQUIRED",
        "actionTag is required",
        field=(*ACTION, "actionTag"),
    ),
    "audio action starting too late": Bad(
        (*SCRIPT, "audioDriveActionConfig"),
        [{"actionTag": "wave", "actionStartTime": 2_592_001}],
        "INVALID_INPUT",
        "actionStartTime must be between 0 and 2592000",
        field=(*ACTION, "actionStartTime"),
    ),
    # Backgrounds
    "background without its type": Bad(
        (*SCRIPT, "backgroundConfig"),
        [{"backgroundColorConfig": "#FFFFFF"}],
        "REQUIRED",
        "backgroundType is required",
        field=(*BACKGROUND, "backgroundType"),
    ),
    "image background without its url": Bad(
        (*SCRIPT, "backgroundConfig"),
        [{"backgroundType": "IMAGE"}],
        "REQUIRED",
        "backgroundConfig is required",
        field=(*BACKGROUND, "backgroundConfig"),
    ),
    "colour background without its colour": Bad(
        (*SCRIPT, "backgroundConfig"),
        [{"backgroundType": "COLOR"}],
        "REQUIRED",
        "backgroundColorConfig is required",
        field=(*BACKGROUND, "backgroundColorConfig"),
    ),
    "background colour not #RRGGBB": Bad(
        (*SCRIPT, "backgroundConfig"),
        [{"backgroundType": "COLOR", "backgroundColorConfig": "#GG0000"}],
        "INVALID_INPUT",
        "backgroundColorConfig must be a colour written #RRGGBB",
        field=(*BACKGROUND, "backgroundColorConfig"),
    ),
    "background url too long": Bad(
        (*SCRIPT, "backgroundConfig"),
        background(backgroundConfig=LONG_URL),
        "INVALID_INPUT",
        "at most 2048 characters",
        field=(*BACKGROUND, "backgroundConfig"),
    ),
    "background asset id too long": Bad(
        (*SCRIPT, "backgroundConfig"),
        background(backgroundAssetId="b" * 65),
        "INVALID_INPUT",
        "at most 64 characters",
        field=(*BACKGROUND, "backgroundAssetId"),
    ),
    "background picture without its place": Bad(
        (*SCRIPT, "backgroundConfig"),
        background(backgroundImageConfig={"dx": 0, "dy": 0, "width": 100}),
        "REQUIRED",
        "height is required",
        field=(*BACKGROUND, "backgroundImageConfig", "height"),
    ),
    # Layers
    "layer without its type": Bad(
        (*SCRIPT, "layerConfig"), [{}], "REQUIRED", "layerType is required", field=(*LAYER, "layerType")
    ),
    "layer index below 1": Bad(
        (*SCRIPT, "layerConfig"),
        layer(position={"layerIndex": 0}),
        "INVALID_INPUT",
        "layerIndex must be between 1 and 100",
        field=(*LAYER, "position", "layerIndex"),
    ),
    "layer index above 100": Bad(
        (*SCRIPT, "layerConfig"),
        layer(position={"layerIndex": 101}),
        "INVALID_INPUT",
        "layerIndex must be between 1 and 100",
        field=(*LAYER, "position", "layerIndex"),
    ),
    "layer position x out of range": Bad(
        (*SCRIPT, "layerConfig"),
        layer(position={"dx": 3841}),
        "INVALID_INPUT",
        "dx must be between -1920 and 3840",
        field=(*LAYER, "position", "dx"),
    ),
    "layer position y out of range": Bad(
        (*SCRIPT, "layerConfig"),
        layer(position={"dy": -1921}),
        "INVALID_INPUT",
        "dy must be between -1920 and 3840",
        field=(*LAYER, "position", "dy"),
    ),
    "layer position y given as null": Bad(
        (*SCRIPT, "layerConfig"),
        layer(position={"dy": None}),
        "REQUIRED",
        "dy is required",
        field=(*LAYER, "position", "dy"),
    ),
    "layer width below 1": Bad(
        (*SCRIPT, "layerConfig"),
        layer(size={"width": 0}),
        "INVALID_INPUT",
        "width must be between 1 and 7680",
        field=(*LAYER, "size", "width"),
    ),
    "layer height above 7680": Bad(
        (*SCRIPT, "layerConfig"),
        layer(size={"height": 7681}),
        "INVALID_INPUT",
        "height must be between 1 and 7680",
        field=(*LAYER, "size", "height"),
    ),
    "layer turned more than 360 degrees": Bad(
        (*SCRIPT, "layerConfig"),
        layer(rotation={"angle": 361}),
        "INVALID_INPUT",
        "angle must be between 0 and 360",
        field=(*LAYER, "rotation", "angle"),
    ),
    "layer asset id too long": Bad(
        (*SCRIPT, "layerConfig"),
        layer(assetId="a" * 65),
        "INVALID_INPUT",
        "at most 64 characters",
        field=(*LAYER, "assetId"),
    ),
    "layer group id too long": Bad(
        (*SCRIPT, "layerConfig"),
        layer(groupId="g" * 65),
        "INVALID_INPUT",
        "at most 64 characters",
        field=(*LAYER, "groupId"),
    ),
    "image layer url too long": Bad(
        (*SCRIPT, "layerConfig"),
        layer(imageConfig={"imageUrl": LONG_URL}),
        "INVALID_INPUT",
        "at most 2048 characters",
        field=(*LAYER, "imageConfig", "imageUrl"),
    ),
    "video layer url too long": Bad(
        (*SCRIPT, "layerConfig"),
        layer(layerType="VIDEO", videoConfig={"videoUrl": LONG_URL}),
        "INVALID_INPUT",
        "at most 2048 characters",
        field=(*LAYER, "videoConfig", "videoUrl"),
    ),
    "video layer cover url not http": Bad(
        (*SCRIPT, "layerConfig"),
        layer(layerType="VIDEO", videoConfig={"videoCoverUrl": "cover.png"}),
        "INVALID_INPUT",
        "http:// or https://",
        field=(*LAYER, "videoConfig", "videoCoverUrl"),
    ),
    "video layer loop count below -1": Bad(
        (*SCRIPT, "layerConfig"),
        layer(layerType="VIDEO", videoConfig={"loopCount": -2}),
        "INVALID_INPUT",
        "loopCount must be between -1 and 100",
        field=(*LAYER, "videoConfig", "loopCount"),
    ),
    "video layer sound above 100": Bad(
        (*SCRIPT, "layerConfig"),
        layer(layerType="VIDEO", videoConfig={"videoSound": 101}),
        "INVALID_INPUT",
        "videoSound must be between 0 and 100",
        field=(*LAYER, "videoConfig", "videoSound"),
    ),
    "text layer text too long": Bad(
        (*SCRIPT, "layerConfig"),
        layer(layerType="TEXT", textConfig={"textContext": "t" * 1025}),
        "INVALID_INPUT",
        "textContext must be at most 1024 characters",
        field=(*LAYER, "textConfig", "textContext"),
    ),
    "text layer font size above 120": Bad(
        (*SCRIPT, "layerConfig"),
        layer(layerType="TEXT", textConfig={"fontSize": 121}),
        "INVALID_INPUT",
        "fontSize must be between 0 and 120",
        field=(*LAYER, "textConfig", "fontSize"),
    ),
    "text layer font colour not #RRGGBB": Bad(
        (*SCRIPT, "layerConfig"),
        layer(layerType="TEXT", textConfig={"fontColor": "FFFFFF"}),
        "INVALID_INPUT",
        "fontColor must be a colour written #RRGGBB",
        field=(*LAYER, "textConfig", "fontColor"),
    ),
    "text layer font name too long": Bad(
        (*SCRIPT, "layerConfig"),
        layer(layerType="TEXT", textConfig={"fontName": "f" * 65}),
        "INVALID_INPUT",
        "fontName must be at most 64 characters",
        field=(*LAYER, "textConfig", "fontName"),
    ),
    # Music, output asset, callback
    "music volume above 100": Bad(
        ("backgroundMusicConfig",),
        {"volume": 101},
        "INVALID_INPUT",
        "volume must be between 0 and 100",
        field=("backgroundMusicConfig", "volume"),
    ),
    "music asset id too long": Bad(
        ("backgroundMusicConfig",),
        {"musicAssetId": "m" * 65},
        "INVALID_INPUT",
        "at most 64 characters",
        field=("backgroundMusicConfig", "musicAssetId"),
    ),
    "output asset without its name": Bad(
        ("outputAssetConfig", "assetName"), MISSING, "REQUIRED", "assetName is required"
    ),
    "output asset name too long": Bad(
        ("outputAssetConfig", "assetName"),
        "n" * 257,
        "INVALID_INPUT",
        "assetName must be at most 256 characters",
    ),
    "callback without its url": Bad(
        ("callbackConfig",),
        {"authType": "NONE"},
        "REQUIRED",
        "callbackUrl is required",
        field=("callbackConfig", "callbackUrl"),
    ),
    "callback url too long": Bad(
        ("callbackConfig",),
        {"callbackUrl": LONG_URL},
        "INVALID_INPUT",
        "at most 2048 characters",
        field=("callbackConfig", "callbackUrl"),
    ),
    # What a 2D create needs when no script supplies it
    "model asset missing without a script": Bad(
        ("modelAssetId",), MISSING, "REQUIRED", "modelAssetId is required when scriptId is not given"
    ),
    "voice missing without a script": Bad(
        ("voiceConfig",), MISSING, "REQUIRED", "voiceConfig is required when scriptId is not given"
    ),
    "video config missing without a script": Bad(
        ("videoConfig",), MISSING, "REQUIRED", "videoConfig is required when scriptId is not given"
    ),
    "scenes missing without a script": Bad(
        ("shootScripts",), MISSING, "REQUIRED", "shootScripts is required when scriptId is not given"
    ),
    # Photo videos
    "photo without its image": Bad(
        ("humanImage",), MISSING, "REQUIRED", "humanImage is required", photo=True
    ),
    "photo with an empty image": Bad(("humanImage",), "", "REQUIRED", "humanImage is required", photo=True),
    "photo without a scene": Bad(
        ("shootScripts",), MISSING, "REQUIRED", "shootScripts is required", photo=True
    ),
    "photo with two scenes": Bad(
        ("shootScripts",),
        [script(0), script(1)],
        "INVALID_INPUT",
        "a photo video takes exactly one shoot script, got 2",
        photo=True,
    ),
    "photo codec other than H264": Bad(
        ("videoConfig", "codec"), "VP8", "INVALID_INPUT", "codec must be H264 for photo videos", photo=True
    ),
    "photo bitrate above 30000": Bad(
        ("videoConfig", "bitrate"), 30001, "INVALID_INPUT", "bitrate must be between 40 and 30000", photo=True
    ),
    "photo frame rate not 24, 25 or 30": Bad(
        ("videoConfig", "frameRate"), "50", "INVALID_INPUT", "frameRate must be one of 24, 25, 30", photo=True
    ),
    "photo voice speed above 200": Bad(
        ("voiceConfig", "speed"), 201, "INVALID_INPUT", "speed must be between 50 and 200", photo=True
    ),
    "photo text of more than 10,000 characters": Bad(
        (*SCRIPT, "textConfig", "text"),
        "a" * 10_001,
        "INVALID_INPUT",
        "without SSML tags",
        photo=True,
    ),
    # UNKNOWN only ever answers for an upstream value the gateway does not know: it is never sent.
    "layer type UNKNOWN": Bad(
        (*SCRIPT, "layerConfig"),
        layer(layerType="UNKNOWN"),
        "INVALID_INPUT",
        "layerType cannot be UNKNOWN",
        field=(*LAYER, "layerType"),
    ),
    "background type UNKNOWN": Bad(
        (*SCRIPT, "backgroundConfig"),
        [{"backgroundType": "UNKNOWN", "backgroundColorConfig": "#00FF00"}],
        "INVALID_INPUT",
        "backgroundType cannot be UNKNOWN",
        field=(*BACKGROUND, "backgroundType"),
    ),
    "script type UNKNOWN": Bad(
        (*SCRIPT, "scriptType"), "UNKNOWN", "INVALID_INPUT", "scriptType cannot be UNKNOWN"
    ),
    "codec UNKNOWN": Bad(("videoConfig", "codec"), "UNKNOWN", "INVALID_INPUT", "codec cannot be UNKNOWN"),
    "clip mode UNKNOWN": Bad(
        ("videoConfig", "clipMode"), "UNKNOWN", "INVALID_INPUT", "clipMode cannot be UNKNOWN"
    ),
    "photo codec UNKNOWN": Bad(
        ("videoConfig", "codec"), "UNKNOWN", "INVALID_INPUT", "codec cannot be UNKNOWN", photo=True
    ),
}


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
