"""The video creates' documented rules for shoot scripts, backgrounds and layers, each broken once."""

from __future__ import annotations

from tests.schema.video_input_rules import (
    ACTION,
    BACKGROUND,
    LAYER,
    LONG_URL,
    MISSING,
    SCRIPT,
    Bad,
    background,
    layer,
    script,
)

SCENE_RULES: dict[str, Bad] = {
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
}
