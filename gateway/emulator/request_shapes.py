"""The request models' field shapes, as the official SDK declares them: what fields, of which types."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Field shapes of the request models, as the official SDK (huaweicloudsdkmetastudio 3.1.219) declares
# them. Every field listed is known; anything else in a body is refused.
_SHAPES = """
Create2DDigitalHumanVideoReq: script_id:str, model_asset_id:str, voice_config:VoiceConfig,
    video_config:VideoConfig, shoot_scripts:list[ShootScriptItem],
    output_asset_config:OutputAssetConfig, background_music_config:BackgroundMusicConfig,
    review_config:ReviewConfig, callback_config:CallBackConfig, action_config:ActionConfig
CreatePhotoDigitalHumanVideoReq: script_id:str, human_image:str, voice_config:VoiceConfig,
    video_config:PhotoVideoConfig, shoot_scripts:list[ShootScriptItem],
    output_asset_config:OutputAssetConfig, background_music_config:BackgroundMusicConfig,
    review_config:ReviewConfig, callback_config:CallBackConfig, id_card_image1:str, id_card_image2:str,
    authorize_use_human_image:bool
Create2dModelTrainingJobReq: name:str, contact:str, command_message:str, video_multipart_count:int,
    action_video_multipart_count:int, is_background_replacement:bool, batch_name:str, tags:list[str],
    model_version:str, is_ondemand_resource:bool, is_flexus:bool, is_fast_flexus:bool,
    is_live_copy:bool, is_only_human_model:bool, audio_source_type:str,
    voice_properties:VoiceProperties, supported_service:list[SupportedServiceEnum]
PictureModelingByUrlReq: picture_url:str, style_id:str, name:str, notify_url:str
CreatePictureModelingJobRequestBody: style_id:str, name:str, notify_url:str
Execute2dModelTrainingCommandByUserReq: command:str, command_message:str, comment_data:CommentData,
    operation_reason:str
VoiceConfig: voice_asset_id:str, speed:int, pitch:int, volume:int
VideoConfig: clip_mode:str, codec:str, bitrate:int, width:int, height:int, frame_rate:str,
    is_subtitle_enable:bool, subtitle_config:SubtitleConfig, dx:int, dy:int,
    is_enable_super_resolution:bool, is_end_at_first_frame:bool, output_external_url:str,
    is_vocabulary_config_enable:bool
PhotoVideoConfig: codec:str, bitrate:int, frame_rate:str
SubtitleConfig: dx:int, dy:int, h:int, w:int, font_name:str, font_size:int, font_color:str,
    stroke_color:str, stroke_thickness:float, opacity:float
ShootScriptItem: sequence_no:int, shoot_script:ShootScript, subtitle_file_info:SubtitleFiles
ShootScript: script_type:str, text_config:TextConfig, audio_duration:float,
    audio_drive_action_config:list[AudioDriveActionConfig], audio_drive_file_external_url:str,
    background_config:list[BackgroundConfigInfo], layer_config:list[LayerConfig], audio_config:AudioInfo
TextConfig: text:str
AudioDriveActionConfig: action_tag:str, action_name:str, action_start_time:float
BackgroundConfigInfo: background_type:str, background_config:str, background_color_config:str,
    background_asset_id:str, background_image_config:BackgroundImageConfig
BackgroundImageConfig: dx:int, dy:int, width:int, height:int
LayerConfig: layer_type:str, asset_id:str, group_id:str, sequence_no:int, position:LayerPositionConfig,
    size:LayerSizeConfig, rotation:LayerRotationConfig, image_config:ImageLayerConfig,
    video_config:VideoLayerConfig, text_config:TextLayerConfig
LayerPositionConfig: dx:int, dy:int, layer_index:int
LayerSizeConfig: width:int, height:int
LayerRotationConfig: angle:int
ImageLayerConfig: image_url:str
VideoLayerConfig: video_url:str, video_cover_url:str, loop_count:int, video_sound:int,
    is_play_the_entire_video:bool
TextLayerConfig: text_context:str, font_name:str, font_size:int, font_color:str
AudioInfo: audio_id:int
SubtitleFiles: text_subtitle_file:SubtitleFileInfo, audio_subtitle_file:SubtitleFileInfo
SubtitleFileInfo: subtitle_file_download_url:str, subtitle_file_upload_url:str, subtitle_file_state:str,
    job_id:str
BackgroundMusicConfig: music_asset_id:str, volume:int
OutputAssetConfig: asset_name:str
ReviewConfig: no_need_review:bool
CallBackConfig: callback_url:str, auth_type:str, key:str
ActionConfig: action_interval:float
VoiceProperties: job_tag:str, sex:str, language:str
CommentData: comment_title:str, comment_message:str, attachment_name:list[str]
"""

SCALARS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean"}
_STRING_ENUMS = {"SupportedServiceEnum"}  # SDK enum classes that travel as plain strings


@dataclass(frozen=True)
class Shape:
    kind: str  # a scalar name from SCALARS or a model name
    is_list: bool


def _parse_shapes(text: str) -> dict[str, dict[str, Shape]]:
    models: dict[str, dict[str, Shape]] = {}
    joined = re.sub(r",\n\s+", ", ", text.strip())
    for line in joined.splitlines():
        model, _, fields = line.partition(": ")
        shapes: dict[str, Shape] = {}
        for field in fields.split(", "):
            name, _, kind = field.partition(":")
            is_list = kind.startswith("list[")
            kind = kind[5:-1] if is_list else kind
            shapes[name] = Shape("str" if kind in _STRING_ENUMS else kind, is_list)
        models[model] = shapes
    return models


MODELS = _parse_shapes(_SHAPES)
# The update takes the create's fields, none of them required.
MODELS["Update2dModelTrainingJobReq"] = MODELS["Create2dModelTrainingJobReq"]
