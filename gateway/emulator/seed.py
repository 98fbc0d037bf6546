"""Demo jobs for every token and AK: the reference pages' example jobs and a few dozen varied ones."""

from __future__ import annotations

import hashlib
import random
import uuid
from typing import Any

from gateway.emulator.access import Principal, ak_principal, token_principal
from gateway.emulator.emulator import Emulator
from gateway.emulator.jobs import Job, JobKind
from gateway.emulator.lifecycle import (
    PICTURE_FAILURE,
    TRAIN_FAILURE,
    VERIFY_FAILURE,
    VIDEO_FAILURE,
    picture_plan,
    training_plan,
    video_plan,
)

DAY = 86400.0
EXAMPLE_VIDEO_ID = "26f06524-4f75-4b3a-a853-b649a21aaf66"
EXAMPLE_PHOTO_VIDEO_ID = "5c1f0a8e-2d4b-4e43-9a1e-7f2b8c6d9e01"
EXAMPLE_TRAINING_ID = "efc5300ecdba4ea48d1ff13a9d907bc0"
EXAMPLE_PICTURE_ID = "6eb78b2f-6ba2-4b59-bb07-d2fc372f8d39"

_EXAMPLE_SCRIPT = {
    "sequence_no": 0,
    "shoot_script": {
        "script_type": "TEXT",
        "text_config": {"text": "大家好,我是云玲。"},
        "background_config": [
            {
                "background_type": "IMAGE",
                "background_config": "https://digitalhuman.obs.cn-east-3.myhuaweicloud.com:443/0d697589d98091f12f92c0073501cd79/"
                "c7885ffdfb347337a890208ca7fd07e3/34534f0262813a6838bdcfb8bc949af6.jpg",
            }
        ],
        "layer_config": [
            {
                "layer_type": "HUMAN",
                "position": {"dx": 656, "dy": 0, "layer_index": 1},
                "size": {"width": 607, "height": 1080},
            }
        ],
    },
}
_EXAMPLE_COVER = (
    "https://digitalhuman.obs.cn-east-3.myhuaweicloud.com:443/0d697589d98091f12f92c0073501cd79/"
    "942e65a5fd219a2e01fb08d881cfadb9/20d367508e62d3d4ad608cedbe81bd35.png?AccessKeyId=XCQKTA8IWQPCAUQS4SDA"
    "&Expires=1671241457&Signature=zVGMVbI5ji9rr8epD1Cir5OGIRk%3D"
)
_EXAMPLE_VOICE = {
    "voice_asset_id": "f5e6a13eab4443fa85421191ad061780",
    "speed": 100,
    "pitch": 100,
    "volume": 140,
}

_ASSET_NAMES = (
    "One Day",
    "Product launch",
    "Weekly news digest",
    "Onboarding lesson",
    "春季新品介绍",
    "Customer FAQ",
    "Quarterly results",
    "直播预告",
    "Safety briefing",
    "Campus tour",
    "Recipe of the week",
    "Travel diary",
)
_SCRIPT_TEXTS = (
    "Welcome to our channel. Today we look at three ideas for a better morning.",
    "大家好,欢迎来到本周的新品发布会。",
    "Thank you for joining. Let us start with the numbers from last quarter.",
    "Hello! Here is how to reset your password in under a minute.",
)
_MODEL_NAMES = ("Anna", "Brian", "晓雯", "Daniel", "Emma", "李明", "Grace", "Hiro", "Iris", "Jonas")
_BATCHES = ("batch-spring", "batch-summer", "anchors-2024", None)
_TAG_SETS: tuple[list[str], ...] = (["demo"], ["anchor", "news"], ["education"], [], ["live", "sales"])
_STYLES = ("system_male_001", "system_female_001", "system_male_002", "system_female_002")

