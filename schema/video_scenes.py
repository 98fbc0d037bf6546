"""The scenes of a video job's input: what drives each, its backgrounds, its layers, its subtitle files."""

from __future__ import annotations

import re
from typing import Any

import strawberry

from schema.input_rules import (
    INT_MAX,
    AtMost,
    Between,
    Checked,
    Color,
    Custom,
    Present,
    Required,
    RequiredWhen,
    Url,
    check_fields,
    ruled,
    unruled,
)
from schema.user_errors import Path, Problems
from schema.video_inputs import (
    ASSET_ID,
    DEFAULT_FONT,
    FONT_NAME,
    OFFSET,
    BackgroundType,
    LayerType,
    ShootScriptType,
)

TEXT_MAX = 131_072
TEXT_WITHOUT_SSML_MAX = 10_000
# The upstream counts a text's length without its SSML markup.
_SSML_TAG = re.compile(r"<[^<>]*>")


def _marked(problems: Problems, path: Path, text: Any, config: Any) -> None:
    problems.at_most(path, text, TEXT_MAX)


def _spoken(problems: Problems, path: Path, text: Any, config: Any) -> None:
    spoken = len(_SSML_TAG.sub("", text))
    if spoken > TEXT_WITHOUT_SSML_MAX:
        problems.add(
            path,
            f"text must be at most {TEXT_WITHOUT_SSML_MAX} characters without SSML tags, got {spoken}",
        )


@strawberry.input(description="The words the digital human says.")
class TextConfigInput(Checked):
    text: str | None = ruled(
        "{required} Plain text or SSML; at most {spoken} characters without SSML tags ({marked} with them).",
        Required(),
        Custom("marked", f"{TEXT_MAX:,}", _marked),
        Custom("spoken", f"{TEXT_WITHOUT_SSML_MAX:,}", _spoken),
    )


@strawberry.input(description="An action the digital human makes while recorded audio drives it.")
class AudioDriveActionConfigInput(Checked):
    action_tag: str | None = ruled("{required} Tag of the action.", Required())
    action_name: str | None = unruled("Name of the action.")
    action_start_time: float | None = ruled(
        "{required} When the action starts, {range} seconds.", Required(), Between(0, 2592000)
    )


@strawberry.input(description="Where a background picture sits.")
class BackgroundImageConfigInput(Checked):
    dx: int | None = ruled("{required} X of the picture's top-left corner, in pixels.", Required())
    dy: int | None = ruled("{required} Y of the picture's top-left corner, in pixels.", Required())
    width: int | None = ruled("{required} Picture width, in pixels.", Required())
    height: int | None = ruled("{required} Picture height, in pixels.", Required())


def _conditional(rule: object) -> bool:
    return isinstance(rule, RequiredWhen)


@strawberry.input(description="A scene's background: a picture or a plain colour.")
class BackgroundConfigInput:
    background_type: BackgroundType | None = ruled("{required} IMAGE or COLOR.", Required())
    background_config: str | None = ruled(
        "URL of the picture; {required} (at most {most}).",
        RequiredWhen("backgroundType", BackgroundType.IMAGE),
        Url(),
    )
    background_color_config: str | None = ruled(
        "The colour, {color}; {required}.", RequiredWhen("backgroundType", BackgroundType.COLOR), Color()
    )
    background_asset_id: str | None = ruled(
        "Id of the picture's asset (at most {most} characters).", ASSET_ID
    )
    background_image_config: BackgroundImageConfigInput | None = unruled("Where the picture sits.")

    def check(self, problems: Problems, path: Path) -> None:
        # What the type requires is said before what is wrong with either value, and never hides it.
        check_fields(problems, path, self, ["background_type"])
        given = ["background_config", "background_color_config"]
        check_fields(problems, path, self, given, which=_conditional)
        given += ["background_asset_id", "background_image_config"]
        check_fields(problems, path, self, given, which=lambda rule: not _conditional(rule))


@strawberry.input(description="Where a layer sits on the canvas (1920x1080 landscape, 1080x1920 portrait).")
class LayerPositionConfigInput(Checked):
    dx: int | None = ruled("X of the layer's top-left corner, {range}.", Present(), OFFSET, default=0)
    dy: int | None = ruled("Y of the layer's top-left corner, {range}.", Present(), OFFSET, default=0)
    layer_index: int | None = ruled(
        "Stacking order, {range}; 1 is the bottom layer.", Present(), Between(1, 100), default=100
    )


@strawberry.input(description="A layer's size on the canvas.")
class LayerSizeConfigInput(Checked):
    width: int | None = ruled("Width in canvas pixels, {range}.", Between(1, 7680))
    height: int | None = ruled("Height in canvas pixels, {range}.", Between(1, 7680))


@strawberry.input(description="How far a layer is turned.")
class LayerRotationConfigInput(Checked):
    angle: int | None = ruled("Clockwise angle in degrees, {range}.", Between(0, 360))


@strawberry.input(description="The picture an IMAGE layer shows.")
class ImageLayerConfigInput(Checked):
    image_url: str | None = ruled("URL of the picture (at most {most} characters).", Url())


