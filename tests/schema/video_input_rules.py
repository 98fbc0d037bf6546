"""The video creates' documented input rules, each broken once: settings, outputs and photo videos."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


SETTINGS_RULES: dict[str, Bad] = {
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
}

OTHER_RULES: dict[str, Bad] = {
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
