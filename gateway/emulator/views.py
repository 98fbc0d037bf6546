"""Jobs rendered as the upstream's JSON models (field names as in the official SDK)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gateway.emulator.clock import format_time
from gateway.emulator.jobs import Job, JobKind


@dataclass(frozen=True)
class Links:
    """Fake but well-formed object-storage URLs, like the upstream's signed OBS links."""

    base: str
    project_id: str

    def file(self, job: Job, name: str, verb: str = "download") -> str:
        path = f"/{self.project_id}/{job.job_id}/{name}"
        signature = hashlib.sha256(f"{verb}:{path}".encode()).hexdigest()[:28]
        expires = int(job.created_at) + 86400
        return f"{self.base}/emulator-obs{path}?AccessKeyId=EMULATOR&Expires={expires}&Signature={signature}"


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _time(value: float | None) -> str | None:
    return None if value is None else format_time(value)


def _output_asset(job: Job, links: Links) -> dict[str, Any]:
    request = job.data.get("request", {})
    done = job.state == "SUCCEED"
    return _compact(
        {
            "asset_id": job.data.get("asset_id"),
            "asset_name": (request.get("output_asset_config") or {}).get("asset_name")
            or job.data.get("asset_name"),
            "cover_url": (job.data.get("cover_url") or links.file(job, "cover.png")) if done else None,
            "preview_video_url": links.file(job, "preview.mp4")
            if done and job.kind is JobKind.VIDEO_PHOTO
            else None,
        }
    )


def video_summary(job: Job, links: Links) -> dict[str, Any]:
    fields = _compact(
        {
            "job_id": job.job_id,
            "state": job.state,
            "job_type": job.kind.value,
            "start_time": _time(job.started_at),
            "end_time": _time(job.ended_at),
            "duration": job.data.get("duration") if job.state == "SUCCEED" else None,
            "output_asset_config": _output_asset(job, links),
            "create_time": format_time(job.created_at),
            "lastupdate_time": format_time(job.updated_at),
        }
    )
    fields["error_info"] = job.error_info
    return fields


def video_detail(job: Job, links: Links, show_script: bool) -> dict[str, Any]:
    request: dict[str, Any] = job.data.get("request", {})
    fields = video_summary(job, links)
    fields["script_id"] = request.get("script_id")
    fields["voice_config"] = request.get("voice_config")
    fields["video_config"] = request.get("video_config")
    if job.kind is JobKind.VIDEO_2D:
        fields["video_making_type"] = "MODEL"
        fields["model_asset_id"] = request.get("model_asset_id")
        fields["background_music_config"] = request.get("background_music_config")
    else:
        fields["human_image"] = request.get("human_image")
    if show_script:
        fields["shoot_scripts"] = request.get("shoot_scripts")
    return {name: value for name, value in fields.items() if value is not None or name == "error_info"}


_BASIC_FLAGS = (
    "is_flexus",
    "is_live_copy",
    "is_fast_flexus",
    "is_only_human_model",
    "is_background_replacement",
    "is_ondemand_resource",
)


def training_basic(job: Job, links: Links, project_id: str) -> dict[str, Any]:
    data = job.data
    return _compact(
        {
            "job_id": job.job_id,
            "name": data.get("name"),
            "state": job.state,
            "asset_id": data.get("asset_id"),
            "project_id": project_id,
            "cover_download_url": links.file(job, "cover.png"),
            "last_update_time": format_time(job.updated_at),
            "create_time": format_time(job.created_at),
            "contact": data.get("contact"),
            "batch_name": data.get("batch_name"),
            "tags": data.get("tags"),
            "model_version": data.get("model_version"),
            "matting_type": data.get("matting_type"),
            "model_resolution": data.get("model_resolution"),
            "app_user_id": data.get("app_user_id"),
            **{flag: data.get(flag) for flag in _BASIC_FLAGS},
            "optional_training_location": data.get("optional_training_location"),
        }
    )


_SUBMITTED = frozenset({"WAIT_FILE_UPLOAD"})


def training_detail(job: Job, links: Links, project_id: str) -> dict[str, Any]:
    data = job.data
    fields = training_basic(job, links, project_id)
    submitted = job.state not in _SUBMITTED
    fields.update(
        _compact(
            {
                "training_video_download_url": links.file(job, "training_video.mp4"),
                "id_card_image1_download_url": links.file(job, "id_card_image1.jpg"),
                "id_card_image2_download_url": links.file(job, "id_card_image2.jpg"),
                "grant_file_download_url": links.file(job, "grant_file.pdf"),
                "action_video_download_url": links.file(job, "action_video.mp4")
                if data.get("action_video")
                else None,
                "audio_file_download_url": links.file(job, "audio.wav")
                if data.get("audio_source_type") == "AUDIO"
                else None,
                "verify_video_download_url": links.file(job, "verify_video.mp4") if submitted else None,
                "markable_video_download_url": links.file(job, "markable_video.mp4") if submitted else None,
                "operation_logs": [
                    {**entry, "operate_time": format_time(entry["operate_time"])}
                    for entry in data.get("operation_logs", [])
                ],
                "comment_logs": data.get("comment_logs", []),
                "is_mask_file_uploaded": False,
                "voice_properties": data.get("voice_properties"),
                "audio_source_type": data.get("audio_source_type"),
                "supported_service": data.get("supported_service"),
                "flexus_retry_count": 3 if data.get("is_flexus") else None,
            }
        )
    )
    return fields


def picture_info(job: Job, links: Links) -> dict[str, Any]:
    data = job.data
    fields = _compact(
        {
            "job_id": job.job_id,
            "state": job.state,
            "start_time": _time(job.started_at),
            "end_time": _time(job.ended_at),
            "model_asset_id": data.get("model_asset_id"),
            "name": data.get("name"),
            "style_id": data.get("style_id"),
            "model_cover_url": links.file(job, "model_cover.png")
            if job.state in ("SUCCEED", "PARTIAL_SUCCEED")
            else None,
        }
    )
    fields["error_info"] = job.error_info
    return fields


def upload_urls(job: Job, links: Links) -> dict[str, Any]:
    """Create2dModelTrainingJobResponse: where the caller puts the training material."""
    data = job.data
    return {
        "job_id": job.job_id,
        "training_video_upload_url": [
            links.file(job, f"training_video.part{n}", "upload")
            for n in range(1, data["video_multipart_count"] + 1)
        ],
        "action_video_upload_url": [
            links.file(job, f"action_video.part{n}", "upload")
            for n in range(1, data["action_video_multipart_count"] + 1)
        ],
        "audio_upload_url": links.file(job, "audio.wav", "upload"),
        "cover_upload_url": links.file(job, "cover.png", "upload"),
        "id_card_image1_upload_url": links.file(job, "id_card_image1.jpg", "upload"),
        "id_card_image2_upload_url": links.file(job, "id_card_image2.jpg", "upload"),
        "grant_file_upload_url": links.file(job, "grant_file.pdf", "upload"),
        "pre_beauty_image_upload_url": links.file(job, "pre_beauty.jpg", "upload"),
        "post_beauty_image_upload_url": links.file(job, "post_beauty.jpg", "upload"),
    }
