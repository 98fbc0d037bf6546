"""Request bodies are checked the way the upstream does, and every refusal names the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.emulator.validation import InvalidRequest, validate_request

Body = dict[str, Any]


def full_2d_video() -> Body:
    return {
        "script_id": "4b5b6effcf3b4c72a0baccb265111765",
        "model_asset_id": "cda7e9a469ee9cf3ffc1ad62794a12ff",
        "voice_config": {
            "voice_asset_id": "f5e6a13eab4443fa85421191ad061780",
            "speed": 100,
            "pitch": 100,
            "volume": 140,
        },
        "video_config": {
            "clip_mode": "RESIZE",
            "codec": "H264",
            "bitrate": 5000,
            "width": 1080,
            "height": 1920,
            "frame_rate": "25",
            "is_subtitle_enable": True,
            "subtitle_config": {
                "dx": 0,
                "dy": 100,
                "h": 80,
                "w": 864,
                "font_name": "HarmonyOS_Sans_SC_Black",
                "font_size": 54,
                "font_color": "#FFFFFF",
                "stroke_color": "#000000",
                "stroke_thickness": 1.5,
                "opacity": 1,
            },
            "dx": 0,
            "dy": 0,
            "is_enable_super_resolution": False,
            "is_end_at_first_frame": False,
            "output_external_url": "https://bucket.obs.example.com/out.mp4",
            "is_vocabulary_config_enable": False,
        },
        "shoot_scripts": [
            {
                "sequence_no": 0,
                "shoot_script": {
                    "script_type": "TEXT",
                    "text_config": {"text": "大家好 我是云玲。"},
                    "background_config": [
                        {"background_type": "IMAGE", "background_config": "https://example.com/bg.jpg"},
                        {
                            "background_type": "COLOR",
                            "background_color_config": "#00FF7f",
                            "background_asset_id": "c7885ffdfb347337a890208ca7fd07e3",
                            "background_image_config": {"dx": 0, "dy": 0, "width": 1920, "height": 1080},
                        },
                    ],
                    "layer_config": [
                        {
                            "layer_type": "HUMAN",
                            "asset_id": "a1",
                            "group_id": "g1",
                            "sequence_no": 1,
                            "position": {"dx": 656, "dy": 0, "layer_index": 1},
                            "size": {"width": 607, "height": 1080},
                            "rotation": {"angle": 0},
                        },
                        {
                            "layer_type": "IMAGE",
                            "position": {"dx": -100, "dy": 3840, "layer_index": 100},
                            "image_config": {"image_url": "https://example.com/logo.png"},
                        },
                        {
                            "layer_type": "VIDEO",
                            "position": {"dx": 0, "dy": 0, "layer_index": 2},
                            "video_config": {
                                "video_url": "https://example.com/clip.mp4",
                                "video_cover_url": "https://example.com/clip.png",
                                "loop_count": -1,
                                "video_sound": 0,
                                "is_play_the_entire_video": False,
                            },
                        },
                        {
                            "layer_type": "TEXT",
                            "position": {"dx": 0, "dy": 0, "layer_index": 3},
                            "text_config": {
                                "text_context": "5rWL6K+V5paH5a2X5rC05Y2w",
                                "font_name": "HarmonyOS_Sans_SC_Black",
                                "font_size": 16,
                                "font_color": "#FFFFFF",
                            },
                        },
                    ],
                },
            },
            {
                "sequence_no": 1,
                "shoot_script": {
                    "script_type": "AUDIO",
                    "audio_duration": 12.5,
                    "audio_drive_action_config": [
                        {"action_tag": "wave", "action_name": "Wave", "action_start_time": 1.5}
                    ],
                    "audio_drive_file_external_url": "https://bucket.obs.example.com/a.wav",
                    "audio_config": {"audio_id": 7},
                },
                "subtitle_file_info": {
                    "text_subtitle_file": {"subtitle_file_upload_url": "https://example.com/s.srt"},
                    "audio_subtitle_file": {"subtitle_file_state": "GENERATING", "job_id": "j"},
                },
            },
        ],
        "output_asset_config": {"asset_name": "One Day"},
        "background_music_config": {"music_asset_id": "m1", "volume": 50},
        "review_config": {"no_need_review": False},
        "callback_config": {
            "callback_url": "https://hooks.example.com/done",
            "auth_type": "MSS_A",
            "key": "k",
        },
        "action_config": {"action_interval": 4},
    }


def full_photo_video() -> Body:
    return {
        "script_id": "s1",
        "human_image": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQ",
        "voice_config": {"voice_asset_id": "v1", "speed": 200, "pitch": 50, "volume": 240},
        "video_config": {"codec": "H264", "bitrate": 40, "frame_rate": "30"},
        "shoot_scripts": [
            {"sequence_no": 0, "shoot_script": {"script_type": "TEXT", "text_config": {"text": "Hello"}}}
        ],
        "output_asset_config": {"asset_name": "photo video"},
        "background_music_config": {"volume": 100},
        "review_config": {"no_need_review": True},
        "callback_config": {"callback_url": "https://hooks.example.com/photo", "auth_type": "NONE"},
        "id_card_image1": "aWQx",
        "id_card_image2": "aWQy",
        "authorize_use_human_image": True,
    }


def full_training_job() -> Body:
    return {
        "name": "Anchor Li",
        "contact": "13800000000",
        "command_message": "UPLOAD_VIDEO",
        "video_multipart_count": 1,
        "action_video_multipart_count": 1000,
        "is_background_replacement": True,
        "batch_name": "spring",
        "tags": ["news", "female"],
        "model_version": "V3.2",
        "is_ondemand_resource": False,
        "is_flexus": True,
        "is_fast_flexus": False,
        "is_live_copy": False,
        "is_only_human_model": False,
        "audio_source_type": "VIDEO",
        "voice_properties": {"job_tag": "NEWS", "sex": "FEMALE", "language": "CN"},
        "supported_service": ["VIDEO_2D", "LIVE_2D", "CHAT_2D"],
    }


def full_picture_by_url() -> Body:
    return {
        "picture_url": "https://picture-obs.obs.cn-north-4.myhuaweicloud.com/picture/1.jpg",
        "style_id": "system_female_001",
        "name": "my_model",
        "notify_url": "https://hooks.example.com/picture",
    }


def full_picture_form() -> Body:
    return {"style_id": "system_male_002", "name": "my_model", "notify_url": "https://hooks.example.com/p"}


def full_command() -> Body:
    return {
        "command": "SUBMITVERIFYING",
        "command_message": "CONFIRM_ACTION_VIDEO",
        "comment_data": {"comment_title": "t", "comment_message": "m", "attachment_name": ["a.pdf"]},
        "operation_reason": "ready",
    }


FULL_BODIES = {
    "Create2DDigitalHumanVideoReq": full_2d_video,
    "CreatePhotoDigitalHumanVideoReq": full_photo_video,
    "Create2dModelTrainingJobReq": full_training_job,
    "Update2dModelTrainingJobReq": full_training_job,
    "PictureModelingByUrlReq": full_picture_by_url,
    "CreatePictureModelingJobRequestBody": full_picture_form,
    "Execute2dModelTrainingCommandByUserReq": full_command,
}


def refusal(model: str, body: object) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        validate_request(model, body)
    return caught.value


def with_change(body: Body, path: str, value: Any) -> Body:
    """A copy of `body` with the dotted/indexed `path` set to `value` (or removed when value is ...)."""
    changed = copy.deepcopy(body)
    *parents, last = path.replace("]", "").replace("[", ".").split(".")
    node: Any = changed
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: int | str = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return changed


@pytest.mark.parametrize("model", sorted(FULL_BODIES))
def test_a_full_valid_body_passes(model: str) -> None:
    validate_request(model, FULL_BODIES[model]())


@pytest.mark.parametrize(
    ("model", "body"),
    [
        ("Create2DDigitalHumanVideoReq", {"script_id": "s1"}),
        (
            "Create2DDigitalHumanVideoReq",
            {
                "model_asset_id": "m",
                "voice_config": {"voice_asset_id": "v"},
                "video_config": {"bitrate": 1000, "width": 1920, "height": 1080},
                "shoot_scripts": [{"shoot_script": {"text_config": {"text": "hi"}}}],
            },
        ),
        ("CreatePhotoDigitalHumanVideoReq", {"human_image": "aQ==", "shoot_scripts": [{}]}),
        ("Create2dModelTrainingJobReq", {"name": "n"}),
        ("Update2dModelTrainingJobReq", {}),
        ("PictureModelingByUrlReq", {"picture_url": "https://x/1.jpg", "style_id": "s", "name": "n"}),
        ("CreatePictureModelingJobRequestBody", {"style_id": "system_male_001", "name": "n"}),
        ("Execute2dModelTrainingCommandByUserReq", {"command": "CONFIRM_MULTIPART_UPLOADED"}),
    ],
)
def test_a_minimal_valid_body_passes(model: str, body: Body) -> None:
    validate_request(model, body)


@pytest.mark.parametrize("body", [[], "text", 3, None, True])
def test_body_must_be_an_object(body: object) -> None:
    error = refusal("Create2dModelTrainingJobReq", body)
    assert error.field == ""
    assert str(error) == "request body must be a JSON object"


def test_unknown_model_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="NoSuchReq"):
        validate_request("NoSuchReq", {})


def test_unknown_top_level_field_is_named() -> None:
    error = refusal("Create2dModelTrainingJobReq", {"name": "n", "nickname": "x"})
    assert (error.field, error.message) == ("nickname", "is not a known field")
    assert str(error) == "nickname: is not a known field"


def test_unknown_nested_field_is_named_with_its_path() -> None:
    body = with_change(
        full_2d_video(), "shoot_scripts[1].shoot_script.text_config", {"text": "a", "lang": "en"}
    )
    assert (
        refusal("Create2DDigitalHumanVideoReq", body).field
        == "shoot_scripts[1].shoot_script.text_config.lang"
    )


def test_picture_form_does_not_take_the_file_as_a_field() -> None:
    assert (
        refusal("CreatePictureModelingJobRequestBody", {**full_picture_form(), "file": "x"}).field == "file"
    )


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        ("Create2dModelTrainingJobReq", {}, "name"),
        ("CreatePhotoDigitalHumanVideoReq", {"shoot_scripts": [{}]}, "human_image"),
        ("CreatePhotoDigitalHumanVideoReq", {"human_image": "aQ=="}, "shoot_scripts"),
        ("PictureModelingByUrlReq", {"style_id": "s", "name": "n"}, "picture_url"),
        ("PictureModelingByUrlReq", {"picture_url": "https://x/1.jpg", "name": "n"}, "style_id"),
        ("PictureModelingByUrlReq", {"picture_url": "https://x/1.jpg", "style_id": "s"}, "name"),
        ("CreatePictureModelingJobRequestBody", {"name": "n"}, "style_id"),
        ("CreatePictureModelingJobRequestBody", {"style_id": "system_male_001"}, "name"),
        ("Execute2dModelTrainingCommandByUserReq", {"command_message": "UPLOAD_VIDEO"}, "command"),
        (
            "Create2dModelTrainingJobReq",
            {"name": "n", "voice_properties": {"sex": "MALE", "language": "CN"}},
            "voice_properties.job_tag",
        ),
    ],
)
def test_missing_required_field_is_named(model: str, body: Body, field: str) -> None:
    error = refusal(model, body)
    assert (error.field, error.message) == (field, "is required")


def test_null_counts_as_missing() -> None:
    assert refusal("Create2dModelTrainingJobReq", {"name": None}).field == "name"


@pytest.mark.parametrize(
    "path",
    [
        "voice_config.voice_asset_id",
        "video_config.bitrate",
        "video_config.width",
        "video_config.height",
        "shoot_scripts[0].shoot_script.text_config.text",
        "shoot_scripts[0].shoot_script.background_config[0].background_type",
        "shoot_scripts[0].shoot_script.background_config[1].background_image_config.dx",
        "shoot_scripts[0].shoot_script.layer_config[0].layer_type",
        "shoot_scripts[0].shoot_script.layer_config[0].position.layer_index",
        "shoot_scripts[1].shoot_script.audio_drive_action_config[0].action_tag",
        "shoot_scripts[1].shoot_script.audio_drive_action_config[0].action_start_time",
        "output_asset_config.asset_name",
        "callback_config.callback_url",
    ],
)
def test_missing_required_nested_field_is_named(path: str) -> None:
    error = refusal("Create2DDigitalHumanVideoReq", with_change(full_2d_video(), path, ...))
    assert (error.field, error.message) == (path, "is required")


@pytest.mark.parametrize("field", ["model_asset_id", "voice_config", "video_config", "shoot_scripts"])
def test_video_settings_are_required_without_a_script(field: str) -> None:
    body = with_change(with_change(full_2d_video(), "script_id", ...), field, ...)
    error = refusal("Create2DDigitalHumanVideoReq", body)
    assert str(error) == f"{field}: is required when script_id is not given"


def test_update_requires_nothing_but_keeps_the_other_rules() -> None:
    validate_request("Update2dModelTrainingJobReq", {"batch_name": "b"})
    assert (
        refusal("Update2dModelTrainingJobReq", {"video_multipart_count": 0}).field == "video_multipart_count"
    )


@pytest.mark.parametrize(
    ("model", "path", "value", "expected"),
    [
        ("Create2dModelTrainingJobReq", "name", 5, "name: must be a string"),
        (
            "Create2dModelTrainingJobReq",
            "video_multipart_count",
            "3",
            "video_multipart_count: must be an integer",
        ),
        (
            "Create2dModelTrainingJobReq",
            "video_multipart_count",
            2.5,
            "video_multipart_count: must be an integer",
        ),
        ("Create2dModelTrainingJobReq", "is_flexus", "true", "is_flexus: must be a boolean"),
        ("Create2dModelTrainingJobReq", "is_flexus", 1, "is_flexus: must be a boolean"),
        ("Create2dModelTrainingJobReq", "tags", "news", "tags: must be an array"),
        ("Create2dModelTrainingJobReq", "tags", ["news", 7], "tags[1]: must be a string"),
        ("Create2dModelTrainingJobReq", "voice_properties", ["NEWS"], "voice_properties: must be an object"),
        ("Create2DDigitalHumanVideoReq", "voice_config", "v1", "voice_config: must be an object"),
        (
            "Create2DDigitalHumanVideoReq",
            "shoot_scripts",
            {"sequence_no": 0},
            "shoot_scripts: must be an array",
        ),
        ("Create2DDigitalHumanVideoReq", "shoot_scripts[0]", "x", "shoot_scripts[0]: must be an object"),
        (
            "Create2DDigitalHumanVideoReq",
            "video_config.frame_rate",
            25,
            "video_config.frame_rate: must be a string",
        ),
        (
            "Create2DDigitalHumanVideoReq",
            "video_config.subtitle_config.opacity",
            "1",
            "video_config.subtitle_config.opacity: must be a number",
        ),
        (
            "Execute2dModelTrainingCommandByUserReq",
            "comment_data.attachment_name",
            [None],
            "comment_data.attachment_name[0]: must be a string",
        ),
    ],
)
def test_wrong_type_is_named(model: str, path: str, value: Any, expected: str) -> None:
    assert str(refusal(model, with_change(FULL_BODIES[model](), path, value))) == expected


@pytest.mark.parametrize("flag", [True, False])
def test_booleans_are_not_integers(flag: bool) -> None:
    body = with_change(full_2d_video(), "voice_config.speed", flag)
    assert str(refusal("Create2DDigitalHumanVideoReq", body)) == "voice_config.speed: must be an integer"


def test_booleans_are_not_numbers() -> None:
    body = with_change(full_2d_video(), "action_config.action_interval", True)
    assert (
        str(refusal("Create2DDigitalHumanVideoReq", body))
        == "action_config.action_interval: must be a number"
    )


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    validate_request(
        "Create2DDigitalHumanVideoReq", with_change(full_2d_video(), "action_config.action_interval", 0)
    )


VIDEO = "Create2DDigitalHumanVideoReq"
PHOTO = "CreatePhotoDigitalHumanVideoReq"
TRAINING = "Create2dModelTrainingJobReq"
LAYER = "shoot_scripts[0].shoot_script.layer_config[0]"
BACKGROUND = "shoot_scripts[0].shoot_script.background_config"


@pytest.mark.parametrize(
    ("model", "path", "bad", "good", "message"),
    [
        (VIDEO, "voice_config.speed", 49, 50, "must be between 50 and 200"),
        (VIDEO, "voice_config.speed", 201, 200, "must be between 50 and 200"),
        (VIDEO, "voice_config.pitch", 49, 200, "must be between 50 and 200"),
        (VIDEO, "voice_config.pitch", 201, 50, "must be between 50 and 200"),
        (VIDEO, "voice_config.volume", 89, 90, "must be between 90 and 240"),
        (VIDEO, "voice_config.volume", 241, 240, "must be between 90 and 240"),
        (VIDEO, "video_config.bitrate", 39, 40, "must be between 40 and 30000"),
        (VIDEO, "video_config.bitrate", 30001, 30000, "must be between 40 and 30000"),
        (VIDEO, "video_config.dx", -1921, -1920, "must be between -1920 and 3840"),
        (VIDEO, "video_config.subtitle_config.font_size", 121, 120, "must be between 0 and 120"),
        (VIDEO, "video_config.subtitle_config.opacity", 1.01, 0.5, "must be between 0 and 1"),
        (VIDEO, "video_config.subtitle_config.stroke_thickness", 51, 50, "must be between 0 and 50"),
        (VIDEO, "video_config.subtitle_config.dy", 1921, 1920, "must be between 0 and 1920"),
        (VIDEO, "shoot_scripts[0].sequence_no", -1, 5, "must be between 0 and 2147483647"),
        (VIDEO, f"{LAYER}.position.layer_index", 0, 1, "must be between 1 and 100"),
        (VIDEO, f"{LAYER}.position.layer_index", 101, 100, "must be between 1 and 100"),
        (VIDEO, f"{LAYER}.position.dx", 3841, 3840, "must be between -1920 and 3840"),
        (VIDEO, f"{LAYER}.position.dy", -1921, -1920, "must be between -1920 and 3840"),
        (VIDEO, f"{LAYER}.size.width", 0, 7680, "must be between 1 and 7680"),
        (VIDEO, f"{LAYER}.size.height", 7681, 1, "must be between 1 and 7680"),
        (VIDEO, f"{LAYER}.rotation.angle", 361, 360, "must be between 0 and 360"),
        (
            VIDEO,
            "shoot_scripts[0].shoot_script.layer_config[2].video_config.loop_count",
            -2,
            100,
            "must be between -1 and 100",
        ),
        (
            VIDEO,
            "shoot_scripts[0].shoot_script.layer_config[2].video_config.video_sound",
            101,
            100,
            "must be between 0 and 100",
        ),
        (
            VIDEO,
            "shoot_scripts[0].shoot_script.layer_config[3].text_config.font_size",
            -1,
            0,
            "must be between 0 and 120",
        ),
        (
            VIDEO,
            "shoot_scripts[1].shoot_script.audio_drive_action_config[0].action_start_time",
            2592000.5,
            2592000,
            "must be between 0 and 2592000",
        ),
        (VIDEO, "background_music_config.volume", 101, 0, "must be between 0 and 100"),
        (PHOTO, "voice_config.volume", 250, 140, "must be between 90 and 240"),
        (PHOTO, "video_config.bitrate", 30001, 30000, "must be between 40 and 30000"),
        (TRAINING, "video_multipart_count", 0, 1, "must be between 1 and 1000"),
        (TRAINING, "action_video_multipart_count", 1001, 1000, "must be between 1 and 1000"),
    ],
)
def test_numbers_out_of_their_documented_range_are_named(
    model: str, path: str, bad: float, good: float, message: str
) -> None:
    validate_request(model, with_change(FULL_BODIES[model](), path, good))
    error = refusal(model, with_change(FULL_BODIES[model](), path, bad))
    assert (error.field, error.message) == (path, message)
    assert str(error) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("model", "path", "bad", "good"),
    [
        (VIDEO, "video_config.clip_mode", "STRETCH", "CROP"),
        (VIDEO, "video_config.codec", "H265", "VP8"),
        (VIDEO, "video_config.codec", "h264", "QTRLE"),
        (VIDEO, "video_config.frame_rate", "60", "24"),
        (VIDEO, "shoot_scripts[0].shoot_script.script_type", "VIDEO", "AUDIO"),
        (VIDEO, f"{BACKGROUND}[0].background_type", "VIDEO", "IMAGE"),
        (VIDEO, f"{LAYER}.layer_type", "AVATAR", "TEXT"),
        (VIDEO, "callback_config.auth_type", "BASIC", "NONE"),
        (PHOTO, "video_config.codec", "VP8", "H264"),
        (PHOTO, "video_config.frame_rate", "29.97", "25"),
        (TRAINING, "command_message", "DELETE", "UPDATE_VIDEO"),
        (TRAINING, "model_version", "V9", "V3.3"),
        (TRAINING, "audio_source_type", "MIC", "AUDIO"),
        (TRAINING, "voice_properties.job_tag", "SPORTS", "MARKETING"),
        (TRAINING, "voice_properties.sex", "OTHER", "MALE"),
        (TRAINING, "voice_properties.language", "FR", "EN"),
        ("CreatePictureModelingJobRequestBody", "style_id", "system_robot_001", "system_female_002"),
        ("Execute2dModelTrainingCommandByUserReq", "command", "SUBMIT", "CONFIRM_AUTHORIZATION_LETTER"),
        ("Execute2dModelTrainingCommandByUserReq", "command_message", "UPLOAD", "GET_ACTION_VIDEO_MULTIPART"),
    ],
)
def test_values_outside_their_documented_enumeration_are_named(
    model: str, path: str, bad: str, good: str
) -> None:
    validate_request(model, with_change(FULL_BODIES[model](), path, good))
    error = refusal(model, with_change(FULL_BODIES[model](), path, bad))
    assert error.field == path
    assert error.message.startswith("must be one of ")
    assert good in error.message


def test_each_listed_service_must_be_documented() -> None:
    body = with_change(full_training_job(), "supported_service", ["VIDEO_2D", "VIDEO_3D"])
    assert refusal(TRAINING, body).field == "supported_service[1]"


@pytest.mark.parametrize(
    "command", ["SUBMITVERIFYING", "CONFIRM_REPAIR", "DELETE_JOB_VIDEO", "GET_MULTIPART_UPLOADED"]
)
def test_documented_training_commands_are_accepted(command: str) -> None:
    validate_request("Execute2dModelTrainingCommandByUserReq", {"command": command})


@pytest.mark.parametrize(
    ("width", "height"), [(1920, 1080), (1080, 1920), (1280, 720), (720, 1280), (3840, 2160), (2160, 3840)]
)
def test_the_six_resize_resolutions_are_accepted(width: int, height: int) -> None:
    body = with_change(
        with_change(full_2d_video(), "video_config.width", width), "video_config.height", height
    )
    validate_request(VIDEO, body)


@pytest.mark.parametrize(("width", "height"), [(1920, 1920), (1000, 1000), (720, 1080)])
def test_other_resize_resolutions_are_refused(width: int, height: int) -> None:
    body = with_change(
        with_change(full_2d_video(), "video_config.width", width), "video_config.height", height
    )
    error = refusal(VIDEO, body)
    assert error.field == "video_config.width"
    assert "1920x1080" in error.message


def test_resize_is_the_default_clip_mode() -> None:
    body = with_change(
        with_change(full_2d_video(), "video_config.clip_mode", ...), "video_config.width", 1000
    )
    assert refusal(VIDEO, body).field == "video_config.width"


def test_crop_takes_any_size_within_range() -> None:
    body = with_change(full_2d_video(), "video_config.clip_mode", "CROP")
    validate_request(VIDEO, with_change(body, "video_config.width", 1000))
    assert refusal(VIDEO, with_change(body, "video_config.width", 3841)).field == "video_config.width"


TEXT = "shoot_scripts[0].shoot_script.text_config.text"


def with_text(text: str) -> Body:
    return with_change(full_2d_video(), TEXT.rsplit(".", 1)[0], {"text": text})


def test_text_of_ten_thousand_characters_is_accepted() -> None:
    validate_request(VIDEO, with_text("字" * 10000))


def test_text_over_ten_thousand_characters_is_named() -> None:
    error = refusal(VIDEO, with_text("字" * 10001))
    assert str(error) == f"{TEXT}: must be at most 10000 characters without SSML tags"


def test_ssml_tags_do_not_count_towards_the_text_limit() -> None:
    validate_request(VIDEO, with_text('<speak><break time="500ms"/>' + "a" * 10000 + "</speak>"))


def test_text_with_tags_is_still_capped_at_its_full_length() -> None:
    error = refusal(VIDEO, with_text("<b>" * 43691))
    assert str(error) == f"{TEXT}: must be at most 131072 characters"


@pytest.mark.parametrize(
    ("model", "path", "longest"),
    [
        (VIDEO, "callback_config.callback_url", 2048),
        (VIDEO, "video_config.output_external_url", 2048),
        (VIDEO, f"{BACKGROUND}[0].background_config", 2048),
        (VIDEO, "shoot_scripts[0].shoot_script.layer_config[1].image_config.image_url", 2048),
        (VIDEO, "voice_config.voice_asset_id", 256),
        (VIDEO, "output_asset_config.asset_name", 256),
        (VIDEO, f"{LAYER}.asset_id", 64),
        (VIDEO, "background_music_config.music_asset_id", 64),
        (VIDEO, "shoot_scripts[0].shoot_script.layer_config[3].text_config.text_context", 1024),
        (VIDEO, "video_config.subtitle_config.font_name", 64),
        ("PictureModelingByUrlReq", "picture_url", 2048),
        ("PictureModelingByUrlReq", "notify_url", 2048),
        ("CreatePictureModelingJobRequestBody", "notify_url", 2048),
    ],
)
def test_strings_longer_than_documented_are_named(model: str, path: str, longest: int) -> None:
    validate_request(model, with_change(FULL_BODIES[model](), path, "h" * longest))
    error = refusal(model, with_change(FULL_BODIES[model](), path, "h" * (longest + 1)))
    assert (error.field, error.message) == (path, f"must be at most {longest} characters")


@pytest.mark.parametrize(
    ("model", "path"),
    [
        (VIDEO, "voice_config.voice_asset_id"),
        (VIDEO, "callback_config.callback_url"),
        (PHOTO, "human_image"),
        (TRAINING, "name"),
        ("PictureModelingByUrlReq", "picture_url"),
        ("PictureModelingByUrlReq", "style_id"),
        ("PictureModelingByUrlReq", "name"),
        ("CreatePictureModelingJobRequestBody", "name"),
    ],
)
def test_required_strings_must_not_be_empty(model: str, path: str) -> None:
    error = refusal(model, with_change(FULL_BODIES[model](), path, ""))
    assert (error.field, error.message) == (path, "must not be empty")


@pytest.mark.parametrize(
    "path",
    [
        "video_config.subtitle_config.font_color",
        "video_config.subtitle_config.stroke_color",
        f"{BACKGROUND}[1].background_color_config",
        "shoot_scripts[0].shoot_script.layer_config[3].text_config.font_color",
    ],
)
@pytest.mark.parametrize("colour", ["white", "#FFF", "#GGGGGG", "FFFFFF", "#FFFFFF0"])
def test_colours_must_be_rrggbb(path: str, colour: str) -> None:
    error = refusal(VIDEO, with_change(full_2d_video(), path, colour))
    assert error.field == path


def test_sequence_numbers_must_be_unique_among_shoot_scripts() -> None:
    body = with_change(full_2d_video(), "shoot_scripts[1].sequence_no", 0)
    assert str(refusal(VIDEO, body)) == "shoot_scripts[1].sequence_no: 0 is used more than once"


def test_image_background_needs_its_url() -> None:
    body = with_change(full_2d_video(), f"{BACKGROUND}[0].background_config", ...)
    assert str(refusal(VIDEO, body)) == (
        f"{BACKGROUND}[0].background_config: is required when background_type is IMAGE"
    )


def test_colour_background_needs_its_colour() -> None:
    body = with_change(full_2d_video(), f"{BACKGROUND}[1].background_color_config", ...)
    assert refusal(VIDEO, body).field == f"{BACKGROUND}[1].background_color_config"


def test_photo_video_takes_exactly_one_script() -> None:
    body = full_photo_video()
    body["shoot_scripts"].append({"sequence_no": 1, "shoot_script": {"text_config": {"text": "more"}}})
    assert str(refusal(PHOTO, body)) == "shoot_scripts: must have exactly 1 item"
    assert refusal(PHOTO, with_change(full_photo_video(), "shoot_scripts", [])).field == "shoot_scripts"


def test_photo_video_script_supports_only_type_and_text() -> None:
    body = with_change(full_photo_video(), "shoot_scripts[0].shoot_script.layer_config", [])
    error = refusal(PHOTO, body)
    assert error.field == "shoot_scripts[0].shoot_script.layer_config"
    assert error.message == "is not supported for photo digital human videos"


def test_the_first_broken_rule_is_reported_in_field_order() -> None:
    body = with_change(with_change(full_training_job(), "name", 1), "tags", "x")
    assert refusal(TRAINING, body).field == "name"
