"""Video inputs: the enums they take, their upstream JSON, and the configs both kinds of video share."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import strawberry

from schema.enums import UNKNOWN_DESCRIPTION
from schema.input_rules import (
    AtMost,
    Between,
    Checked,
    Color,
    Custom,
    OneOf,
    Present,
    Required,
    Url,
    ruled,
    unruled,
)
from schema.user_errors import Path, Problems

# Ranges, defaults and required fields follow the API reference (support.huaweicloud.com/api-metastudio:
# Create2DDigitalHumanVideo, CreatePhotoDigitalHumanVideo, and Show2DDigitalHumanVideo for the nested
# configs both share); the embedded emulator checks the same rules (gateway/emulator/validation.py).
ASSET_ID = AtMost(64)
FRAME_RATES = OneOf(("24", "25", "30"))
RESIZE_RESOLUTIONS = ((1920, 1080), (1080, 1920), (1280, 720), (720, 1280), (3840, 2160), (2160, 3840))
DEFAULT_FONT = "HarmonyOS_Sans_SC_Black"
FONT_NAME = AtMost(64)
BITRATE = Between(40, 30000)
# Input fields that steer the gateway and never travel upstream.
_GATEWAY_ONLY = frozenset({"idempotency_key"})


@strawberry.enum(description="How a video is encoded, and so its file format.")
class VideoCodec(enum.Enum):
    H264 = strawberry.enum_value("H264", description="H.264, an mp4 file (the only codec of photo videos).")
    VP8 = strawberry.enum_value("VP8", description="VP8, a webm file (2D videos only).")
    QTRLE = strawberry.enum_value("QTRLE", description="QuickTime animation (2D videos only).")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="How a 2D video is fitted to the output size.")
class VideoClipMode(enum.Enum):
    RESIZE = strawberry.enum_value("RESIZE", description="Scale the video to one of six resolutions.")
    CROP = strawberry.enum_value("CROP", description="Cut width x height out of the video at (dx, dy).")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="What drives a scene: text read by text-to-speech, or recorded audio.")
class ShootScriptType(enum.Enum):
    TEXT = strawberry.enum_value("TEXT", description="Text (plain or SSML) read by text-to-speech.")
    AUDIO = strawberry.enum_value(
        "AUDIO", description="A recorded audio file the digital human lip-syncs to."
    )
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="What a scene's background is.")
class BackgroundType(enum.Enum):
    IMAGE = strawberry.enum_value("IMAGE", description="A picture (backgroundConfig is its URL).")
    COLOR = strawberry.enum_value("COLOR", description="A plain colour (backgroundColorConfig).")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="What a layer of a scene shows.")
class LayerType(enum.Enum):
    HUMAN = strawberry.enum_value("HUMAN", description="The digital human.")
    IMAGE = strawberry.enum_value("IMAGE", description="A picture (imageConfig).")
    VIDEO = strawberry.enum_value("VIDEO", description="A video clip (videoConfig).")
    TEXT = strawberry.enum_value("TEXT", description="A caption (textConfig).")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="How MetaStudio authenticates the job notifications it sends.")
class CallbackAuthType(enum.Enum):
    NONE = strawberry.enum_value("NONE", description="No authentication.")
    MSS_A = strawberry.enum_value("MSS_A", description="Signed with the callback key.")


def upstream_json(value: object) -> Any:
    """An input as the upstream's JSON: snake_case names, enums as their strings, unset fields left out."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [upstream_json(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        body: dict[str, Any] = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if item is not None and field.name not in _GATEWAY_ONLY:
                body[field.name] = upstream_json(item)
        return body
    return value


@strawberry.input(description="The voice the digital human speaks with.")
class VoiceConfigInput(Checked):
    voice_asset_id: str | None = ruled(
        "{required} Id of the voice asset (1-{most} characters).", Required(), AtMost(256)
    )
    speed: int | None = ruled(
        "Speech speed, {range}; 100 is normal (about 250 words a minute).", Between(50, 200), default=100
    )
    pitch: int | None = ruled("Pitch, {range}.", Between(50, 200), default=100)
    volume: int | None = ruled("Volume, {range}.", Between(90, 240), default=140)


SUBTITLE_BOX = Between(0, 1920)


@strawberry.input(description="How subtitles are drawn on a 2D video.")
class SubtitleConfigInput(Checked):
    dx: int | None = ruled("X of the subtitle box's bottom-left corner, {range} pixels.", SUBTITLE_BOX)
    dy: int | None = ruled("Y of the subtitle box's bottom-left corner, {range} pixels.", SUBTITLE_BOX)
    h: int | None = ruled("Subtitle box height, {range} pixels.", SUBTITLE_BOX)
    w: int | None = ruled("Subtitle box width, {range} pixels.", SUBTITLE_BOX)
    font_name: str | None = ruled("Font name (at most {most} characters).", FONT_NAME, default=DEFAULT_FONT)
    font_size: int | None = ruled("Font size, {range} (24-120 in practice).", Between(0, 120), default=54)
    font_color: str | None = ruled("Font colour, {color}.", Color())
    stroke_color: str | None = ruled("Outline colour, {color}.", Color())
    stroke_thickness: float | None = ruled("Outline thickness, {range}.", Between(0, 50))
    opacity: float | None = ruled("Opacity, {range}.", Between(0, 1))


