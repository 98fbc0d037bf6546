"""Request bodies for the emulator's validation tests: a full valid body per model, and changes to it."""

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


VIDEO = "Create2DDigitalHumanVideoReq"
PHOTO = "CreatePhotoDigitalHumanVideoReq"
TRAINING = "Create2dModelTrainingJobReq"
LAYER = "shoot_scripts[0].shoot_script.layer_config[0]"
BACKGROUND = "shoot_scripts[0].shoot_script.background_config"
