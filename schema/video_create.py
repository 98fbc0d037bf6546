"""The inputs of createVideoJob and createPhotoVideoJob: their rules, and the body each sends upstream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry

from schema.input_rules import Custom, Required, RequiredWhen, check_fields, check_nested, ruled, unruled
from schema.mutations import VIDEO_IDEMPOTENCY_KEY
from schema.user_errors import Path, Problems, camel_case
from schema.video_inputs import (
    ActionConfigInput,
    BackgroundMusicConfigInput,
    CallbackConfigInput,
    OutputAssetConfigInput,
    PhotoVideoConfigInput,
    ReviewConfigInput,
    VideoConfigInput,
    VoiceConfigInput,
    upstream_json,
)
from schema.video_scenes import PhotoShootScriptItemInput, ShootScriptItemInput

INPUT = ["input"]
# Rules of the configs both kinds of video share, checked in this order.
_SHARED = (
    "voice_config",
    "video_config",
    "output_asset_config",
    "background_music_config",
    "callback_config",
)
WITHOUT_SCRIPT = RequiredWhen("scriptId")


class _VideoCreate:
    """What both create inputs do with their fields."""

    def problems(self) -> Problems:
        """The job's own field rules, then the shared configs', then each scene's and their numbers."""
        problems = Problems()
        check_fields(problems, INPUT, self, nested=False)
        for name in _SHARED:
            value = getattr(self, name)
            if value is not None:
                check_nested(problems, [*INPUT, camel_case(name)], value)
        scripts: Sequence[Any] = getattr(self, "shoot_scripts", None) or ()
        path = [*INPUT, "shootScripts"]
        check_nested(problems, path, list(scripts))
        problems.unique(path, [item.sequence_no for item in scripts], "sequenceNo")
        return problems

    def upstream_body(self) -> dict[str, Any]:
        body: dict[str, Any] = upstream_json(self)
        return body


@strawberry.input(
    description="A 2D digital-human video to make from a model asset (Create2DDigitalHumanVideo)."
)
class CreateVideoJobInput(_VideoCreate):
    script_id: str | None = unruled(
        "Id of a saved script; when given, it supplies whatever of modelAssetId, voiceConfig, "
        "videoConfig and shootScripts is left out."
    )
    model_asset_id: str | None = ruled("Id of the digital-human model asset; {required}.", WITHOUT_SCRIPT)
    voice_config: VoiceConfigInput | None = ruled("The voice; {required}.", WITHOUT_SCRIPT)
    video_config: VideoConfigInput | None = ruled("How the video is encoded; {required}.", WITHOUT_SCRIPT)
    shoot_scripts: list[ShootScriptItemInput] | None = ruled(
        "The scenes, each with its own sequenceNo; {required}.", WITHOUT_SCRIPT
    )
    output_asset_config: OutputAssetConfigInput | None = unruled("The video asset the job produces.")
    background_music_config: BackgroundMusicConfigInput | None = unruled("Music under the whole video.")
    review_config: ReviewConfigInput | None = unruled("Content review of the video.")
    callback_config: CallbackConfigInput | None = unruled("Where MetaStudio notifies when the job ends.")
    action_config: ActionConfigInput | None = unruled("How often the digital human makes its actions.")
    idempotency_key: str | None = unruled(VIDEO_IDEMPOTENCY_KEY)


def _one_scene(problems: Problems, path: Path, scripts: Any, job: Any) -> None:
    if len(scripts) != 1:
        problems.add(path, f"a photo video takes exactly one shoot script, got {len(scripts)}")


@strawberry.input(description="A digital-human video to make from a photo (CreatePhotoDigitalHumanVideo).")
class CreatePhotoVideoJobInput(_VideoCreate):
    script_id: str | None = unruled("Id of a saved script.")
    human_image: str | None = ruled("{required} The photo of the person, Base64-encoded.", Required())
    voice_config: VoiceConfigInput | None = unruled("The voice.")
    video_config: PhotoVideoConfigInput | None = unruled("How the video is encoded.")
    shoot_scripts: list[PhotoShootScriptItemInput] | None = ruled(
        "{required} {count} scene.", Required(), Custom("count", "Exactly one", _one_scene)
    )
    output_asset_config: OutputAssetConfigInput | None = unruled("The video asset the job produces.")
    background_music_config: BackgroundMusicConfigInput | None = unruled("Music under the whole video.")
    review_config: ReviewConfigInput | None = unruled("Content review of the video.")
    callback_config: CallbackConfigInput | None = unruled("Where MetaStudio notifies when the job ends.")
    id_card_image1: str | None = unruled("Front of the person's identity card, Base64-encoded.")
    id_card_image2: str | None = unruled("Back of the person's identity card, Base64-encoded.")
    authorize_use_human_image: bool | None = unruled("Whether the person authorised use of the photo.")
    idempotency_key: str | None = unruled(VIDEO_IDEMPOTENCY_KEY)


__all__ = ["CreatePhotoVideoJobInput", "CreateVideoJobInput"]
