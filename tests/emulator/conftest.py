"""Shared emulator fixtures: frozen timings, two tokens, one AK/SK pair, an in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from gateway.emulator import EmulatorConfig, Timings, create_app

PROJECT = "demo-project"
V1 = f"/v1/{PROJECT}"
TOKEN_A = {"X-Auth-Token": "token-a"}
TOKEN_B = {"X-Auth-Token": "token-b"}
AK, SK = "AKEMULATORTEST01", "sk-emulator-test-secret"
# Jobs never move on their own unless a test says so.
FROZEN = Timings(
    video_waiting=1e9,
    video_processing=1e9,
    picture_waiting=1e9,
    picture_processing=1e9,
    training_step=1e9,
    failure_rate=0.0,
)
VIDEO_BODY = {
    "model_asset_id": "cda7e9a469ee9cf3ffc1ad62794a12ff",
    "voice_config": {
        "voice_asset_id": "f5e6a13eab4443fa85421191ad061780",
        "speed": 100,
        "pitch": 100,
        "volume": 140,
    },
    "video_config": {"codec": "H264", "bitrate": 5000, "width": 1080, "height": 1920, "frame_rate": "25"},
    "shoot_scripts": [
        {"sequence_no": 0, "shoot_script": {"script_type": "TEXT", "text_config": {"text": "Hello there."}}}
    ],
    "output_asset_config": {"asset_name": "Greeting"},
}
PHOTO_BODY = {
    "human_image": "aGVsbG8=",
    "voice_config": {"voice_asset_id": "f5e6a13eab4443fa85421191ad061780"},
    "video_config": {"codec": "H264", "bitrate": 4000, "frame_rate": "25"},
    "shoot_scripts": [
        {
            "sequence_no": 0,
            "shoot_script": {"script_type": "TEXT", "text_config": {"text": "Hi from a photo."}},
        }
    ],
}
TRAINING_BODY = {"name": "Anna", "contact": "13800000000", "batch_name": "spring", "tags": ["demo", "news"]}


def make_config(**overrides: object) -> EmulatorConfig:
    fields: dict[str, object] = {
        "project_id": PROJECT,
        "tokens": ("token-a", "token-b"),
        "credentials": {AK: SK},
        "timings": FROZEN,
        "admin_enabled": True,
    }
    fields.update(overrides)
    return EmulatorConfig(**fields)  # type: ignore[arg-type]


@pytest.fixture
def app() -> Starlette:
    return create_app(make_config())


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu") as http:
        yield http