_VIDEO_STATES = ["SUCCEED"] * 6 + ["FAILED", "FAILED", "CANCELED", "WAITING", "PROCESSING", "BLOCK"]
_TRAINING_STATES = ["JOB_SUCCESS"] * 4 + [
    "WAIT_FILE_UPLOAD",
    "AUTO_VERIFYING",
    "MANUAL_VERIFYING",
    "AUTO_VERIFY_FAILED",
    "MANUAL_VERIFY_FAILED",
    "TRAINING",
    "TRAIN_FAILED",
    "JOB_FINISH",
]
_PICTURE_STATES = ["SUCCEED"] * 5 + ["PARTIAL_SUCCEED", "FAILED", "CANCELED", "WAITING", "PROCESSING"]


def _stable_id(*parts: object, hex_only: bool = False) -> str:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    value = uuid.UUID(bytes=digest[:16], version=4)
    return value.hex if hex_only else str(value)


def seed_demo_jobs(emulator: Emulator) -> None:
    principals = [token_principal(index) for index in range(len(emulator.config.tokens))]
    principals += [ak_principal(ak) for ak in emulator.config.credentials]
    for principal in principals:
        _seed_for(emulator, principal)


def _seed_for(emulator: Emulator, principal: Principal) -> None:
    now = emulator.clock()
    rng = random.Random(int.from_bytes(hashlib.sha256(principal.label.encode()).digest()[:8], "big"))
    _examples(emulator, principal, now)
    for index in range(36):
        _video(emulator, principal, index, rng, now)
    for index in range(30):
        _training(emulator, principal, index, rng, now)
    for index in range(30):
        _picture(emulator, principal, index, rng, now)


def _add(
    emulator: Emulator,
    principal: Principal,
    job_id: str,
    kind: JobKind,
    state: str,
    created: float,
    data: dict[str, Any],
) -> Job:
    job = Job(job_id, kind, principal.label, state, created, created, data)
    emulator.store.add(job)
    return job


def _examples(emulator: Emulator, principal: Principal, now: float) -> None:
    # The reference examples are from 2022-2023; they keep their ids, values and spacing but are
    # dated a few days back so the default one-month video list shows them.
    created = now - 3 * DAY
    video = _add(
        emulator,
        principal,
        EXAMPLE_VIDEO_ID,
        JobKind.VIDEO_2D,
        "SUCCEED",
        created,
        {
            "asset_id": "942e65a5fd219a2e01fb08d881cfadb9",
            "duration": 60.0,
            "cover_url": _EXAMPLE_COVER,
            "request": {
                "script_id": "4b5b6effcf3b4c72a0baccb265111765",
                "model_asset_id": "cda7e9a469ee9cf3ffc1ad62794a12ff",
                "voice_config": _EXAMPLE_VOICE,
                "video_config": {
                    "codec": "H264",
                    "bitrate": 5000,
                    "width": 720,
                    "height": 1280,
                    "frame_rate": "30",
                },
                "shoot_scripts": [_EXAMPLE_SCRIPT],
                "output_asset_config": {"asset_name": "One Day"},
            },
        },
    )
    video.started_at, video.ended_at, video.updated_at = created + 5, created + 65, created + 13
    photo = _add(
        emulator,
        principal,
        EXAMPLE_PHOTO_VIDEO_ID,
        JobKind.VIDEO_PHOTO,
        "SUCCEED",
        created + 60,
        {
            "asset_id": "942e65a5fd219a2e01fb08d881cfadb9",
            "duration": 60.0,
            "cover_url": _EXAMPLE_COVER,
            "request": {
                "script_id": "4b5b6effcf3b4c72a0baccb265111765",
                "voice_config": _EXAMPLE_VOICE,
                "video_config": {"codec": "H264", "bitrate": 5000, "frame_rate": "30"},
                "shoot_scripts": [
                    {"sequence_no": 0, "shoot_script": {"text_config": {"text": "大家好,我是云玲。"}}}
                ],
                "output_asset_config": {"asset_name": "One Day"},
            },
        },
    )
    photo.started_at, photo.ended_at, photo.updated_at = created + 65, created + 125, created + 73
    logs = [
        (0, "USER_CREATE_JOD", "USER"),
        (6, "SYSTEM_MARKABLE_VIDEO", "SYSTEM"),
        (6, "USER_VERIFYING_SUBMITTED", "USER"),
        (6, "SYSTEM_VERIFY_SUCCESS", "SYSTEM"),
        (68, "SYSTEM_MARKABLE_VIDEO_SUCCESS", "SYSTEM"),
    ]
    training = _add(
        emulator,
        principal,
        EXAMPLE_TRAINING_ID,
        JobKind.TRAINING,
        "MANUAL_VERIFYING",
        created,
        {
            "name": "测试名字",
            "contact": "1**********",
            "model_version": "V3",
            "matting_type": "AI",
            "model_resolution": "1080P",
            "is_background_replacement": True,
            "comment_logs": [],
            "operation_logs": [
                {"operate_time": created + offset, "log_type": log_type, "operate_user": user}
                for offset, log_type, user in logs
            ],
        },
    )
    training.updated_at = created + 68
    emulator.lifecycle.schedule(training, training_plan(emulator.config.timings, None)[1:], now)
    picture = _add(
        emulator,
        principal,
        EXAMPLE_PICTURE_ID,
        JobKind.PICTURE,
        "SUCCEED",
        created,
        {
            "model_asset_id": "89026ecafff64514e3e4b225f228bc0d",
            "style_id": "system_female_001",
            "name": "my_model",
        },
    )
    picture.started_at, picture.ended_at, picture.updated_at = created + 3, created + 18, created + 18


