"""The nested objects of a video job (output asset, voice, video and script configs), read leniently."""

from __future__ import annotations

import strawberry

from schema.fields import FLAG, INTEGER, REAL, TEXT, Upstream, enum_of, many, one, upstream
from schema.reading import Data
from schema.video_inputs import BackgroundType, LayerType, ShootScriptType, VideoClipMode, VideoCodec


@strawberry.type(description="The video asset a job produces.")
class OutputAsset(Upstream):
    asset_id: str | None = upstream(TEXT, "Id of the output video asset.")
    asset_name: str | None = upstream(TEXT, "Name of the output video asset.")
    cover_url: str | None = upstream(TEXT, "URL of the video's cover image.")
    preview_video_url: str | None = upstream(
        TEXT, "Download URL of a preview video, valid for 24 hours (photo videos only)."
    )


@strawberry.type(description="The voice the digital human speaks with.")
class VoiceConfig(Upstream):
    voice_asset_id: str | None = upstream(TEXT, "Id of the voice asset.")
    speed: int | None = upstream(INTEGER, "Speech speed, 50-200; 100 is normal (~250 words a minute).")
    pitch: int | None = upstream(INTEGER, "Pitch, 50-200; 100 is normal.")
    volume: int | None = upstream(INTEGER, "Volume, 90-240; 140 by default.")


@strawberry.type(description="How subtitles are drawn on a 2D video.")
class SubtitleConfig(Upstream):
    dx: int | None = upstream(INTEGER, "X of the subtitle box's bottom-left corner, in pixels.")
    dy: int | None = upstream(INTEGER, "Y of the subtitle box's bottom-left corner, in pixels.")
    h: int | None = upstream(INTEGER, "Subtitle box height, in pixels.")
    w: int | None = upstream(INTEGER, "Subtitle box width, in pixels.")
    font_name: str | None = upstream(TEXT, "Font name.")
    font_size: int | None = upstream(INTEGER, "Font size, 24-120 in practice.")
    font_color: str | None = upstream(TEXT, "Font color as RGB, e.g. #FFFFFF.")
    stroke_color: str | None = upstream(TEXT, "Outline color as RGB.")
    stroke_thickness: float | None = upstream(REAL, "Outline thickness.")
    opacity: float | None = upstream(REAL, "Opacity of the subtitles.")


@strawberry.interface(
    description="How a video is encoded: the settings both kinds share. "
    "A 2D job's is a VideoConfig, a photo job's a PhotoVideoConfig."
)
class VideoOutputConfig(Upstream):
    codec: VideoCodec | None = upstream(
        enum_of(VideoCodec), "H264 (an mp4 file), VP8 (a webm file; 2D only) or QTRLE (2D only)."
    )
    bitrate: int | None = upstream(INTEGER, "Average output bitrate in kbps, 40-30000.")
    frame_rate: str | None = upstream(TEXT, "Frames per second (2D videos are always 25).")

    @staticmethod
    def read(data: Data | None, job_type: object) -> VideoOutputConfig | None:
        """A photo job's settings as a PhotoVideoConfig, any other job's as a VideoConfig."""
        if data is None:
            return None
        made = PhotoVideoConfig if job_type == "PHOTO_DIGITAL_HUMAN_VIDEO" else VideoConfig
        return made.from_upstream(data)


@strawberry.type(description="How a 2D digital-human video is encoded, cropped and subtitled.")
class VideoConfig(VideoOutputConfig):
    clip_mode: VideoClipMode | None = upstream(
        enum_of(VideoClipMode), "RESIZE (scale the video) or CROP (cut it)."
    )
    width: int | None = upstream(INTEGER, "Video width in pixels.")
    height: int | None = upstream(INTEGER, "Video height in pixels.")
    is_subtitle_enable: bool | None = upstream(FLAG, "Whether the video carries subtitles.")
    subtitle_config: SubtitleConfig | None = upstream(one(SubtitleConfig), "How subtitles are drawn.")
    dx: int | None = upstream(INTEGER, "X of the crop's top-left corner (clipMode CROP).")
    dy: int | None = upstream(INTEGER, "Y of the crop's top-left corner (clipMode CROP).")
    is_enable_super_resolution: bool | None = upstream(FLAG, "Whether super-resolution is on.")
    is_end_at_first_frame: bool | None = upstream(
        FLAG, "Whether the last frame equals the first, so several videos join seamlessly."
    )
    output_external_url: str | None = upstream(TEXT, "External URL the video is also written to.")
    is_vocabulary_config_enable: bool | None = upstream(
        FLAG, "Whether the tenant's pronunciation vocabulary is applied."
    )


