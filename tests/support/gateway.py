"""A real gateway app driven in-process over HTTP, against a real emulator server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.emulator import EmulatorConfig, Timings
from gateway.settings import Settings
from tests.support.bounded import gather_bounded
from tests.support.http import loopback

PROJECT = "demo-project"
V1 = f"/v1/{PROJECT}"
TOKENS = ("alice-token", "bob-token")
AK, SK = "AK-GW", "SK-GW"
# Jobs move only when a test says so (admin advance/state), so every run sees the same states.
FROZEN = Timings(
    video_waiting=1e9,
    video_processing=1e9,
    picture_waiting=1e9,
    picture_processing=1e9,
    training_step=1e9,
    failure_rate=0.0,
)


def emulator_config(**overrides: Any) -> EmulatorConfig:
    fields: dict[str, Any] = {
        "project_id": PROJECT,
        "tokens": TOKENS,
        "credentials": {AK: SK},
        "timings": FROZEN,
        "seed_demo_data": False,
        "admin_enabled": True,
    }
    fields.update(overrides)
    return EmulatorConfig(**fields)


VIDEO_BODY: dict[str, Any] = {
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
PHOTO_BODY: dict[str, Any] = {
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
TRAINING_BODY: dict[str, Any] = {
    "name": "Anna",
    "contact": "13800000000",
    "batch_name": "spring",
    "tags": ["demo"],
}
PICTURE_BODY: dict[str, Any] = {
    "picture_url": "https://example.com/face.png",
    "style_id": "system_male_001",
    "name": "Portrait",
}


class GatewayClient:
    """Sends GraphQL to the gateway as a client would, and looks at what the emulator saw."""

    def __init__(
        self, http: httpx.AsyncClient, emulator: httpx.AsyncClient, app: Starlette | None = None
    ) -> None:
        self.http = http
        self.emulator = emulator
        self.app = app

    async def post(
        self, payload: dict[str, Any], token: str | None = "alice-token", **headers: str
    ) -> httpx.Response:
        sent = dict(headers)
        if token is not None:
            sent["X-Auth-Token"] = token
        return await self.http.post("/graphql", json=payload, headers=sent)

    async def query(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        token: str | None = "alice-token",
        **headers: str,
    ) -> dict[str, Any]:
        response = await self.post({"query": document, "variables": variables or {}}, token, **headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def calls(self) -> list[dict[str, Any]]:
        response = await self.emulator.get("/_emulator/calls")
        calls: list[dict[str, Any]] = response.json()["calls"]
        return calls

    async def reset_calls(self) -> None:
        await self.emulator.delete("/_emulator/calls")

    async def _create(self, path: str, body: dict[str, Any], token: str) -> str:
        response = await self.emulator.post(f"{V1}{path}", json=body, headers={"X-Auth-Token": token})
        assert response.status_code == 200, response.text
        job_id: str = response.json()["job_id"]
        return job_id

    async def create_video(self, token: str = "alice-token", **overrides: Any) -> str:
        return await self._create("/2d-digital-human-videos", {**VIDEO_BODY, **overrides}, token)

    async def create_photo_video(self, token: str = "alice-token", **overrides: Any) -> str:
        return await self._create("/photo-digital-human-videos", {**PHOTO_BODY, **overrides}, token)

    async def create_training(self, token: str = "alice-token", **overrides: Any) -> str:
        return await self._create(
            "/digital-human-training-manage/user/jobs", {**TRAINING_BODY, **overrides}, token
        )

    async def create_picture(self, token: str = "alice-token", **overrides: Any) -> str:
        return await self._create(
            "/digital-human/stylized/picture-modelings-by-url", {**PICTURE_BODY, **overrides}, token
        )

    async def create_videos(self, count: int, token: str = "alice-token") -> list[str]:
        return await gather_bounded(self.create_video(token) for _ in range(count))

    async def set_state(self, job_id: str, state: str, **extra: Any) -> None:
        response = await self.emulator.put(f"/_emulator/jobs/{job_id}/state", json={"state": state, **extra})
        assert response.status_code == 200, response.text


@contextlib.asynccontextmanager
async def gateway_client(emulator_url: str, **settings: Any) -> AsyncIterator[GatewayClient]:
    fields: dict[str, Any] = {
        "endpoint": emulator_url,
        "project_id": PROJECT,
        "auth_mode": "token",
        "max_retries": 0,
        # Tests move jobs behind the gateway's back and read them at once; tests/test_read_cache.py
        # covers keeping answers.
        "read_cache_seconds": 0.0,
    }
    fields.update(settings)
    app = create_app(Settings(**fields))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
        loopback(emulator_url) as emulator,
    ):
        yield GatewayClient(http, emulator, app)
