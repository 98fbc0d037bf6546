"""The nested objects of a video job (output asset, voice, video and script configs), read leniently."""

from __future__ import annotations

import strawberry

from schema.reading import Data, flag, integer, real, record, records, text
from schema.relay import optional_enum_value
from schema.video_inputs import BackgroundType, LayerType, ShootScriptType, VideoClipMode, VideoCodec


@strawberry.type(description="The video asset a job produces.")
class OutputAsset:
    asset_id: str | None = strawberry.field(description="Id of the output video asset.")
    asset_name: str | None = strawberry.field(description="Name of the output video asset.")
    cover_url: str | None = strawberry.field(description="URL of the video's cover image.")
    preview_video_url: str | None = strawberry.field(
        description="Download URL of a preview video, valid for 24 hours (photo videos only)."
    )

    @classmethod
    def read(cls, data: Data | None) -> OutputAsset | None:
        if data is None:
            return None
        return cls(
            asset_id=text(data, "asset_id"),
            asset_name=text(data, "asset_name"),
            cover_url=text(data, "cover_url"),
            preview_video_url=text(data, "preview_video_url"),
        )


@strawberry.type(description="The voice the digital human speaks with.")
class VoiceConfig:
    voice_asset_id: str | None = strawberry.field(description="Id of the voice asset.")
    speed: int | None = strawberry.field(
        description="Speech speed, 50-200; 100 is normal (~250 words a minute)."
    )
    pitch: int | None = strawberry.field(description="Pitch, 50-200; 100 is normal.")
    volume: int | None = strawberry.field(description="Volume, 90-240; 140 by default.")

    @classmethod
    def read(cls, data: Data | None) -> VoiceConfig | None:
        if data is None:
            return None
        return cls(
            voice_asset_id=text(data, "voice_asset_id"),
            speed=integer(data, "speed"),
            pitch=integer(data, "pitch"),
            volume=integer(data, "volume"),
        )


@strawberry.type(description="How subtitles are drawn on a 2D video.")
class SubtitleConfig:
    dx: int | None = strawberry.field(description="X of the subtitle box's bottom-left corner, in pixels.")
    dy: int | None = strawberry.field(description="Y of the subtitle box's bottom-left corner, in pixels.")
    h: int | None = strawberry.field(description="Subtitle box height, in pixels.")
    w: int | None = strawberry.field(description="Subtitle box width, in pixels.")
    font_name: str | None = strawberry.field(description="Font name.")
    font_size: int | None = strawberry.field(description="Font size, 24-120 in practice.")
    font_color: str | None = strawberry.field(description="Font color as RGB, e.g. #FFFFFF.")
    stroke_color: str | None = strawberry.field(description="Outline color as RGB.")
    stroke_thickness: float | None = strawberry.field(description="Outline thickness.")
    opacity: float | None = strawberry.field(description="Opacity of the subtitles.")

    @classmethod
    def read(cls, data: Data | None) -> SubtitleConfig | None:
        if data is None:
            return None
        return cls(
            dx=integer(data, "dx"),
            dy=integer(data, "dy"),
            h=integer(data, "h"),
            w=integer(data, "w"),
            font_name=text(data, "font_name"),
            font_size=integer(data, "font_size"),
            font_color=text(data, "font_color"),
            stroke_color=text(data, "stroke_color"),
            stroke_thickness=real(data, "stroke_thickness"),
            opacity=real(data, "opacity"),
        )


@strawberry.interface(
    description="How a video is encoded: the settings both kinds share. "
    "A 2D job's is a VideoConfig, a photo job's a PhotoVideoConfig."
)
class VideoOutputConfig:
    codec: VideoCodec | None = strawberry.field(
        description="H264 (an mp4 file), VP8 (a webm file; 2D only) or QTRLE (2D only)."
    )
    bitrate: int | None = strawberry.field(description="Average output bitrate in kbps, 40-30000.")
    frame_rate: str | None = strawberry.field(description="Frames per second (2D videos are always 25).")

    @staticmethod
    def read(data: Data | None, job_type: object) -> VideoOutputConfig | None:
        if data is None:
            return None
        if job_type == "PHOTO_DIGITAL_HUMAN_VIDEO":
            return PhotoVideoConfig(
                codec=optional_enum_value(VideoCodec, text(data, "codec")),
                bitrate=integer(data, "bitrate"),
                frame_rate=text(data, "frame_rate"),
            )
        return VideoConfig(
            codec=optional_enum_value(VideoCodec, text(data, "codec")),
            bitrate=integer(data, "bitrate"),
            frame_rate=text(data, "frame_rate"),
            clip_mode=optional_enum_value(VideoClipMode, text(data, "clip_mode")),
            width=integer(data, "width"),
            height=integer(data, "height"),
            is_subtitle_enable=flag(data, "is_subtitle_enable"),
            subtitle_config=SubtitleConfig.read(record(data, "subtitle_config")),
            dx=integer(data, "dx"),
            dy=integer(data, "dy"),
            is_enable_super_resolution=flag(data, "is_enable_super_resolution"),
            is_end_at_first_frame=flag(data, "is_end_at_first_frame"),
            output_external_url=text(data, "output_external_url"),
            is_vocabulary_config_enable=flag(data, "is_vocabulary_config_enable"),
        )


