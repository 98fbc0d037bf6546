"""Creating video jobs through HTTP against the emulator: inputs, defaults, refusals, idempotency."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from tests.support.gateway import V1, GatewayClient, gateway_client
from tests.support.servers import LoopbackServer

QUERIES = Path(__file__).resolve().parents[2] / "queries"
CREATE_VIDEO = (QUERIES / "create_video_job.graphql").read_text(encoding="utf-8")
CREATE_PHOTO_VIDEO = (QUERIES / "create_photo_video_job.graphql").read_text(encoding="utf-8")
CANCEL_VIDEO = (QUERIES / "cancel_video_job.graphql").read_text(encoding="utf-8")

VIDEO_INPUT: dict[str, Any] = {
    "modelAssetId": "cda7e9a469ee9cf3ffc1ad62794a12ff",
    "voiceConfig": {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"},
    "videoConfig": {"bitrate": 5000, "width": 1080, "height": 1920},
    "shootScripts": [{"sequenceNo": 0, "shootScript": {"textConfig": {"text": "Hello there."}}}],
    "outputAssetConfig": {"assetName": "Greeting"},
}
PHOTO_INPUT: dict[str, Any] = {
    "humanImage": "aGVsbG8=",
    "voiceConfig": {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"},
    "videoConfig": {"bitrate": 4000, "frameRate": "25"},
    "shootScripts": [{"sequenceNo": 0, "shootScript": {"textConfig": {"text": "Hi from a photo."}}}],
    "outputAssetConfig": {"assetName": "Photo greeting"},
}
KINDS = {
    "2d": ("/2d-digital-human-videos", "DIGITAL_HUMAN_2D"),
    "photo": ("/photo-digital-human-videos", "PHOTO_DIGITAL_HUMAN"),
}
WITH_DETAILS = """
mutation Create($input: CreateVideoJobInput!) {
  createVideoJob(input: $input) {
    job { jobId kind state rawState voiceConfig { voiceAssetId speed pitch volume } }
    userErrors { code message field }
  }
}
"""


def operations(calls: list[dict[str, Any]]) -> list[str]:
    return [call["operation"] for call in calls]


async def create(gateway: GatewayClient, video_input: dict[str, Any], **headers: str) -> dict[str, Any]:
    body = await gateway.query(CREATE_VIDEO, {"input": video_input}, **headers)
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"]["createVideoJob"]
    return payload


async def cancel(gateway: GatewayClient, job_id: str, **headers: str) -> dict[str, Any]:
    body = await gateway.query(CANCEL_VIDEO, {"jobId": job_id}, **headers)
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"]["cancelVideoJob"]
    return payload


async def shown(gateway: GatewayClient, path: str, job_id: str) -> dict[str, Any]:
    """The job exactly as the emulator keeps it, scripts included."""
    response = await gateway.emulator.get(
        f"{V1}{path}/{job_id}", params={"show_script": "true"}, headers={"X-Auth-Token": "alice-token"}
    )
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


async def add_fault(gateway: GatewayClient, **fault: Any) -> None:
    response = await gateway.emulator.post("/_emulator/faults", json=fault)
    assert response.status_code == 200, response.text


async def test_create_video_job_returns_the_new_job_as_the_upstream_sees_it(gateway: GatewayClient) -> None:
    payload = await create(gateway, VIDEO_INPUT)

    assert payload["userErrors"] == []
    job = payload["job"]
    assert job["jobId"]
    assert job["kind"] == "DIGITAL_HUMAN_2D"
    assert (job["state"], job["rawState"], job["terminal"]) == ("WAITING", "WAITING", False)
    assert job["createTime"] is not None
    assert job["outputAsset"] == {"assetName": "Greeting"}
    # One create, then one batched list call for the job's summary: its kind needs no lookup.
    assert operations(await gateway.calls()) == ["Create2DDigitalHumanVideo", "ListDigitalHumanVideo"]


async def test_create_photo_video_job_returns_the_new_job_as_the_upstream_sees_it(
    gateway: GatewayClient,
) -> None:
    body = await gateway.query(CREATE_PHOTO_VIDEO, {"input": PHOTO_INPUT})

    assert "errors" not in body, body["errors"]
    payload = body["data"]["createPhotoVideoJob"]
    assert payload["userErrors"] == []
    job = payload["job"]
    assert (job["kind"], job["state"], job["terminal"]) == ("PHOTO_DIGITAL_HUMAN", "WAITING", False)
    assert job["outputAsset"] == {"assetName": "Photo greeting"}
    assert operations(await gateway.calls()) == ["CreatePhotoDigitalHumanVideo", "ListDigitalHumanVideo"]
    upstream = await shown(gateway, "/photo-digital-human-videos", job["jobId"])
    assert upstream["human_image"] == "aGVsbG8="
    assert upstream["video_config"] == {"codec": "H264", "bitrate": 4000, "frame_rate": "25"}
    assert upstream["shoot_scripts"] == [
        {
            "sequence_no": 0,
            "shoot_script": {"script_type": "TEXT", "text_config": {"text": "Hi from a photo."}},
        }
    ]


async def test_create_sends_the_input_in_upstream_names_with_the_documented_defaults(
    gateway: GatewayClient,
) -> None:
    video_input = copy.deepcopy(VIDEO_INPUT)
    video_input["shootScripts"][0]["shootScript"]["layerConfig"] = [
        {"layerType": "TEXT", "position": {}, "textConfig": {"textContext": "SGk="}},
        {"layerType": "VIDEO", "position": {"dx": 10, "dy": 20, "layerIndex": 2}, "videoConfig": {}},
    ]
    video_input["shootScripts"][0]["shootScript"]["backgroundConfig"] = [
        {"backgroundType": "COLOR", "backgroundColorConfig": "#00FF00"}
    ]
    video_input["backgroundMusicConfig"] = {"musicAssetId": "music-1"}

    payload = await create(gateway, video_input)

    upstream = await shown(gateway, "/2d-digital-human-videos", payload["job"]["jobId"])
    assert upstream["model_asset_id"] == "cda7e9a469ee9cf3ffc1ad62794a12ff"
    assert upstream["voice_config"] == {
        "voice_asset_id": "f5e6a13eab4443fa85421191ad061780",
        "speed": 100,
        "pitch": 100,
        "volume": 140,
    }
    assert upstream["video_config"] == {
        "clip_mode": "RESIZE",
        "codec": "H264",
        "bitrate": 5000,
        "width": 1080,
        "height": 1920,
        "frame_rate": "25",
        "is_subtitle_enable": False,
        "is_enable_super_resolution": False,
        "is_end_at_first_frame": False,
    }
    assert upstream["background_music_config"] == {"music_asset_id": "music-1", "volume": 100}
    assert upstream["shoot_scripts"] == [
        {
            "sequence_no": 0,
            "shoot_script": {
                "script_type": "TEXT",
                "text_config": {"text": "Hello there."},
                "background_config": [{"background_type": "COLOR", "background_color_config": "#00FF00"}],
                "layer_config": [
                    {
                        "layer_type": "TEXT",
                        "position": {"dx": 0, "dy": 0, "layer_index": 100},
                        "text_config": {
                            "text_context": "SGk=",
                            "font_name": "HarmonyOS_Sans_SC_Black",
                            "font_size": 16,
                            "font_color": "#FFFFFF",
                        },
                    },
                    {
                        "layer_type": "VIDEO",
                        "position": {"dx": 10, "dy": 20, "layer_index": 2},
                        "video_config": {"loop_count": -1},
                    },
                ],
            },
        }
    ]


async def test_crop_takes_any_size_and_ssml_tags_do_not_count_towards_the_text_limit(
    gateway: GatewayClient,
) -> None:
    video_input = copy.deepcopy(VIDEO_INPUT)
    video_input["videoConfig"] = {"clipMode": "CROP", "bitrate": 5000, "width": 1000, "height": 700}
    spoken = "a" * 10_000
    video_input["shootScripts"][0]["shootScript"]["textConfig"]["text"] = f"<speak>{spoken}<break/></speak>"

    payload = await create(gateway, video_input)

    assert payload["userErrors"] == []
    assert payload["job"]["state"] == "WAITING"


async def test_a_create_from_a_saved_script_needs_nothing_else(gateway: GatewayClient) -> None:
    payload = await create(gateway, {"scriptId": "4b5b6effcf3b4c72a0baccb265111765"})

    assert payload["userErrors"] == []
    upstream = await shown(gateway, "/2d-digital-human-videos", payload["job"]["jobId"])
    assert upstream["script_id"] == "4b5b6effcf3b4c72a0baccb265111765"


async def test_the_callback_config_reaches_the_upstream_as_given(gateway: GatewayClient) -> None:
    receiver = "http://127.0.0.1:9/video-done"
    video_input = {**VIDEO_INPUT, "callbackConfig": {"callbackUrl": receiver, "authType": "NONE"}}
    job_id = (await create(gateway, video_input))["job"]["jobId"]

    await gateway.set_state(job_id, "SUCCEED")

    for _ in range(100):
        callbacks = (await gateway.emulator.get("/_emulator/callbacks")).json()["callbacks"]
        if callbacks:
            break
        await asyncio.sleep(0.05)
    assert [(c["url"], c["job_id"], c["state"]) for c in callbacks] == [(receiver, job_id, "SUCCEED")]


async def test_details_of_the_new_job_cost_one_show_call_and_no_list_call(gateway: GatewayClient) -> None:
    body = await gateway.query(WITH_DETAILS, {"input": VIDEO_INPUT})

    assert "errors" not in body, body["errors"]
    job = body["data"]["createVideoJob"]["job"]
    assert (job["kind"], job["state"], job["rawState"]) == ("DIGITAL_HUMAN_2D", "WAITING", "WAITING")
    assert job["voiceConfig"] == {
        "voiceAssetId": "f5e6a13eab4443fa85421191ad061780",
        "speed": 100,
        "pitch": 100,
        "volume": 140,
    }
    assert operations(await gateway.calls()) == ["Create2DDigitalHumanVideo", "Show2DDigitalHumanVideo"]


async def test_a_refusal_the_upstream_alone_makes_is_a_user_error_with_its_mss_code(
    gateway: GatewayClient,
) -> None:
    # The gateway checks every documented rule, so only an injected refusal reaches this path.
    await add_fault(
        gateway,
        method="POST",
        path="/2d-digital-human-videos$",
        status=400,
        error_code="MSS.00000003",
        times=1,
    )

    payload = await create(gateway, VIDEO_INPUT)

    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "UPSTREAM_REJECTED"
    assert error["upstreamErrorCode"] == "MSS.00000003"
    assert "MSS.00000003" in error["message"]
    assert operations(await gateway.calls()) == ["Create2DDigitalHumanVideo"]


async def test_an_unavailable_upstream_fails_the_create_and_it_is_never_retried(
    emulator: LoopbackServer,
) -> None:
    async with gateway_client(emulator.url, max_retries=2) as gateway:
        await add_fault(gateway, method="POST", path="/2d-digital-human-videos$", status=503, times=1)

        body = await gateway.query(CREATE_VIDEO, {"input": VIDEO_INPUT})

        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        assert error["extensions"]["upstream"]["status"] == 503
        calls = await gateway.calls()
        assert [(c["method"], c["status"]) for c in calls] == [("POST", 503)]


async def test_the_same_idempotency_key_twice_creates_one_job(gateway: GatewayClient) -> None:
    keyed = {**VIDEO_INPUT, "idempotencyKey": "order-17"}

    first = await create(gateway, keyed)
    second = await create(gateway, keyed)

    assert first["userErrors"] == second["userErrors"] == []
    assert first["job"]["jobId"] == second["job"]["jobId"]
    assert operations(await gateway.calls()).count("Create2DDigitalHumanVideo") == 1


async def test_an_idempotency_key_reused_with_another_input_is_refused(gateway: GatewayClient) -> None:
    first = await create(gateway, {**VIDEO_INPUT, "idempotencyKey": "order-18"})
    await gateway.reset_calls()

    other = {**VIDEO_INPUT, "idempotencyKey": "order-18", "outputAssetConfig": {"assetName": "Other"}}
    second = await create(gateway, other)

    assert first["job"] is not None
    assert second["job"] is None
    [error] = second["userErrors"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert error["field"] == ["input", "idempotencyKey"]
    assert await gateway.calls() == []


async def test_two_concurrent_creates_with_one_key_make_one_job(gateway: GatewayClient) -> None:
    keyed = {**VIDEO_INPUT, "idempotencyKey": "order-19"}
    # The create is slow upstream, so the second request arrives while the first is under way.
    response = await gateway.emulator.put(
        "/_emulator/latency", json={"seconds": 0.3, "method": "POST", "path": "/2d-digital-human-videos$"}
    )
    assert response.status_code == 200

    first, second = await asyncio.gather(create(gateway, keyed), create(gateway, keyed))

    assert first["job"]["jobId"] == second["job"]["jobId"]
    assert operations(await gateway.calls()).count("Create2DDigitalHumanVideo") == 1


async def test_an_idempotency_key_belongs_to_its_caller(gateway: GatewayClient) -> None:
    keyed = {**VIDEO_INPUT, "idempotencyKey": "order-20"}

    alice = await create(gateway, keyed)
    bob_body = await gateway.query(CREATE_VIDEO, {"input": keyed}, token="bob-token")

    bob = bob_body["data"]["createVideoJob"]
    assert alice["job"]["jobId"] != bob["job"]["jobId"]
    assert operations(await gateway.calls()).count("Create2DDigitalHumanVideo") == 2