@strawberry.type(description="How a photo digital-human video is encoded.")
class PhotoVideoConfig(VideoOutputConfig):
    pass


@strawberry.type(description="Music played under the whole video.")
class BackgroundMusicConfig(Upstream):
    music_asset_id: str | None = upstream(TEXT, "Id of the music asset.")
    volume: int | None = upstream(INTEGER, "Music volume in percent, 0-100.")


@strawberry.type(description="The words a text-driven script speaks.")
class TextConfig(Upstream):
    text: str | None = upstream(TEXT, "Plain text or SSML, up to 10000 characters without tags.")


@strawberry.type(description="An action the digital human performs during an audio-driven script.")
class AudioDriveActionConfig(Upstream):
    action_tag: str | None = upstream(TEXT, "Action tag.")
    action_name: str | None = upstream(TEXT, "Action name.")
    action_start_time: float | None = upstream(REAL, "When the action starts, in seconds.")


@strawberry.type(description="Where a background image sits on the canvas.")
class BackgroundImageConfig(Upstream):
    dx: int | None = upstream(INTEGER, "X of the image's top-left corner, in pixels.")
    dy: int | None = upstream(INTEGER, "Y of the image's top-left corner, in pixels.")
    width: int | None = upstream(INTEGER, "Image width, in pixels.")
    height: int | None = upstream(INTEGER, "Image height, in pixels.")


@strawberry.type(description="A script's background: an image or a plain color.")
class BackgroundConfigInfo(Upstream):
    background_type: BackgroundType | None = upstream(enum_of(BackgroundType), "IMAGE or COLOR.")
    background_config: str | None = upstream(TEXT, "URL of the background image (IMAGE).")
    background_color_config: str | None = upstream(TEXT, "Background color as RGB (COLOR).")
    background_asset_id: str | None = upstream(TEXT, "Id of the background image asset.")
    background_image_config: BackgroundImageConfig | None = upstream(
        one(BackgroundImageConfig), "Where the background image sits."
    )


@strawberry.type(description="Where a layer's top-left corner sits on the canvas (1920x1080 or 1080x1920).")
class LayerPositionConfig(Upstream):
    dx: int | None = upstream(INTEGER, "X, in canvas pixels.")
    dy: int | None = upstream(INTEGER, "Y, in canvas pixels.")
    layer_index: int | None = upstream(INTEGER, "Stacking order from 1 (bottom) up to 100.")


@strawberry.type(description="A layer's size on the canvas.")
class LayerSizeConfig(Upstream):
    width: int | None = upstream(INTEGER, "Width, in canvas pixels.")
    height: int | None = upstream(INTEGER, "Height, in canvas pixels.")


@strawberry.type(description="A layer's rotation.")
class LayerRotationConfig(Upstream):
    angle: int | None = upstream(INTEGER, "Rotation angle in degrees.")


@strawberry.type(description="An image layer's content.")
class ImageLayerConfig(Upstream):
    image_url: str | None = upstream(TEXT, "URL of the image.")


@strawberry.type(description="A video layer's content and playback.")
class VideoLayerConfig(Upstream):
    video_url: str | None = upstream(TEXT, "URL of the video.")
    video_cover_url: str | None = upstream(TEXT, "URL of the video's cover.")
    loop_count: int | None = upstream(INTEGER, "Times the video plays: 0 never, -1 forever.")
    video_sound: int | None = upstream(INTEGER, "Volume of the video's own sound.")
    is_play_the_entire_video: bool | None = upstream(FLAG, "Whether the whole video plays.")


