"""Declarative validation of MetaStudio create/command request bodies, naming the offending field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

# Field shapes of the request models, as the official SDK (huaweicloudsdkmetastudio 3.1.219) declares
# them. Every field listed is known; anything else in a body is refused.
_SHAPES = """
Create2DDigitalHumanVideoReq: script_id:str, model_asset_id:str, voice_config:VoiceConfig,
    video_config:VideoConfig, shoot_scripts:list[ShootScriptItem],
    output_asset_config:OutputAssetConfig, background_music_config:BackgroundMusicConfig,
    review_config:ReviewConfig, callback_config:CallBackConfig, action_config:ActionConfig
CreatePhotoDigitalHumanVideoReq: script_id:str, human_image:str, voice_config:VoiceConfig,
    video_config:PhotoVideoConfig, shoot_scripts:list[ShootScriptItem],
    output_asset_config:OutputAssetConfig, background_music_config:BackgroundMusicConfig,
    review_config:ReviewConfig, callback_config:CallBackConfig, id_card_image1:str, id_card_image2:str,
    authorize_use_human_image:bool
Create2dModelTrainingJobReq: name:str, contact:str, command_message:str, video_multipart_count:int,
    action_video_multipart_count:int, is_background_replacement:bool, batch_name:str, tags:list[str],
    model_version:str, is_ondemand_resource:bool, is_flexus:bool, is_fast_flexus:bool,
    is_live_copy:bool, is_only_human_model:bool, audio_source_type:str,
    voice_properties:VoiceProperties, supported_service:list[SupportedServiceEnum]
PictureModelingByUrlReq: picture_url:str, style_id:str, name:str, notify_url:str
CreatePictureModelingJobRequestBody: style_id:str, name:str, notify_url:str
Execute2dModelTrainingCommandByUserReq: command:str, command_message:str, comment_data:CommentData,
    operation_reason:str
VoiceConfig: voice_asset_id:str, speed:int, pitch:int, volume:int
VideoConfig: clip_mode:str, codec:str, bitrate:int, width:int, height:int, frame_rate:str,
    is_subtitle_enable:bool, subtitle_config:SubtitleConfig, dx:int, dy:int,
    is_enable_super_resolution:bool, is_end_at_first_frame:bool, output_external_url:str,
    is_vocabulary_config_enable:bool
PhotoVideoConfig: codec:str, bitrate:int, frame_rate:str
SubtitleConfig: dx:int, dy:int, h:int, w:int, font_name:str, font_size:int, font_color:str,
    stroke_color:str, stroke_thickness:float, opacity:float
ShootScriptItem: sequence_no:int, shoot_script:ShootScript, subtitle_file_info:SubtitleFiles
ShootScript: script_type:str, text_config:TextConfig, audio_duration:float,
    audio_drive_action_config:list[AudioDriveActionConfig], audio_drive_file_external_url:str,
    background_config:list[BackgroundConfigInfo], layer_config:list[LayerConfig], audio_config:AudioInfo
TextConfig: text:str
AudioDriveActionConfig: action_tag:str, action_name:str, action_start_time:float
BackgroundConfigInfo: background_type:str, background_config:str, background_color_config:str,
    background_asset_id:str, background_image_config:BackgroundImageConfig
BackgroundImageConfig: dx:int, dy:int, width:int, height:int
LayerConfig: layer_type:str, asset_id:str, group_id:str, sequence_no:int, position:LayerPositionConfig,
    size:LayerSizeConfig, rotation:LayerRotationConfig, image_config:ImageLayerConfig,
    video_config:VideoLayerConfig, text_config:TextLayerConfig
LayerPositionConfig: dx:int, dy:int, layer_index:int
LayerSizeConfig: width:int, height:int
LayerRotationConfig: angle:int
ImageLayerConfig: image_url:str
VideoLayerConfig: video_url:str, video_cover_url:str, loop_count:int, video_sound:int,
    is_play_the_entire_video:bool