@strawberry.type(description="How a 2D digital-human video is encoded, cropped and subtitled.")
class VideoConfig(VideoOutputConfig):
    clip_mode: VideoClipMode | None = strawberry.field(
        description="RESIZE (scale the video) or CROP (cut it)."
    )
    width: int | None = strawberry.field(description="Video width in pixels.")
    height: int | None = strawberry.field(description="Video height in pixels.")
    is_subtitle_enable: bool | None = strawberry.field(description="Whether the video carries subtitles.")
    subtitle_config: SubtitleConfig | None = strawberry.field(description="How subtitles are drawn.")
    dx: int | None = strawberry.field(description="X of the crop's top-left corner (clipMode CROP).")
    dy: int | None = strawberry.field(description="Y of the crop's top-left corner (clipMode CROP).")
    is_enable_super_resolution: bool | None = strawberry.field(description="Whether super-resolution is on.")
    is_end_at_first_frame: bool | None = strawberry.field(
        description="Whether the last frame equals the first, so several videos join seamlessly."
    )
    output_external_url: str | None = strawberry.field(
        description="External URL the video is also written to."
    )
    is_vocabulary_config_enable: bool | None = strawberry.field(
        description="Whether the tenant's pronunciation vocabulary is applied."
    )


@strawberry.type(description="How a photo digital-human video is encoded.")
class PhotoVideoConfig(VideoOutputConfig):
    pass


@strawberry.type(description="Music played under the whole video.")
class BackgroundMusicConfig:
    music_asset_id: str | None = strawberry.field(description="Id of the music asset.")
    volume: int | None = strawberry.field(description="Music volume in percent, 0-100.")

    @classmethod
    def read(cls, data: Data | None) -> BackgroundMusicConfig | None:
        if data is None:
            return None
        return cls(music_asset_id=text(data, "music_asset_id"), volume=integer(data, "volume"))


@strawberry.type(description="The words a text-driven script speaks.")
class TextConfig:
    text: str | None = strawberry.field(
        description="Plain text or SSML, up to 10000 characters without tags."
    )


@strawberry.type(description="An action the digital human performs during an audio-driven script.")
class AudioDriveActionConfig:
    action_tag: str | None = strawberry.field(description="Action tag.")
    action_name: str | None = strawberry.field(description="Action name.")
    action_start_time: float | None = strawberry.field(description="When the action starts, in seconds.")


@strawberry.type(description="Where a background image sits on the canvas.")
class BackgroundImageConfig:
    dx: int | None = strawberry.field(description="X of the image's top-left corner, in pixels.")
    dy: int | None = strawberry.field(description="Y of the image's top-left corner, in pixels.")
    width: int | None = strawberry.field(description="Image width, in pixels.")
    height: int | None = strawberry.field(description="Image height, in pixels.")


@strawberry.type(description="A script's background: an image or a plain color.")
class BackgroundConfigInfo:
    background_type: BackgroundType | None = strawberry.field(description="IMAGE or COLOR.")
    background_config: str | None = strawberry.field(description="URL of the background image (IMAGE).")
    background_color_config: str | None = strawberry.field(description="Background color as RGB (COLOR).")
    background_asset_id: str | None = strawberry.field(description="Id of the background image asset.")
    background_image_config: BackgroundImageConfig | None = strawberry.field(
        description="Where the background image sits."
    )


@strawberry.type(description="Where a layer's top-left corner sits on the canvas (1920x1080 or 1080x1920).")
class LayerPositionConfig:
    dx: int | None = strawberry.field(description="X, in canvas pixels.")
    dy: int | None = strawberry.field(description="Y, in canvas pixels.")
    layer_index: int | None = strawberry.field(description="Stacking order from 1 (bottom) up to 100.")


