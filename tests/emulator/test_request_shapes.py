"""The request models' field shapes: unknown fields and wrong types are refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.emulator.validation import validate_request
from tests.emulator.request_bodies import FULL_BODIES, full_2d_video, full_picture_form, refusal, with_change


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