TextLayerConfig: text_context:str, font_name:str, font_size:int, font_color:str
AudioInfo: audio_id:int
SubtitleFiles: text_subtitle_file:SubtitleFileInfo, audio_subtitle_file:SubtitleFileInfo
SubtitleFileInfo: subtitle_file_download_url:str, subtitle_file_upload_url:str, subtitle_file_state:str,
    job_id:str
BackgroundMusicConfig: music_asset_id:str, volume:int
OutputAssetConfig: asset_name:str
ReviewConfig: no_need_review:bool
CallBackConfig: callback_url:str, auth_type:str, key:str
ActionConfig: action_interval:float
VoiceProperties: job_tag:str, sex:str, language:str
CommentData: comment_title:str, comment_message:str, attachment_name:list[str]
"""

_SCALARS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean"}
_STRING_ENUMS = {"SupportedServiceEnum"}  # SDK enum classes that travel as plain strings


@dataclass(frozen=True)
class _Shape:
    kind: str  # a scalar name from _SCALARS or a model name
    is_list: bool


def _parse_shapes(text: str) -> dict[str, dict[str, _Shape]]:
    models: dict[str, dict[str, _Shape]] = {}
    joined = re.sub(r",\n\s+", ", ", text.strip())
    for line in joined.splitlines():
        model, _, fields = line.partition(": ")
        shapes: dict[str, _Shape] = {}
        for field in fields.split(", "):
            name, _, kind = field.partition(":")
            is_list = kind.startswith("list[")
            kind = kind[5:-1] if is_list else kind
            shapes[name] = _Shape("str" if kind in _STRING_ENUMS else kind, is_list)
        models[model] = shapes
    return models


_MODELS = _parse_shapes(_SHAPES)
# The update takes the create's fields, none of them required.
_MODELS["Update2dModelTrainingJobReq"] = _MODELS["Create2dModelTrainingJobReq"]


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
_RULES: dict[str, dict[str, Rule]] = {
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
_RULES["Update2dModelTrainingJobReq"] = {
    name: replace(rule, required=False) for name, rule in _RULES["Create2dModelTrainingJobReq"].items()
}

_RESIZE_RESOLUTIONS = ((1920, 1080), (1080, 1920), (1280, 720), (720, 1280), (3840, 2160), (2160, 3840))
_SSML_TAG = re.compile(r"<[^<>]*>")


class InvalidRequest(Exception):
    """A request body the upstream would answer with 400 MSS.00000003; str() names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def validate_request(model: str, body: object) -> None:
    """Raise InvalidRequest for the first rule `body` breaks as an instance of upstream `model`."""
    if model not in _MODELS:
        raise ValueError(f"unknown request model {model}")
    if not isinstance(body, Mapping):
        raise InvalidRequest("", "request body must be a JSON object")
    _check_object(model, body, "")


def _check_object(model: str, body: Mapping[object, object], prefix: str) -> None:
    shapes = _MODELS[model]
    rules = _RULES.get(model, {})
    for name in body:
        if name not in shapes:
            raise InvalidRequest(f"{prefix}{name}", "is not a known field")
    for name, shape in shapes.items():
        rule = rules.get(name, Rule())
        value = body.get(name)
        path = f"{prefix}{name}"
        if value is None:
            if rule.required:
                raise InvalidRequest(path, "is required")
            continue
        if shape.is_list:
            _check_list(shape, rule, value, path)
        else:
            _check_value(shape.kind, rule, value, path)
    for check in _MODEL_CHECKS.get(model, ()):
        check(body, prefix)


def _check_list(shape: _Shape, rule: Rule, value: object, path: str) -> None:
    if not isinstance(value, list):
        raise InvalidRequest(path, "must be an array")
    if rule.items is not None:
        low, high = rule.items
        if not low <= len(value) <= high:
            count = f"exactly {low}" if low == high else f"between {low} and {high}"
            raise InvalidRequest(path, f"must have {count} item{'s' if high != 1 else ''}")
    item_rule = Rule(one_of=rule.one_of)
    for index, item in enumerate(value):
        _check_value(shape.kind, item_rule, item, f"{path}[{index}]")
    if rule.unique is not None:
        seen: set[object] = set()
        for index, item in enumerate(value):
            key = item.get(rule.unique) if isinstance(item, Mapping) else None
            if key is None:
                continue
            if key in seen:
                raise InvalidRequest(f"{path}[{index}].{rule.unique}", f"{key} is used more than once")
            seen.add(key)