def _video(emulator: Emulator, principal: Principal, index: int, rng: random.Random, now: float) -> None:
    kind = JobKind.VIDEO_PHOTO if index % 3 == 2 else JobKind.VIDEO_2D
    state = _VIDEO_STATES[index % len(_VIDEO_STATES)]
    # Most jobs are from the last few weeks; every twelfth is older than the default one-month window.
    age = (35 + index) * DAY if index % 12 == 11 else rng.uniform(0.05, 26) * DAY
    created = now - age
    name = f"{_ASSET_NAMES[index % len(_ASSET_NAMES)]} #{index + 1}"
    request: dict[str, Any] = {
        "script_id": _stable_id(principal.label, "script", index % 5, hex_only=True),
        "voice_config": {
            "voice_asset_id": _stable_id("voice", index % 4, hex_only=True),
            "speed": 100,
            "pitch": 100,
            "volume": 140,
        },
        "output_asset_config": {"asset_name": name},
        "shoot_scripts": [
            {
                "sequence_no": n,
                "shoot_script": {
                    "script_type": "TEXT",
                    "text_config": {"text": _SCRIPT_TEXTS[(index + n) % 4]},
                },
            }
            for n in range(1 + index % 3)
        ],
    }
    if kind is JobKind.VIDEO_2D:
        request["model_asset_id"] = _stable_id("model", index % 6, hex_only=True)
        request["video_config"] = {
            "codec": "H264",
            "bitrate": 5000,
            "width": 1080,
            "height": 1920,
            "frame_rate": "25",
            "is_subtitle_enable": index % 2 == 0,
        }
    else:
        request["video_config"] = {"codec": "H264", "bitrate": 4000, "frame_rate": "25"}
    data = {
        "request": request,
        "asset_id": _stable_id("asset", principal.label, index, hex_only=True),
        "duration": round(rng.uniform(8, 180), 1),
    }
    job = _add(emulator, principal, _stable_id(principal.label, "video", index), kind, state, created, data)
    timings = emulator.config.timings
    if state in ("SUCCEED", "FAILED", "CANCELED", "PROCESSING", "BLOCK"):
        job.started_at = created + rng.uniform(2, 30)
    if state in ("SUCCEED", "FAILED", "CANCELED"):
        job.ended_at = job.updated_at = (job.started_at or created) + rng.uniform(20, 600)
    if state == "FAILED":
        job.error_info = {"error_code": VIDEO_FAILURE[0], "error_msg": VIDEO_FAILURE[1]}
    if state == "WAITING":
        emulator.lifecycle.schedule(job, video_plan(timings, index % 4 == 0), now)
    elif state == "PROCESSING":
        emulator.lifecycle.schedule(job, video_plan(timings, False)[1:], now)