@strawberry.input(description="The video a VIDEO layer plays.")
class VideoLayerConfigInput(Checked):
    video_url: str | None = ruled("URL of the video (at most {most} characters).", Url())
    video_cover_url: str | None = ruled(
        "URL of the video's cover picture (at most {most} characters).", Url()
    )
    loop_count: int | None = ruled(
        "How often it plays, {range}: 0 never, -1 forever.", Between(-1, 100), default=-1
    )
    video_sound: int | None = ruled("The video's own volume, {range}.", Between(0, 100))
    is_play_the_entire_video: bool | None = unruled("Whether the whole video plays to its end.")


@strawberry.input(description="The words a TEXT layer shows.")
class TextLayerConfigInput(Checked):
    text_context: str | None = ruled("The text, Base64-encoded (at most {most} characters).", AtMost(1024))
    font_name: str | None = ruled("Font name (at most {most} characters).", FONT_NAME, default=DEFAULT_FONT)
    font_size: int | None = ruled(
        "Font size in pixels, {range} (4-120 in practice).", Between(0, 120), default=16
    )
    font_color: str | None = ruled("Font colour, {color}.", Color(), default="#FFFFFF")


@strawberry.input(description="One layer of a scene: the human, a picture, a video or a text.")
class LayerConfigInput(Checked):
    layer_type: LayerType | None = ruled("{required} HUMAN, IMAGE, VIDEO or TEXT.", Required())
    asset_id: str | None = ruled("Id of the layer's asset (at most {most} characters).", ASSET_ID)
    group_id: str | None = ruled(
        "Layers of one group share their position across scenes (at most {most}).", ASSET_ID
    )
    sequence_no: int | None = unruled("Order of the layer.")
    position: LayerPositionConfigInput | None = unruled("Where the layer sits.")
    size: LayerSizeConfigInput | None = unruled("How big the layer is.")
    rotation: LayerRotationConfigInput | None = unruled("How far the layer is turned.")
    image_config: ImageLayerConfigInput | None = unruled("The picture of an IMAGE layer.")
    video_config: VideoLayerConfigInput | None = unruled("The video of a VIDEO layer.")
    text_config: TextLayerConfigInput | None = unruled("The text of a TEXT layer.")


@strawberry.input(description="The recorded audio that drives a scene.")
class AudioConfigInput:
    audio_id: int | None = unruled("Id of the audio.")


@strawberry.input(description="A scene of a 2D video: what drives it, its background and its layers.")
class ShootScriptInput(Checked):
    script_type: ShootScriptType | None = unruled("TEXT (text-to-speech) or AUDIO.", ShootScriptType.TEXT)
    text_config: TextConfigInput | None = unruled("The words said, for TEXT scenes.")
    audio_duration: float | None = unruled("Length of the driving audio, in seconds.")
    audio_drive_action_config: list[AudioDriveActionConfigInput] | None = unruled(
        "Actions made while the audio plays."
    )
    audio_drive_file_external_url: str | None = ruled(
        "URL of the driving audio file (at most {most}).", Url()
    )
    background_config: list[BackgroundConfigInput] | None = unruled("The scene's backgrounds.")
    layer_config: list[LayerConfigInput] | None = unruled("The scene's layers.")
    audio_config: AudioConfigInput | None = unruled("The recorded audio that drives the scene.")


@strawberry.input(description="A scene of a photo video: only its type and its words.")
class PhotoShootScriptInput(Checked):
    script_type: ShootScriptType | None = unruled("TEXT (text-to-speech) or AUDIO.", ShootScriptType.TEXT)
    text_config: TextConfigInput | None = unruled("The words said.")


@strawberry.input(description="A subtitle file made for the video.")
class SubtitleFileInfoInput:
    subtitle_file_download_url: str | None = unruled("Download URL of the subtitle file.")
    subtitle_file_upload_url: str | None = unruled("Upload URL of the subtitle file.")
    subtitle_file_state: str | None = unruled("GENERATING, GENERATE_SUCCEED or GENERATE_FAILED.")
    job_id: str | None = unruled("Id of the job that made the subtitle file.")


@strawberry.input(description="Subtitle files of a scene.")
class SubtitleFilesInput:
    text_subtitle_file: SubtitleFileInfoInput | None = unruled("Subtitles from the text.")
    audio_subtitle_file: SubtitleFileInfoInput | None = unruled("Subtitles from the audio.")


SEQUENCE_NO = Between(0, INT_MAX)


@strawberry.input(description="One numbered scene of a 2D video.")
class ShootScriptItemInput(Checked):
    # Told apart across the list of scenes (schema/video_create.py).
    sequence_no: int | None = ruled("The scene's number, {range}; no two scenes share one.", SEQUENCE_NO)
    shoot_script: ShootScriptInput | None = unruled("What the scene shows and says.")
    subtitle_file_info: SubtitleFilesInput | None = unruled("Subtitle files of the scene.")


@strawberry.input(description="The one scene of a photo video.")
class PhotoShootScriptItemInput(Checked):
    sequence_no: int | None = ruled("The scene's number, {range}.", SEQUENCE_NO)
    shoot_script: PhotoShootScriptInput | None = unruled("What the scene says.")
    subtitle_file_info: SubtitleFilesInput | None = unruled("Subtitle files of the scene.")