def _resized(problems: Problems, path: Path, width: Any, config: Any) -> None:
    sized = all(side is not None and 0 <= side <= 3840 for side in (width, config.height))
    resize = config.clip_mode in (None, VideoClipMode.RESIZE)
    # Only a size within range can be judged against the resolutions RESIZE supports.
    if resize and sized and (width, config.height) not in RESIZE_RESOLUTIONS:
        problems.add(
            path,
            f"with clipMode RESIZE, width x height must be one of {_RESOLUTIONS}, "
            f"got {width}x{config.height}",
        )


_RESOLUTIONS = ", ".join(f"{w}x{h}" for w, h in RESIZE_RESOLUTIONS)
VIDEO_SIDE = Between(0, 3840)
OFFSET = Between(-1920, 3840)


@strawberry.input(description="How a 2D digital-human video is encoded, sized and subtitled.")
class VideoConfigInput(Checked):
    clip_mode: VideoClipMode | None = unruled("RESIZE or CROP.", VideoClipMode.RESIZE)
    codec: VideoCodec | None = unruled("H264 (mp4), VP8 (webm) or QTRLE.", VideoCodec.H264)
    bitrate: int | None = ruled("{required} Average bitrate in kbps, {range}.", Required(), BITRATE)
    # A RESIZE size is judged once width is checked: only a height in range lets it be judged at all.
    width: int | None = ruled(
        "{required} Width in pixels, {range}; with RESIZE, width x height is one of {resolutions}.",
        Required(),
        VIDEO_SIDE,
        Custom("resolutions", _RESOLUTIONS, _resized),
    )
    height: int | None = ruled("{required} Height in pixels, {range}.", Required(), VIDEO_SIDE)
    frame_rate: str | None = ruled(
        "Frames per second: {options} (2D videos are made at 25).", FRAME_RATES, default="25"
    )
    is_subtitle_enable: bool | None = unruled("Whether the video carries subtitles.", False)
    subtitle_config: SubtitleConfigInput | None = unruled("How subtitles are drawn.")
    dx: int | None = ruled("X of the crop's top-left corner (CROP), {range}.", OFFSET)
    dy: int | None = ruled("Y of the crop's top-left corner (CROP), {range}.", OFFSET)
    is_enable_super_resolution: bool | None = unruled("Whether super-resolution is on.", False)
    is_end_at_first_frame: bool | None = unruled(
        "Whether the last frame equals the first, so several videos join seamlessly.", False
    )
    output_external_url: str | None = ruled(
        "External URL the video is also written to (at most {most}).", Url()
    )
    is_vocabulary_config_enable: bool | None = unruled(
        "Whether the tenant's pronunciation vocabulary applies."
    )


def _photo_codec(problems: Problems, path: Path, codec: Any, config: Any) -> None:
    # UNKNOWN gets its own problem, as in every input.
    if codec not in (VideoCodec.H264, VideoCodec.UNKNOWN):
        problems.add(path, f"codec must be H264 for photo videos, got {codec.name}")


@strawberry.input(description="How a photo digital-human video is encoded.")
class PhotoVideoConfigInput(Checked):
    codec: VideoCodec | None = ruled(
        "{only}, the only codec of photo videos.",
        Present(),
        Custom("only", VideoCodec.H264.name, _photo_codec),
        default=VideoCodec.H264,
    )
    bitrate: int | None = ruled("Average bitrate in kbps, {range}.", BITRATE)
    frame_rate: str | None = ruled("Frames per second: {options}.", FRAME_RATES)


@strawberry.input(description="The video asset the job produces.")
class OutputAssetConfigInput(Checked):
    asset_name: str | None = ruled(
        "{required} Name of the video asset (at most {most} characters).", Required(), AtMost(256)
    )


@strawberry.input(description="Music played under the whole video.")
class BackgroundMusicConfigInput(Checked):
    music_asset_id: str | None = ruled("Id of the music asset (at most {most} characters).", ASSET_ID)
    volume: int | None = ruled("Music volume in percent, {range}.", Between(0, 100), default=100)


@strawberry.input(description="Content review of the video.")
class ReviewConfigInput:
    no_need_review: bool | None = unruled("Whether the video skips content review.")


@strawberry.input(description="Where MetaStudio notifies when the job ends.")
class CallbackConfigInput(Checked):
    callback_url: str | None = ruled(
        "{required} URL notified when the job ends (at most {most}).", Required(), Url()
    )
    auth_type: CallbackAuthType | None = unruled("How notifications are authenticated.")
    key: str | None = unruled("Key that signs notifications (authType MSS_A).")


@strawberry.input(description="How often the digital human makes its actions.")
class ActionConfigInput:
    action_interval: float | None = unruled("Seconds between actions.")
