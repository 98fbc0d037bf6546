"""Request bodies are checked the way the upstream does, and every refusal names the field."""

from __future__ import annotations

import pytest

from gateway.emulator.validation import validate_request
from tests.emulator.request_bodies import (
    BACKGROUND,
    FULL_BODIES,
    PHOTO,
    TRAINING,
    VIDEO,
    Body,
    full_2d_video,
    full_photo_video,
    full_training_job,
    refusal,
    with_change,
)


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
