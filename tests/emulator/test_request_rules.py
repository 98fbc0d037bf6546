"""The documented rules beyond types: required fields, ranges, choices, lengths and colours."""

from __future__ import annotations

import pytest

from gateway.emulator.validation import validate_request
from tests.emulator.request_bodies import (
    BACKGROUND,
    FULL_BODIES,
    LAYER,
    PHOTO,
    TRAINING,
    VIDEO,
    Body,
    full_2d_video,
    full_training_job,
    refusal,
    with_change,
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
