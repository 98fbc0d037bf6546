"""What the API reference documents for each request field beyond its type: required, bounds, choices."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Rule:
    """What the API reference documents for one field beyond its type."""

    required: bool = False
    between: tuple[float, float] | None = None
    length: tuple[int, int | None] | None = None  # characters, inclusive; None: no upper bound
    one_of: tuple[str, ...] | None = None  # for a list, each item
    pattern: tuple[str, str] | None = None  # (regex, what it means)
    items: tuple[int, int] | None = None
    unique: str | None = None  # a key whose value no two list items share
    plain_text_max: int | None = None  # characters once SSML tags are removed


_COLOUR = (r"#[0-9A-Fa-f]{6}", "a colour like #RRGGBB")
_ASSET_ID = Rule(length=(0, 64))
# The reference pages give 1-2048 characters for every URL whose length they state (backgrounds,
# image and video layers); the same bound is applied to the URLs whose pages leave it out.
_URL = Rule(length=(1, 2048))
_REQUIRED_URL = Rule(required=True, length=(1, 2048))
_FRAME_RATES = ("24", "25", "30")
_TRAINING_COMMAND_MESSAGES = (
    "UPDATE_VIDEO",
    "UPLOAD_VIDEO",
    "CONFIRM_ACTION_VIDEO",
    "GET_ACTION_VIDEO_MULTIPART",
)
_PICTURE_STYLES = ("system_male_001", "system_female_001", "system_male_002", "system_female_002")

# Sources: support.huaweicloud.com/api-metastudio/<Operation>.md (Create2DDigitalHumanVideo,
# Show2DDigitalHumanVideo for the shared nested configs, CreatePhotoDigitalHumanVideo,
# Create2dModelTrainingJob, Execute2dModelTrainingCommandByUser, CreatePictureModelingJob,
# CreatePictureModelingByUrlJob); "required" follows the pages' 是否必选 column.
RULES: dict[str, dict[str, Rule]] = {
    "Create2DDigitalHumanVideoReq": {
        "shoot_scripts": Rule(unique="sequence_no"),
    },
    "CreatePhotoDigitalHumanVideoReq": {
        "human_image": Rule(required=True, length=(1, None)),
        # A photo video takes exactly one shoot_script.
        "shoot_scripts": Rule(required=True, items=(1, 1), unique="sequence_no"),
    },
    "Create2dModelTrainingJobReq": {
        "name": Rule(required=True, length=(1, None)),
        "command_message": Rule(one_of=_TRAINING_COMMAND_MESSAGES),
        "video_multipart_count": Rule(between=(1, 1000)),
        "action_video_multipart_count": Rule(between=(1, 1000)),
        # V2 and V3 are documented as retired; the SDK enum still lists them.
        "model_version": Rule(one_of=("V3.2", "V3.3")),
        "audio_source_type": Rule(one_of=("VIDEO", "AUDIO")),
        "supported_service": Rule(one_of=("VIDEO_2D", "LIVE_2D", "CHAT_2D")),
    },
    "PictureModelingByUrlReq": {
        "picture_url": _REQUIRED_URL,
        "style_id": Rule(required=True, length=(1, None)),
        "name": Rule(required=True, length=(1, None)),
        "notify_url": _URL,
    },
    "CreatePictureModelingJobRequestBody": {
        "style_id": Rule(required=True, one_of=_PICTURE_STYLES),
        "name": Rule(required=True, length=(1, None)),
        "notify_url": _URL,
    },
    "Execute2dModelTrainingCommandByUserReq": {
        "command": Rule(
            required=True,
            one_of=(
                "SUBMITVERIFYING",
                "CONFIRM_ACCEPT",
                "CONFIRM_REJECT",
                "CONFIRM_ANSWER",
                "CONFIRM_PENDING",
                "CONFIRM_ACTIVE",
                "GET_MULTIPART_UPLOADED",
                "CONFIRM_REPAIR",
                "CONFIRM_MULTIPART_UPLOADED",
                "GET_ACTION_VIDEO_MULTIPART_UPLOADED",
                "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED",
                "CONFIRM_AUTHORIZATION_LETTER",
                "DELETE_JOB_VIDEO",
            ),
        ),
        "command_message": Rule(one_of=_TRAINING_COMMAND_MESSAGES),
    },
    "VoiceConfig": {
        "voice_asset_id": Rule(required=True, length=(1, 256)),
        "speed": Rule(between=(50, 200)),
        "pitch": Rule(between=(50, 200)),
        "volume": Rule(between=(90, 240)),
    },
    "VideoConfig": {
        "clip_mode": Rule(one_of=("RESIZE", "CROP")),
        "codec": Rule(one_of=("H264", "VP8", "QTRLE")),
        "bitrate": Rule(required=True, between=(40, 30000)),
        "width": Rule(required=True, between=(0, 3840)),
        "height": Rule(required=True, between=(0, 3840)),
        "frame_rate": Rule(one_of=_FRAME_RATES),
        "dx": Rule(between=(-1920, 3840)),
        "dy": Rule(between=(-1920, 3840)),
        "output_external_url": _URL,
    },
    "PhotoVideoConfig": {
        "codec": Rule(required=True, one_of=("H264",)),
        "bitrate": Rule(between=(40, 30000)),
        "frame_rate": Rule(one_of=_FRAME_RATES),
    },
    "SubtitleConfig": {
        "dx": Rule(between=(0, 1920)),
        "dy": Rule(between=(0, 1920)),
        "h": Rule(between=(0, 1920)),
        "w": Rule(between=(0, 1920)),
        "font_name": Rule(length=(0, 64)),
        "font_size": Rule(between=(0, 120)),
        "font_color": Rule(pattern=_COLOUR),
        "stroke_color": Rule(pattern=_COLOUR),
        "stroke_thickness": Rule(between=(0, 50)),
        "opacity": Rule(between=(0, 1)),
    },
    "ShootScriptItem": {
        "sequence_no": Rule(between=(0, 2147483647)),
    },
    "ShootScript": {
        "script_type": Rule(one_of=("TEXT", "AUDIO")),
        "audio_drive_file_external_url": _URL,
    },
    "TextConfig": {
        "text": Rule(required=True, length=(0, 131072), plain_text_max=10000),
    },
    "AudioDriveActionConfig": {
        "action_tag": Rule(required=True),
        "action_start_time": Rule(required=True, between=(0, 2592000)),
    },
    "BackgroundConfigInfo": {
        "background_type": Rule(required=True, one_of=("IMAGE", "COLOR")),
        "background_config": Rule(length=(1, 2048)),
        "background_color_config": Rule(length=(0, 16), pattern=_COLOUR),
        "background_asset_id": _ASSET_ID,
    },
    "BackgroundImageConfig": {name: Rule(required=True) for name in ("dx", "dy", "width", "height")},
    "LayerConfig": {
        "layer_type": Rule(required=True, one_of=("HUMAN", "IMAGE", "VIDEO", "TEXT")),
        "asset_id": _ASSET_ID,
        "group_id": _ASSET_ID,
    },
    "LayerPositionConfig": {
        "dx": Rule(required=True, between=(-1920, 3840)),
        "dy": Rule(required=True, between=(-1920, 3840)),
        "layer_index": Rule(required=True, between=(1, 100)),
    },
    "LayerSizeConfig": {
        "width": Rule(between=(1, 7680)),
        "height": Rule(between=(1, 7680)),
    },
    "LayerRotationConfig": {"angle": Rule(between=(0, 360))},
    "ImageLayerConfig": {"image_url": _URL},
    "VideoLayerConfig": {
        "video_url": _URL,
        "video_cover_url": _URL,
        "loop_count": Rule(between=(-1, 100)),
        "video_sound": Rule(between=(0, 100)),
    },
    "TextLayerConfig": {
        "text_context": Rule(length=(0, 1024)),
        "font_name": Rule(length=(0, 64)),
        "font_size": Rule(between=(0, 120)),
        "font_color": Rule(length=(0, 16), pattern=_COLOUR),
    },
    "BackgroundMusicConfig": {
        "music_asset_id": _ASSET_ID,
        "volume": Rule(between=(0, 100)),
    },
    "OutputAssetConfig": {"asset_name": Rule(required=True, length=(0, 256))},
    "CallBackConfig": {
        "callback_url": _REQUIRED_URL,
        "auth_type": Rule(one_of=("NONE", "MSS_A")),
    },
    "VoiceProperties": {
        "job_tag": Rule(required=True, one_of=("ECOMMERCE", "NEWS", "MARKETING")),
        "sex": Rule(required=True, one_of=("FEMALE", "MALE")),
        "language": Rule(required=True, one_of=("CN", "EN")),
    },
}
RULES["Update2dModelTrainingJobReq"] = {
    name: replace(rule, required=False) for name, rule in RULES["Create2dModelTrainingJobReq"].items()
}