@strawberry.type(description="A text layer's content and font.")
class TextLayerConfig(Upstream):
    text_context: str | None = upstream(TEXT, "The text, Base64-encoded.")
    font_name: str | None = upstream(TEXT, "Font name.")
    font_size: int | None = upstream(INTEGER, "Font size in pixels.")
    font_color: str | None = upstream(TEXT, "Font color as RGB.")


@strawberry.type(description="One layer of a script's picture: the human, an image, a video or text.")
class LayerConfig(Upstream):
    layer_type: LayerType | None = upstream(enum_of(LayerType), "HUMAN, IMAGE, VIDEO or TEXT.")
    asset_id: str | None = upstream(TEXT, "Id of the asset the layer shows.")
    group_id: str | None = upstream(TEXT, "Layers of one group share their position across scenes.")
    sequence_no: int | None = upstream(INTEGER, "Order of the layer.")
    position: LayerPositionConfig | None = upstream(one(LayerPositionConfig), "Where the layer sits.")
    size: LayerSizeConfig | None = upstream(one(LayerSizeConfig), "How large the layer is.")
    rotation: LayerRotationConfig | None = upstream(one(LayerRotationConfig), "How the layer is rotated.")
    image_config: ImageLayerConfig | None = upstream(one(ImageLayerConfig), "Content of an IMAGE layer.")
    video_config: VideoLayerConfig | None = upstream(one(VideoLayerConfig), "Content of a VIDEO layer.")
    text_config: TextLayerConfig | None = upstream(one(TextLayerConfig), "Content of a TEXT layer.")


@strawberry.type(description="The audio that drives an audio-driven script.")
class AudioInfo(Upstream):
    audio_id: int | None = upstream(INTEGER, "Id of the audio.")


@strawberry.type(description="What one scene shows and says.")
class ShootScript(Upstream):
    script_type: ShootScriptType | None = upstream(
        enum_of(ShootScriptType), "TEXT (speech synthesized from text) or AUDIO."
    )
    text_config: TextConfig | None = upstream(one(TextConfig), "The words spoken (TEXT).")
    audio_duration: float | None = upstream(REAL, "Length of the driving audio, in seconds.")
    audio_drive_action_config: list[AudioDriveActionConfig] = upstream(
        many(AudioDriveActionConfig), "Actions performed during the audio (AUDIO)."
    )
    audio_drive_file_external_url: str | None = upstream(TEXT, "URL of the driving audio file.")
    background_config: list[BackgroundConfigInfo] = upstream(
        many(BackgroundConfigInfo), "Backgrounds of the scene."
    )
    layer_config: list[LayerConfig] = upstream(many(LayerConfig), "Layers of the scene, bottom to top.")
    audio_config: AudioInfo | None = upstream(one(AudioInfo), "The driving audio (AUDIO).")


@strawberry.type(description="A subtitle file the upstream generates for a script.")
class SubtitleFileInfo(Upstream):
    subtitle_file_download_url: str | None = upstream(TEXT, "Download URL of the file.")
    subtitle_file_upload_url: str | None = upstream(TEXT, "Upload URL of the file.")
    subtitle_file_state: str | None = upstream(TEXT, "GENERATING, GENERATE_SUCCEED or GENERATE_FAILED.")
    job_id: str | None = upstream(TEXT, "Id of the job that generates the file.")


@strawberry.type(description="The subtitle files of one script.")
class SubtitleFiles(Upstream):
    text_subtitle_file: SubtitleFileInfo | None = upstream(one(SubtitleFileInfo), "Subtitles from the text.")
    audio_subtitle_file: SubtitleFileInfo | None = upstream(
        one(SubtitleFileInfo), "Subtitles from the audio."
    )


@strawberry.type(description="One numbered scene of a video's script.")
class ShootScriptItem(Upstream):
    sequence_no: int | None = upstream(INTEGER, "Number of the scene; unique within the job.")
    shoot_script: ShootScript | None = upstream(one(ShootScript), "What the scene shows and says.")
    subtitle_file_info: SubtitleFiles | None = upstream(one(SubtitleFiles), "The scene's subtitle files.")