def _training(emulator: Emulator, principal: Principal, index: int, rng: random.Random, now: float) -> None:
    state = _TRAINING_STATES[index % len(_TRAINING_STATES)]
    created = now - rng.uniform(0.1, 40) * DAY
    batch = _BATCHES[index % len(_BATCHES)]
    data: dict[str, Any] = {
        "name": f"{_MODEL_NAMES[index % len(_MODEL_NAMES)]} {index + 1}",
        "contact": "138****0000",
        "batch_name": batch,
        "tags": _TAG_SETS[index % len(_TAG_SETS)],
        "model_version": "V3.2",
        "matting_type": "AI",
        "model_resolution": "4K" if index % 5 == 0 else "1080P",
        "is_background_replacement": index % 2 == 0,
        "is_flexus": index % 4 == 1,
        "is_live_copy": False,
        "is_fast_flexus": False,
        "is_only_human_model": False,
        "is_ondemand_resource": False,
        "supported_service": ["VIDEO_2D", "LIVE_2D"],
        "video_multipart_count": 1,
        "action_video_multipart_count": 1,
        "comment_logs": [],
        "operation_logs": [{"operate_time": created, "log_type": "USER_CREATE_JOD", "operate_user": "USER"}],
    }
    if state in ("JOB_SUCCESS", "JOB_FINISH"):
        data["asset_id"] = _stable_id(principal.label, "model-asset", index, hex_only=True)
    job = _add(
        emulator,
        principal,
        _stable_id(principal.label, "training", index, hex_only=True),
        JobKind.TRAINING,
        state,
        created,
        data,
    )
    job.updated_at = created + rng.uniform(60, 3 * DAY)
    if state == "AUTO_VERIFY_FAILED":
        job.error_info = {"error_code": VERIFY_FAILURE[0], "error_msg": VERIFY_FAILURE[1]}
    elif state == "TRAIN_FAILED":
        job.error_info = {"error_code": TRAIN_FAILURE[0], "error_msg": TRAIN_FAILURE[1]}
    plan = training_plan(emulator.config.timings, None)
    later = [step.state for step in plan]
    if state == "AUTO_VERIFYING":
        emulator.lifecycle.schedule(job, plan, now)
    elif state in later and state != "JOB_SUCCESS":
        emulator.lifecycle.schedule(job, plan[later.index(state) + 1 :], now)


def _picture(emulator: Emulator, principal: Principal, index: int, rng: random.Random, now: float) -> None:
    state = _PICTURE_STATES[index % len(_PICTURE_STATES)]
    created = now - rng.uniform(0.05, 28) * DAY
    data = {
        "name": f"{_MODEL_NAMES[(index + 3) % len(_MODEL_NAMES)]} stylized {index + 1}",
        "style_id": _STYLES[index % len(_STYLES)],
        "model_asset_id": _stable_id(principal.label, "picture-asset", index, hex_only=True),
    }
    job = _add(
        emulator,
        principal,
        _stable_id(principal.label, "picture", index),
        JobKind.PICTURE,
        state,
        created,
        data,
    )
    if state != "WAITING":
        job.started_at = created + rng.uniform(1, 20)
    if state in ("SUCCEED", "PARTIAL_SUCCEED", "FAILED", "CANCELED"):
        job.ended_at = job.updated_at = (job.started_at or created) + rng.uniform(10, 120)
    if state == "FAILED":
        job.error_info = {"error_code": PICTURE_FAILURE[0], "error_msg": PICTURE_FAILURE[1]}
    timings = emulator.config.timings
    if state == "WAITING":
        emulator.lifecycle.schedule(job, picture_plan(timings, False), now)
    elif state == "PROCESSING":
        emulator.lifecycle.schedule(job, picture_plan(timings, index % 3 == 0)[1:], now)