def _check_value(kind: str, rule: Rule, value: object, path: str) -> None:
    if kind in _MODELS:
        if not isinstance(value, Mapping):
            raise InvalidRequest(path, "must be an object")
        _check_object(kind, value, f"{path}.")
        return
    if not _has_kind(kind, value):
        raise InvalidRequest(path, f"must be {_SCALARS[kind]}")
    for problem in _rule_problems(rule, value):
        raise InvalidRequest(path, problem)


def _has_kind(kind: str, value: object) -> bool:
    # bool is an int subclass in Python, but JSON true is never a number.
    if isinstance(value, bool):
        return kind == "bool"
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int | float)
    return kind == "str" and isinstance(value, str)


def _rule_problems(rule: Rule, value: object) -> Iterator[str]:
    if rule.between is not None and isinstance(value, int | float):
        low, high = rule.between
        if not low <= value <= high:
            yield f"must be between {_number(low)} and {_number(high)}"
    if not isinstance(value, str):
        return
    if rule.one_of is not None and value not in rule.one_of:
        yield f"must be one of {', '.join(rule.one_of)}"
    if rule.length is not None:
        shortest, longest = rule.length
        if len(value) < shortest:
            yield "must not be empty" if shortest == 1 else f"must be at least {shortest} characters"
        if longest is not None and len(value) > longest:
            yield f"must be at most {longest} characters"
    if rule.pattern is not None and value and not re.fullmatch(rule.pattern[0], value):
        yield f"must be {rule.pattern[1]}"
    if rule.plain_text_max is not None and len(_SSML_TAG.sub("", value)) > rule.plain_text_max:
        yield f"must be at most {rule.plain_text_max} characters without SSML tags"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _required_without_script(body: Mapping[object, object], prefix: str) -> None:
    # The page lets model_asset_id, voice_config, video_config and shoot_scripts be left out only
    # when script_id names a script that supplies them.
    if body.get("script_id") is not None:
        return
    for name in ("model_asset_id", "voice_config", "video_config", "shoot_scripts"):
        if body.get(name) is None:
            raise InvalidRequest(f"{prefix}{name}", "is required when script_id is not given")


def _resize_resolution(body: Mapping[object, object], prefix: str) -> None:
    if body.get("clip_mode", "RESIZE") != "RESIZE":
        return
    size = (body.get("width"), body.get("height"))
    if size not in _RESIZE_RESOLUTIONS:
        allowed = ", ".join(f"{w}x{h}" for w, h in _RESIZE_RESOLUTIONS)
        raise InvalidRequest(
            f"{prefix}width", f"with clip_mode RESIZE, width x height must be one of {allowed}"
        )


def _background_needs_its_value(body: Mapping[object, object], prefix: str) -> None:
    needed = {"IMAGE": "background_config", "COLOR": "background_color_config"}[str(body["background_type"])]
    if body.get(needed) is None:
        raise InvalidRequest(
            f"{prefix}{needed}", f"is required when background_type is {body['background_type']}"
        )


def _photo_script_fields(body: Mapping[object, object], prefix: str) -> None:
    # A photo video's script supports only script_type and text_config.
    for index, item in enumerate(_as_list(body.get("shoot_scripts"))):
        script = item.get("shoot_script") if isinstance(item, Mapping) else None
        if not isinstance(script, Mapping):
            continue
        for name in script:
            if name not in ("script_type", "text_config"):
                raise InvalidRequest(
                    f"{prefix}shoot_scripts[{index}].shoot_script.{name}",
                    "is not supported for photo digital human videos",
                )


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


_MODEL_CHECKS: dict[str, tuple[Callable[[Mapping[object, object], str], None], ...]] = {
    "Create2DDigitalHumanVideoReq": (_required_without_script,),
    "CreatePhotoDigitalHumanVideoReq": (_photo_script_fields,),
    "VideoConfig": (_resize_resolution,),
    "BackgroundConfigInfo": (_background_needs_its_value,),
}