@strawberry.type(description="A layer's size on the canvas.")
class LayerSizeConfig:
    width: int | None = strawberry.field(description="Width, in canvas pixels.")
    height: int | None = strawberry.field(description="Height, in canvas pixels.")


@strawberry.type(description="A layer's rotation.")
class LayerRotationConfig:
    angle: int | None = strawberry.field(description="Rotation angle in degrees.")


@strawberry.type(description="An image layer's content.")
class ImageLayerConfig:
    image_url: str | None = strawberry.field(description="URL of the image.")


@strawberry.type(description="A video layer's content and playback.")
class VideoLayerConfig:
    video_url: str | None = strawberry.field(description="URL of the video.")
    video_cover_url: str | None = strawberry.field(description="URL of the video's cover.")
    loop_count: int | None = strawberry.field(description="Times the video plays: 0 never, -1 forever.")
    video_sound: int | None = strawberry.field(description="Volume of the video's own sound.")
    is_play_the_entire_video: bool | None = strawberry.field(description="Whether the whole video plays.")


@strawberry.type(description="A text layer's content and font.")
class TextLayerConfig:
    text_context: str | None = strawberry.field(description="The text, Base64-encoded.")
    font_name: str | None = strawberry.field(description="Font name.")
    font_size: int | None = strawberry.field(description="Font size in pixels.")
    font_color: str | None = strawberry.field(description="Font color as RGB.")


@strawberry.type(description="One layer of a script's picture: the human, an image, a video or text.")
class LayerConfig:
    layer_type: LayerType | None = strawberry.field(description="HUMAN, IMAGE, VIDEO or TEXT.")
    asset_id: str | None = strawberry.field(description="Id of the asset the layer shows.")
    group_id: str | None = strawberry.field(
        description="Layers of one group share their position across scenes."
    )
    sequence_no: int | None = strawberry.field(description="Order of the layer.")
    position: LayerPositionConfig | None = strawberry.field(description="Where the layer sits.")
    size: LayerSizeConfig | None = strawberry.field(description="How large the layer is.")
    rotation: LayerRotationConfig | None = strawberry.field(description="How the layer is rotated.")
    image_config: ImageLayerConfig | None = strawberry.field(description="Content of an IMAGE layer.")
    video_config: VideoLayerConfig | None = strawberry.field(description="Content of a VIDEO layer.")
    text_config: TextLayerConfig | None = strawberry.field(description="Content of a TEXT layer.")


@strawberry.type(description="The audio that drives an audio-driven script.")
class AudioInfo:
    audio_id: int | None = strawberry.field(description="Id of the audio.")


@strawberry.type(description="What one scene shows and says.")
class ShootScript:
    script_type: ShootScriptType | None = strawberry.field(
        description="TEXT (speech synthesized from text) or AUDIO."
    )
    text_config: TextConfig | None = strawberry.field(description="The words spoken (TEXT).")
    audio_duration: float | None = strawberry.field(description="Length of the driving audio, in seconds.")
    audio_drive_action_config: list[AudioDriveActionConfig] = strawberry.field(
        description="Actions performed during the audio (AUDIO)."
    )
    audio_drive_file_external_url: str | None = strawberry.field(description="URL of the driving audio file.")
    background_config: list[BackgroundConfigInfo] = strawberry.field(description="Backgrounds of the scene.")
    layer_config: list[LayerConfig] = strawberry.field(description="Layers of the scene, bottom to top.")
    audio_config: AudioInfo | None = strawberry.field(description="The driving audio (AUDIO).")


@strawberry.type(description="A subtitle file the upstream generates for a script.")
class SubtitleFileInfo:
    subtitle_file_download_url: str | None = strawberry.field(description="Download URL of the file.")
    subtitle_file_upload_url: str | None = strawberry.field(description="Upload URL of the file.")
    subtitle_file_state: str | None = strawberry.field(
        description="GENERATING, GENERATE_SUCCEED or GENERATE_FAILED."
    )
    job_id: str | None = strawberry.field(description="Id of the job that generates the file.")


@strawberry.type(description="The subtitle files of one script.")
class SubtitleFiles:
    text_subtitle_file: SubtitleFileInfo | None = strawberry.field(description="Subtitles from the text.")
    audio_subtitle_file: SubtitleFileInfo | None = strawberry.field(description="Subtitles from the audio.")


