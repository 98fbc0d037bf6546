"""What a client sends to create a video job: typed inputs, their documented rules, their upstream body."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence
from typing import Any

import strawberry

from schema.enums import UNKNOWN_DESCRIPTION
from schema.user_errors import Path, Problems, UserErrorCode

# Ranges, defaults and required fields follow the API reference (support.huaweicloud.com/api-metastudio:
# Create2DDigitalHumanVideo, CreatePhotoDigitalHumanVideo, and Show2DDigitalHumanVideo for the nested
# configs both share); the embedded emulator checks the same rules (gateway/emulator/validation.py).
ASSET_ID_MAX = 64
URL_MAX = 2048
TEXT_MAX = 131_072
TEXT_WITHOUT_SSML_MAX = 10_000
FRAME_RATES = ("24", "25", "30")
RESIZE_RESOLUTIONS = ((1920, 1080), (1080, 1920), (1280, 720), (720, 1280), (3840, 2160), (2160, 3840))
DEFAULT_FONT = "HarmonyOS_Sans_SC_Black"
# The upstream counts a text's length without its SSML markup.
_SSML_TAG = re.compile(r"<[^<>]*>")
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


def _field(description: str, default: Any = None) -> Any:
    return strawberry.field(default=default, description=description)


def _at(path: Path, *more: str | int) -> list[str | int]:
    return [*path, *more]


def _asset_id(problems: Problems, path: Path, value: str | None) -> None:
    problems.at_most(path, value, ASSET_ID_MAX)


def _text(problems: Problems, path: Path, text: str | None) -> None:
    if not problems.required(path, text) or text is None:
        return
    problems.at_most(path, text, TEXT_MAX)
    spoken = len(_SSML_TAG.sub("", text))
    if spoken > TEXT_WITHOUT_SSML_MAX:
        problems.add(
            path,
            f"text must be at most {TEXT_WITHOUT_SSML_MAX} characters without SSML tags, got {spoken}",
        )


def _frame_rate(problems: Problems, path: Path, value: str | None) -> None:
    problems.one_of(path, value, FRAME_RATES)


@strawberry.input(description="The voice the digital human speaks with.")
class VoiceConfigInput:
    voice_asset_id: str | None = _field("Required. Id of the voice asset (1-256 characters).")
    speed: int | None = _field("Speech speed, 50-200; 100 is normal (about 250 words a minute).", 100)
    pitch: int | None = _field("Pitch, 50-200.", 100)
    volume: int | None = _field("Volume, 90-240.", 140)

    def check(self, problems: Problems, path: Path) -> None:
        if problems.required(_at(path, "voiceAssetId"), self.voice_asset_id):
            problems.at_most(_at(path, "voiceAssetId"), self.voice_asset_id, 256)
        problems.between(_at(path, "speed"), self.speed, 50, 200)
        problems.between(_at(path, "pitch"), self.pitch, 50, 200)
        problems.between(_at(path, "volume"), self.volume, 90, 240)


@strawberry.input(description="How subtitles are drawn on a 2D video.")
class SubtitleConfigInput:
    dx: int | None = _field("X of the subtitle box's bottom-left corner, 0-1920 pixels.")
    dy: int | None = _field("Y of the subtitle box's bottom-left corner, 0-1920 pixels.")
    h: int | None = _field("Subtitle box height, 0-1920 pixels.")
    w: int | None = _field("Subtitle box width, 0-1920 pixels.")
    font_name: str | None = _field("Font name (at most 64 characters).", DEFAULT_FONT)
    font_size: int | None = _field("Font size, 0-120 (24-120 in practice).", 54)
    font_color: str | None = _field("Font colour, #RRGGBB.")
    stroke_color: str | None = _field("Outline colour, #RRGGBB.")
    stroke_thickness: float | None = _field("Outline thickness, 0-50.")
    opacity: float | None = _field("Opacity, 0-1.")

    def check(self, problems: Problems, path: Path) -> None:
        for name, value in (("dx", self.dx), ("dy", self.dy), ("h", self.h), ("w", self.w)):
            problems.between(_at(path, name), value, 0, 1920)
        problems.at_most(_at(path, "fontName"), self.font_name, 64)
        problems.between(_at(path, "fontSize"), self.font_size, 0, 120)
        problems.color(_at(path, "fontColor"), self.font_color)
        problems.color(_at(path, "strokeColor"), self.stroke_color)
        problems.between(_at(path, "strokeThickness"), self.stroke_thickness, 0, 50)
        problems.between(_at(path, "opacity"), self.opacity, 0, 1)


@strawberry.input(description="How a 2D digital-human video is encoded, sized and subtitled.")
class VideoConfigInput:
    clip_mode: VideoClipMode | None = _field("RESIZE or CROP.", VideoClipMode.RESIZE)
    codec: VideoCodec | None = _field("H264 (mp4), VP8 (webm) or QTRLE.", VideoCodec.H264)
    bitrate: int | None = _field("Required. Average bitrate in kbps, 40-30000.")
    width: int | None = _field(
        "Required. Width in pixels, 0-3840; with RESIZE, width x height is one of 1920x1080, 1080x1920, "
        "1280x720, 720x1280, 3840x2160, 2160x3840."
    )
    height: int | None = _field("Required. Height in pixels, 0-3840.")
    frame_rate: str | None = _field("Frames per second: 24, 25 or 30 (2D videos are made at 25).", "25")
    is_subtitle_enable: bool | None = _field("Whether the video carries subtitles.", False)
    subtitle_config: SubtitleConfigInput | None = _field("How subtitles are drawn.")
    dx: int | None = _field("X of the crop's top-left corner (CROP), -1920-3840.")
    dy: int | None = _field("Y of the crop's top-left corner (CROP), -1920-3840.")
    is_enable_super_resolution: bool | None = _field("Whether super-resolution is on.", False)
    is_end_at_first_frame: bool | None = _field(
        "Whether the last frame equals the first, so several videos join seamlessly.", False
    )
    output_external_url: str | None = _field("External URL the video is also written to (at most 2048).")
    is_vocabulary_config_enable: bool | None = _field(
        "Whether the tenant's pronunciation vocabulary applies."
    )

    def check(self, problems: Problems, path: Path) -> None:
        if problems.required(_at(path, "bitrate"), self.bitrate):
            problems.between(_at(path, "bitrate"), self.bitrate, 40, 30000)
        for name, value in (("width", self.width), ("height", self.height)):
            if problems.required(_at(path, name), value):
                problems.between(_at(path, name), value, 0, 3840)
        sized = all(value is not None and 0 <= value <= 3840 for value in (self.width, self.height))
        resize = self.clip_mode in (None, VideoClipMode.RESIZE)
        # Only a size within range can be judged against the resolutions RESIZE supports.
        if resize and sized and (self.width, self.height) not in RESIZE_RESOLUTIONS:
            allowed = ", ".join(f"{w}x{h}" for w, h in RESIZE_RESOLUTIONS)
            problems.add(
                _at(path, "width"),
                f"with clipMode RESIZE, width x height must be one of {allowed}, "
                f"got {self.width}x{self.height}",
            )
        _frame_rate(problems, _at(path, "frameRate"), self.frame_rate)
        if self.subtitle_config is not None:
            self.subtitle_config.check(problems, _at(path, "subtitleConfig"))
        problems.between(_at(path, "dx"), self.dx, -1920, 3840)
        problems.between(_at(path, "dy"), self.dy, -1920, 3840)
        problems.url(_at(path, "outputExternalUrl"), self.output_external_url, URL_MAX)


@strawberry.input(description="How a photo digital-human video is encoded.")
class PhotoVideoConfigInput:
    codec: VideoCodec | None = _field("H264, the only codec of photo videos.", VideoCodec.H264)
    bitrate: int | None = _field("Average bitrate in kbps, 40-30000.")
    frame_rate: str | None = _field("Frames per second: 24, 25 or 30.")

    def check(self, problems: Problems, path: Path) -> None:
        codec = self.codec
        if (
            problems.required(_at(path, "codec"), codec)
            and codec is not None
            # UNKNOWN gets its own problem, as in every input.
            and codec not in (VideoCodec.H264, VideoCodec.UNKNOWN)
        ):
            problems.add(_at(path, "codec"), f"codec must be H264 for photo videos, got {codec.name}")
        problems.between(_at(path, "bitrate"), self.bitrate, 40, 30000)
        _frame_rate(problems, _at(path, "frameRate"), self.frame_rate)


@strawberry.input(description="The words the digital human says.")
class TextConfigInput:
    text: str | None = _field(
        "Required. Plain text or SSML; at most 10,000 characters without SSML tags (131,072 with them)."
    )

    def check(self, problems: Problems, path: Path) -> None:
        _text(problems, _at(path, "text"), self.text)


@strawberry.input(description="An action the digital human makes while recorded audio drives it.")
class AudioDriveActionConfigInput:
    action_tag: str | None = _field("Required. Tag of the action.")
    action_name: str | None = _field("Name of the action.")
    action_start_time: float | None = _field("Required. When the action starts, 0-2592000 seconds.")

    def check(self, problems: Problems, path: Path) -> None:
        problems.required(_at(path, "actionTag"), self.action_tag)
        if problems.required(_at(path, "actionStartTime"), self.action_start_time):
            problems.between(_at(path, "actionStartTime"), self.action_start_time, 0, 2592000)


@strawberry.input(description="Where a background picture sits.")
class BackgroundImageConfigInput:
    dx: int | None = _field("Required. X of the picture's top-left corner, in pixels.")
    dy: int | None = _field("Required. Y of the picture's top-left corner, in pixels.")
    width: int | None = _field("Required. Picture width, in pixels.")
    height: int | None = _field("Required. Picture height, in pixels.")

    def check(self, problems: Problems, path: Path) -> None:
        for name, value in (("dx", self.dx), ("dy", self.dy), ("width", self.width), ("height", self.height)):
            problems.required(_at(path, name), value)


@strawberry.input(description="A scene's background: a picture or a plain colour.")
class BackgroundConfigInput:
    background_type: BackgroundType | None = _field("Required. IMAGE or COLOR.")
    background_config: str | None = _field("URL of the picture; required for IMAGE (at most 2048).")
    background_color_config: str | None = _field("The colour, #RRGGBB; required for COLOR.")
    background_asset_id: str | None = _field("Id of the picture's asset (at most 64 characters).")
    background_image_config: BackgroundImageConfigInput | None = _field("Where the picture sits.")

    def check(self, problems: Problems, path: Path) -> None:
        problems.required(_at(path, "backgroundType"), self.background_type)
        if self.background_type is BackgroundType.IMAGE:
            problems.required(_at(path, "backgroundConfig"), self.background_config)
        if self.background_type is BackgroundType.COLOR:
            problems.required(_at(path, "backgroundColorConfig"), self.background_color_config)
        problems.url(_at(path, "backgroundConfig"), self.background_config, URL_MAX)
        problems.color(_at(path, "backgroundColorConfig"), self.background_color_config)
        _asset_id(problems, _at(path, "backgroundAssetId"), self.background_asset_id)
        if self.background_image_config is not None:
            self.background_image_config.check(problems, _at(path, "backgroundImageConfig"))


@strawberry.input(description="Where a layer sits on the canvas (1920x1080 landscape, 1080x1920 portrait).")
class LayerPositionConfigInput:
    dx: int | None = _field("X of the layer's top-left corner, -1920-3840.", 0)
    dy: int | None = _field("Y of the layer's top-left corner, -1920-3840.", 0)
    layer_index: int | None = _field("Stacking order, 1-100; 1 is the bottom layer.", 100)

    def check(self, problems: Problems, path: Path) -> None:
        for name, value in (("dx", self.dx), ("dy", self.dy)):
            if problems.required(_at(path, name), value):
                problems.between(_at(path, name), value, -1920, 3840)
        if problems.required(_at(path, "layerIndex"), self.layer_index):
            problems.between(_at(path, "layerIndex"), self.layer_index, 1, 100)


@strawberry.input(description="A layer's size on the canvas.")
class LayerSizeConfigInput:
    width: int | None = _field("Width in canvas pixels, 1-7680.")
    height: int | None = _field("Height in canvas pixels, 1-7680.")

    def check(self, problems: Problems, path: Path) -> None:
        problems.between(_at(path, "width"), self.width, 1, 7680)
        problems.between(_at(path, "height"), self.height, 1, 7680)


@strawberry.input(description="How far a layer is turned.")
class LayerRotationConfigInput:
    angle: int | None = _field("Clockwise angle in degrees, 0-360.")

    def check(self, problems: Problems, path: Path) -> None:
        problems.between(_at(path, "angle"), self.angle, 0, 360)


@strawberry.input(description="The picture an IMAGE layer shows.")
class ImageLayerConfigInput:
    image_url: str | None = _field("URL of the picture (at most 2048 characters).")

    def check(self, problems: Problems, path: Path) -> None:
        problems.url(_at(path, "imageUrl"), self.image_url, URL_MAX)


@strawberry.input(description="The video a VIDEO layer plays.")
class VideoLayerConfigInput:
    video_url: str | None = _field("URL of the video (at most 2048 characters).")
    video_cover_url: str | None = _field("URL of the video's cover picture (at most 2048 characters).")
    loop_count: int | None = _field("How often it plays, -1-100: 0 never, -1 forever.", -1)
    video_sound: int | None = _field("The video's own volume, 0-100.")
    is_play_the_entire_video: bool | None = _field("Whether the whole video plays to its end.")

    def check(self, problems: Problems, path: Path) -> None:
        problems.url(_at(path, "videoUrl"), self.video_url, URL_MAX)
        problems.url(_at(path, "videoCoverUrl"), self.video_cover_url, URL_MAX)
        problems.between(_at(path, "loopCount"), self.loop_count, -1, 100)
        problems.between(_at(path, "videoSound"), self.video_sound, 0, 100)


@strawberry.input(description="The words a TEXT layer shows.")
class TextLayerConfigInput:
    text_context: str | None = _field("The text, Base64-encoded (at most 1024 characters).")
    font_name: str | None = _field("Font name (at most 64 characters).", DEFAULT_FONT)
    font_size: int | None = _field("Font size in pixels, 0-120 (4-120 in practice).", 16)
    font_color: str | None = _field("Font colour, #RRGGBB.", "#FFFFFF")

    def check(self, problems: Problems, path: Path) -> None:
        problems.at_most(_at(path, "textContext"), self.text_context, 1024)
        problems.at_most(_at(path, "fontName"), self.font_name, 64)
        problems.between(_at(path, "fontSize"), self.font_size, 0, 120)
        problems.color(_at(path, "fontColor"), self.font_color)


@strawberry.input(description="One layer of a scene: the human, a picture, a video or a text.")
class LayerConfigInput:
    layer_type: LayerType | None = _field("Required. HUMAN, IMAGE, VIDEO or TEXT.")
    asset_id: str | None = _field("Id of the layer's asset (at most 64 characters).")
    group_id: str | None = _field("Layers of one group share their position across scenes (at most 64).")
    sequence_no: int | None = _field("Order of the layer.")
    position: LayerPositionConfigInput | None = _field("Where the layer sits.")
    size: LayerSizeConfigInput | None = _field("How big the layer is.")
    rotation: LayerRotationConfigInput | None = _field("How far the layer is turned.")
    image_config: ImageLayerConfigInput | None = _field("The picture of an IMAGE layer.")
    video_config: VideoLayerConfigInput | None = _field("The video of a VIDEO layer.")
    text_config: TextLayerConfigInput | None = _field("The text of a TEXT layer.")

    def check(self, problems: Problems, path: Path) -> None:
        problems.required(_at(path, "layerType"), self.layer_type)
        _asset_id(problems, _at(path, "assetId"), self.asset_id)
        _asset_id(problems, _at(path, "groupId"), self.group_id)
        parts: tuple[tuple[str, Any], ...] = (
            ("position", self.position),
            ("size", self.size),
            ("rotation", self.rotation),
            ("imageConfig", self.image_config),
            ("videoConfig", self.video_config),
            ("textConfig", self.text_config),
        )
        for name, part in parts:
            if part is not None:
                part.check(problems, _at(path, name))


@strawberry.input(description="The recorded audio that drives a scene.")
class AudioConfigInput:
    audio_id: int | None = _field("Id of the audio.")


def _each(problems: Problems, path: Path, items: Sequence[Any] | None) -> None:
    for index, item in enumerate(items or ()):
        item.check(problems, _at(path, index))


@strawberry.input(description="A scene of a 2D video: what drives it, its background and its layers.")
class ShootScriptInput:
    script_type: ShootScriptType | None = _field("TEXT (text-to-speech) or AUDIO.", ShootScriptType.TEXT)
    text_config: TextConfigInput | None = _field("The words said, for TEXT scenes.")
    audio_duration: float | None = _field("Length of the driving audio, in seconds.")
    audio_drive_action_config: list[AudioDriveActionConfigInput] | None = _field(
        "Actions made while the audio plays."
    )
    audio_drive_file_external_url: str | None = _field("URL of the driving audio file (at most 2048).")
    background_config: list[BackgroundConfigInput] | None = _field("The scene's backgrounds.")
    layer_config: list[LayerConfigInput] | None = _field("The scene's layers.")
    audio_config: AudioConfigInput | None = _field("The recorded audio that drives the scene.")

    def check(self, problems: Problems, path: Path) -> None:
        if self.text_config is not None:
            self.text_config.check(problems, _at(path, "textConfig"))
        _each(problems, _at(path, "audioDriveActionConfig"), self.audio_drive_action_config)
        problems.url(_at(path, "audioDriveFileExternalUrl"), self.audio_drive_file_external_url, URL_MAX)
        _each(problems, _at(path, "backgroundConfig"), self.background_config)
        _each(problems, _at(path, "layerConfig"), self.layer_config)


@strawberry.input(description="A scene of a photo video: only its type and its words.")
class PhotoShootScriptInput:
    script_type: ShootScriptType | None = _field("TEXT (text-to-speech) or AUDIO.", ShootScriptType.TEXT)
    text_config: TextConfigInput | None = _field("The words said.")

    def check(self, problems: Problems, path: Path) -> None:
        if self.text_config is not None:
            self.text_config.check(problems, _at(path, "textConfig"))


@strawberry.input(description="A subtitle file made for the video.")
class SubtitleFileInfoInput:
    subtitle_file_download_url: str | None = _field("Download URL of the subtitle file.")
    subtitle_file_upload_url: str | None = _field("Upload URL of the subtitle file.")
    subtitle_file_state: str | None = _field("GENERATING, GENERATE_SUCCEED or GENERATE_FAILED.")
    job_id: str | None = _field("Id of the job that made the subtitle file.")


@strawberry.input(description="Subtitle files of a scene.")
class SubtitleFilesInput:
    text_subtitle_file: SubtitleFileInfoInput | None = _field("Subtitles from the text.")
    audio_subtitle_file: SubtitleFileInfoInput | None = _field("Subtitles from the audio.")


@strawberry.input(description="One numbered scene of a 2D video.")
class ShootScriptItemInput:
    sequence_no: int | None = _field("The scene's number, 0 or more; no two scenes share one.")
    shoot_script: ShootScriptInput | None = _field("What the scene shows and says.")
    subtitle_file_info: SubtitleFilesInput | None = _field("Subtitle files of the scene.")

    def check(self, problems: Problems, path: Path) -> None:
        problems.between(_at(path, "sequenceNo"), self.sequence_no, 0, 2147483647)
        if self.shoot_script is not None:
            self.shoot_script.check(problems, _at(path, "shootScript"))


@strawberry.input(description="The one scene of a photo video.")
class PhotoShootScriptItemInput:
    sequence_no: int | None = _field("The scene's number, 0 or more.")
    shoot_script: PhotoShootScriptInput | None = _field("What the scene says.")
    subtitle_file_info: SubtitleFilesInput | None = _field("Subtitle files of the scene.")

    def check(self, problems: Problems, path: Path) -> None:
        problems.between(_at(path, "sequenceNo"), self.sequence_no, 0, 2147483647)
        if self.shoot_script is not None:
            self.shoot_script.check(problems, _at(path, "shootScript"))


@strawberry.input(description="The video asset the job produces.")
class OutputAssetConfigInput:
    asset_name: str | None = _field("Required. Name of the video asset (at most 256 characters).")

    def check(self, problems: Problems, path: Path) -> None:
        if problems.required(_at(path, "assetName"), self.asset_name):
            problems.at_most(_at(path, "assetName"), self.asset_name, 256)


@strawberry.input(description="Music played under the whole video.")
class BackgroundMusicConfigInput:
    music_asset_id: str | None = _field("Id of the music asset (at most 64 characters).")
    volume: int | None = _field("Music volume in percent, 0-100.", 100)

    def check(self, problems: Problems, path: Path) -> None:
        _asset_id(problems, _at(path, "musicAssetId"), self.music_asset_id)
        problems.between(_at(path, "volume"), self.volume, 0, 100)


@strawberry.input(description="Content review of the video.")
class ReviewConfigInput:
    no_need_review: bool | None = _field("Whether the video skips content review.")


@strawberry.input(description="Where MetaStudio notifies when the job ends.")
class CallbackConfigInput:
    callback_url: str | None = _field("Required. URL notified when the job ends (at most 2048).")
    auth_type: CallbackAuthType | None = _field("How notifications are authenticated.")
    key: str | None = _field("Key that signs notifications (authType MSS_A).")

    def check(self, problems: Problems, path: Path) -> None:
        if problems.required(_at(path, "callbackUrl"), self.callback_url):
            problems.url(_at(path, "callbackUrl"), self.callback_url, URL_MAX)


@strawberry.input(description="How often the digital human makes its actions.")
class ActionConfigInput:
    action_interval: float | None = _field("Seconds between actions.")


def _scripts(problems: Problems, path: Path, items: Sequence[Any] | None) -> None:
    _each(problems, path, items)
    problems.unique(path, [item.sequence_no for item in items or ()], "sequenceNo")


def _common(problems: Problems, job: Any) -> None:
    """Rules of the configs both kinds of video share."""
    parts: tuple[tuple[str, Any], ...] = (
        ("voiceConfig", job.voice_config),
        ("videoConfig", job.video_config),
        ("outputAssetConfig", job.output_asset_config),
        ("backgroundMusicConfig", job.background_music_config),
        ("callbackConfig", job.callback_config),
    )
    for name, part in parts:
        if part is not None:
            part.check(problems, ["input", name])


@strawberry.input(
    description="A 2D digital-human video to make from a model asset (Create2DDigitalHumanVideo)."
)
class CreateVideoJobInput:
    script_id: str | None = _field(
        "Id of a saved script; when given, it supplies whatever of modelAssetId, voiceConfig, "
        "videoConfig and shootScripts is left out."
    )
    model_asset_id: str | None = _field("Id of the digital-human model asset; required without scriptId.")
    voice_config: VoiceConfigInput | None = _field("The voice; required without scriptId.")
    video_config: VideoConfigInput | None = _field("How the video is encoded; required without scriptId.")
    shoot_scripts: list[ShootScriptItemInput] | None = _field(
        "The scenes, each with its own sequenceNo; required without scriptId."
    )
    output_asset_config: OutputAssetConfigInput | None = _field("The video asset the job produces.")
    background_music_config: BackgroundMusicConfigInput | None = _field("Music under the whole video.")
    review_config: ReviewConfigInput | None = _field("Content review of the video.")
    callback_config: CallbackConfigInput | None = _field("Where MetaStudio notifies when the job ends.")
    action_config: ActionConfigInput | None = _field("How often the digital human makes its actions.")
    idempotency_key: str | None = _field(
        "Makes retries safe: the same key from the same caller within 24 hours returns the first "
        "result and creates nothing more."
    )

    def problems(self) -> Problems:
        problems = Problems()
        if self.script_id is None:
            for name, value in (
                ("modelAssetId", self.model_asset_id),
                ("voiceConfig", self.voice_config),
                ("videoConfig", self.video_config),
                ("shootScripts", self.shoot_scripts),
            ):
                if value is None:
                    problems.add(
                        ["input", name],
                        f"{name} is required when scriptId is not given",
                        UserErrorCode.REQUIRED,
                    )
        _common(problems, self)
        _scripts(problems, ["input", "shootScripts"], self.shoot_scripts)
        return problems

    def upstream_body(self) -> dict[str, Any]:
        body: dict[str, Any] = upstream_json(self)
        return body


@strawberry.input(description="A digital-human video to make from a photo (CreatePhotoDigitalHumanVideo).")
class CreatePhotoVideoJobInput:
    script_id: str | None = _field("Id of a saved script.")
    human_image: str | None = _field("Required. The photo of the person, Base64-encoded.")
    voice_config: VoiceConfigInput | None = _field("The voice.")
    video_config: PhotoVideoConfigInput | None = _field("How the video is encoded.")
    shoot_scripts: list[PhotoShootScriptItemInput] | None = _field("Required. Exactly one scene.")
    output_asset_config: OutputAssetConfigInput | None = _field("The video asset the job produces.")
    background_music_config: BackgroundMusicConfigInput | None = _field("Music under the whole video.")
    review_config: ReviewConfigInput | None = _field("Content review of the video.")
    callback_config: CallbackConfigInput | None = _field("Where MetaStudio notifies when the job ends.")
    id_card_image1: str | None = _field("Front of the person's identity card, Base64-encoded.")
    id_card_image2: str | None = _field("Back of the person's identity card, Base64-encoded.")
    authorize_use_human_image: bool | None = _field("Whether the person authorised use of the photo.")
    idempotency_key: str | None = _field(
        "Makes retries safe: the same key from the same caller within 24 hours returns the first "
        "result and creates nothing more."
    )

    def problems(self) -> Problems:
        problems = Problems()
        problems.required(["input", "humanImage"], self.human_image)
        if problems.required(["input", "shootScripts"], self.shoot_scripts) and self.shoot_scripts:
            if len(self.shoot_scripts) != 1:
                problems.add(
                    ["input", "shootScripts"],
                    f"a photo video takes exactly one shoot script, got {len(self.shoot_scripts)}",
                )
        _common(problems, self)
        _scripts(problems, ["input", "shootScripts"], self.shoot_scripts)
        return problems

    def upstream_body(self) -> dict[str, Any]:
        body: dict[str, Any] = upstream_json(self)
        return body


__all__ = [
    "BackgroundType",
    "CallbackAuthType",
    "CreatePhotoVideoJobInput",
    "CreateVideoJobInput",
    "LayerType",
    "ShootScriptType",
    "VideoClipMode",
    "VideoCodec",
    "upstream_json",
]
