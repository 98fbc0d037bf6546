"""Answers use the same enums as the inputs, and a value the upstream added since reads as UNKNOWN."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.emulator import create_app as create_emulator
from gateway.emulator.emulator import Emulator
from tests.support.gateway import GatewayClient, emulator_config, gateway_client
from tests.support.servers import serve

SCRIPT: dict[str, Any] = {
    "sequence_no": 0,
    "shoot_script": {
        "script_type": "TEXT",
        "text_config": {"text": "Hello there."},
        "background_config": [{"background_type": "COLOR", "background_color_config": "#00FF00"}],
        "layer_config": [{"layer_type": "HUMAN", "position": {"dx": 0, "dy": 0, "layer_index": 1}}],
    },
}
VIDEO_FIELDS = """videoJob(jobId: $jobId) {
  videoConfig { codec ... on VideoConfig { clipMode } }
  shootScripts { shootScript { scriptType backgroundConfig { backgroundType } layerConfig { layerType } } }
}"""
TRAINING_FIELDS = """trainingJob(jobId: $jobId) {
  modelVersion rawModelVersion audioSourceType supportedService voiceProperties { jobTag sex language }
}"""


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[GatewayClient, Emulator]]:
    app = create_emulator(emulator_config())
    with serve(app) as server:
        async with gateway_client(server.url) as client:
            yield client, app.state.emulator


async def read(gateway: GatewayClient, fields: str, job_id: str) -> dict[str, Any]:
    body = await gateway.query(f"query ($jobId: String!) {{ {fields} }}", {"jobId": job_id})
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = next(iter(body["data"].values()))
    return data


async def test_video_configs_read_as_the_input_enums(upstream: tuple[GatewayClient, Emulator]) -> None:
    gateway, _ = upstream
    job_id = await gateway.create_video(shoot_scripts=[SCRIPT])

    job = await read(gateway, VIDEO_FIELDS, job_id)

    assert job["videoConfig"] == {"codec": "H264", "clipMode": None}
    [item] = job["shootScripts"]
    assert item["shootScript"] == {
        "scriptType": "TEXT",
        "backgroundConfig": [{"backgroundType": "COLOR"}],
        "layerConfig": [{"layerType": "HUMAN"}],
    }


async def test_video_config_values_the_gateway_does_not_know_read_as_unknown(
    upstream: tuple[GatewayClient, Emulator],
) -> None:
    gateway, emulator = upstream
    job_id = await gateway.create_video(shoot_scripts=[SCRIPT])
    # A newer upstream answers with values this gateway has never heard of.
    [job] = emulator.store.find(job_id)
    request = job.data["request"]
    request["video_config"].update(codec="H266", clip_mode="STRETCH")
    script = request["shoot_scripts"][0]["shoot_script"]
    script["script_type"] = "GESTURE"
    script["background_config"][0]["background_type"] = "GRADIENT"
    script["layer_config"][0]["layer_type"] = "STICKER"

    read_back = await read(gateway, VIDEO_FIELDS, job_id)

    assert read_back["videoConfig"] == {"codec": "UNKNOWN", "clipMode": "UNKNOWN"}
    assert read_back["shootScripts"][0]["shootScript"] == {
        "scriptType": "UNKNOWN",
        "backgroundConfig": [{"backgroundType": "UNKNOWN"}],
        "layerConfig": [{"layerType": "UNKNOWN"}],
    }


async def test_training_values_read_as_the_input_enums_and_new_ones_as_unknown(
    upstream: tuple[GatewayClient, Emulator],
) -> None:
    gateway, emulator = upstream
    known = await gateway.create_training(
        model_version="V3.3",
        audio_source_type="AUDIO",
        supported_service=["VIDEO_2D", "CHAT_2D"],
        voice_properties={"job_tag": "NEWS", "sex": "FEMALE", "language": "EN"},
    )
    newer = await gateway.create_training()
    [job] = emulator.store.find(newer)
    job.data.update(
        model_version="V4.0",
        audio_source_type="STREAM",
        supported_service=["VIDEO_2D", "HOLOGRAM_3D"],
        voice_properties={"job_tag": "GAMING", "sex": "MALE", "language": "FR"},
    )

    assert await read(gateway, TRAINING_FIELDS, known) == {
        "modelVersion": "V3_3",
        "rawModelVersion": "V3.3",
        "audioSourceType": "AUDIO",
        "supportedService": ["VIDEO_2D", "CHAT_2D"],
        "voiceProperties": {"jobTag": "NEWS", "sex": "FEMALE", "language": "EN"},
    }
    assert await read(gateway, TRAINING_FIELDS, newer) == {
        "modelVersion": "UNKNOWN",
        "rawModelVersion": "V4.0",
        "audioSourceType": "UNKNOWN",
        "supportedService": ["VIDEO_2D", "UNKNOWN"],
        "voiceProperties": {"jobTag": "UNKNOWN", "sex": "MALE", "language": "UNKNOWN"},
    }


async def test_unknown_in_a_training_input_is_a_user_error_and_nothing_goes_upstream(
    upstream: tuple[GatewayClient, Emulator],
) -> None:
    gateway, _ = upstream
    await gateway.reset_calls()

    body = await gateway.query(
        """mutation ($input: CreateTrainingJobInput!) {
          createTrainingJob(input: $input) { job { jobId } userErrors { code field message } } }""",
        {
            "input": {
                "name": "Anna",
                "modelVersion": "UNKNOWN",
                "supportedService": ["VIDEO_2D", "UNKNOWN"],
                "voiceProperties": {"jobTag": "NEWS", "sex": "UNKNOWN", "language": "CN"},
            }
        },
    )

    payload = body["data"]["createTrainingJob"]
    assert payload["job"] is None
    assert [(error["code"], error["field"]) for error in payload["userErrors"]] == [
        ("INVALID_INPUT", ["input", "modelVersion"]),
        ("INVALID_INPUT", ["input", "voiceProperties", "sex"]),
        ("INVALID_INPUT", ["input", "supportedService", "1"]),
    ]
    assert all("cannot be UNKNOWN" in error["message"] for error in payload["userErrors"])
    assert await gateway.calls() == []