@strawberry.type(description="One numbered scene of a video's script.")
class ShootScriptItem:
    sequence_no: int | None = strawberry.field(description="Number of the scene; unique within the job.")
    shoot_script: ShootScript | None = strawberry.field(description="What the scene shows and says.")
    subtitle_file_info: SubtitleFiles | None = strawberry.field(description="The scene's subtitle files.")

    @classmethod
    def read_all(cls, items: list[Data]) -> list[ShootScriptItem]:
        return [
            cls(
                sequence_no=integer(item, "sequence_no"),
                shoot_script=_shoot_script(record(item, "shoot_script")),
                subtitle_file_info=_subtitle_files(record(item, "subtitle_file_info")),
            )
            for item in items
        ]


def _shoot_script(data: Data | None) -> ShootScript | None:
    if data is None:
        return None
    words = record(data, "text_config")
    audio = record(data, "audio_config")
    return ShootScript(
        script_type=optional_enum_value(ShootScriptType, text(data, "script_type")),
        text_config=None if words is None else TextConfig(text=text(words, "text")),
        audio_duration=real(data, "audio_duration"),
        audio_drive_action_config=[
            AudioDriveActionConfig(
                action_tag=text(action, "action_tag"),
                action_name=text(action, "action_name"),
                action_start_time=real(action, "action_start_time"),
            )
            for action in records(data, "audio_drive_action_config")
        ],
        audio_drive_file_external_url=text(data, "audio_drive_file_external_url"),
        background_config=[_background(item) for item in records(data, "background_config")],
        layer_config=[_layer(item) for item in records(data, "layer_config")],
        audio_config=None if audio is None else AudioInfo(audio_id=integer(audio, "audio_id")),
    )


def _background(data: Data) -> BackgroundConfigInfo:
    image = record(data, "background_image_config")
    return BackgroundConfigInfo(
        background_type=optional_enum_value(BackgroundType, text(data, "background_type")),
        background_config=text(data, "background_config"),
        background_color_config=text(data, "background_color_config"),
        background_asset_id=text(data, "background_asset_id"),
        background_image_config=None
        if image is None
        else BackgroundImageConfig(
            dx=integer(image, "dx"),
            dy=integer(image, "dy"),
            width=integer(image, "width"),
            height=integer(image, "height"),
        ),
    )


def _layer(data: Data) -> LayerConfig:
    position = record(data, "position")
    size = record(data, "size")
    rotation = record(data, "rotation")
    image = record(data, "image_config")
    video = record(data, "video_config")
    caption = record(data, "text_config")
    return LayerConfig(
        layer_type=optional_enum_value(LayerType, text(data, "layer_type")),
        asset_id=text(data, "asset_id"),
        group_id=text(data, "group_id"),
        sequence_no=integer(data, "sequence_no"),
        position=None
        if position is None
        else LayerPositionConfig(
            dx=integer(position, "dx"),
            dy=integer(position, "dy"),
            layer_index=integer(position, "layer_index"),
        ),
        size=None
        if size is None
        else LayerSizeConfig(width=integer(size, "width"), height=integer(size, "height")),
        rotation=None if rotation is None else LayerRotationConfig(angle=integer(rotation, "angle")),
        image_config=None if image is None else ImageLayerConfig(image_url=text(image, "image_url")),
        video_config=None
        if video is None
        else VideoLayerConfig(
            video_url=text(video, "video_url"),
            video_cover_url=text(video, "video_cover_url"),
            loop_count=integer(video, "loop_count"),
            video_sound=integer(video, "video_sound"),
            is_play_the_entire_video=flag(video, "is_play_the_entire_video"),
        ),
        text_config=None
        if caption is None
        else TextLayerConfig(
            text_context=text(caption, "text_context"),
            font_name=text(caption, "font_name"),
            font_size=integer(caption, "font_size"),
            font_color=text(caption, "font_color"),
        ),
    )


def _subtitle_files(data: Data | None) -> SubtitleFiles | None:
    if data is None:
        return None
    return SubtitleFiles(
        text_subtitle_file=_subtitle_file(record(data, "text_subtitle_file")),
        audio_subtitle_file=_subtitle_file(record(data, "audio_subtitle_file")),
    )


def _subtitle_file(data: Data | None) -> SubtitleFileInfo | None:
    if data is None:
        return None
    return SubtitleFileInfo(
        subtitle_file_download_url=text(data, "subtitle_file_download_url"),
        subtitle_file_upload_url=text(data, "subtitle_file_upload_url"),
        subtitle_file_state=text(data, "subtitle_file_state"),
        job_id=text(data, "job_id"),
    )
