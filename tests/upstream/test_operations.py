"""Every upstream operation through the client, against the emulator, with a token and signed."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.emulator import EmulatorConfig, create_app
from gateway.upstream import Credentials, PictureFile, UpstreamClient, UpstreamConfig, UpstreamHTTPError
from tests.upstream.conftest import AK, PROJECT, SK, TOKEN, ClientFactory
from tests.upstream.emulator_admin import EmulatorAdmin

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
VIDEO_2D: dict[str, Any] = {
    "model_asset_id": "m-001",
    "voice_config": {"voice_asset_id": "voice-001", "speed": 100},
    "video_config": {"codec": "H264", "bitrate": 2000, "width": 1920, "height": 1080},
    "shoot_scripts": [
        {"sequence_no": 0, "shoot_script": {"script_type": "TEXT", "text_config": {"text": "你好 欢迎"}}}
    ],
    "output_asset_config": {"asset_name": "demo video"},
}
VIDEO_PHOTO: dict[str, Any] = {
    "human_image": "aGVsbG8=",
    "voice_config": {"voice_asset_id": "voice-001"},
    "shoot_scripts": [
        {"sequence_no": 0, "shoot_script": {"script_type": "TEXT", "text_config": {"text": "hi"}}}
    ],
}


async def test_a_2d_video_is_created_shown_listed_and_canceled(
    client: UpstreamClient, creds: Credentials
) -> None:
    job_id = (await client.create_2d_digital_human_video(creds, VIDEO_2D))["job_id"]

    shown = await client.show_2d_digital_human_video(creds, job_id, show_script=True)
    assert (shown["job_id"], shown["job_type"], shown["state"]) == (
        job_id,
        "2D_DIGITAL_HUMAN_VIDEO",
        "WAITING",
    )
    assert shown["shoot_scripts"][0]["shoot_script"]["text_config"]["text"] == "你好 欢迎"

    listed = await client.list_digital_human_videos(creds, job_ids=[job_id, "unknown"], state=["WAITING"])
    assert [job["job_id"] for job in listed["jobs"]] == [job_id]

    await client.cancel_2d_digital_human_video(creds, job_id)
    assert (await client.show_2d_digital_human_video(creds, job_id))["state"] == "CANCELED"


async def test_a_photo_video_is_created_shown_and_canceled(
    client: UpstreamClient, creds: Credentials
) -> None:
    job_id = (await client.create_photo_digital_human_video(creds, VIDEO_PHOTO))["job_id"]

    shown = await client.show_photo_digital_human_video(creds, job_id)
    assert (shown["job_id"], shown["job_type"]) == (job_id, "PHOTO_DIGITAL_HUMAN_VIDEO")
    listed = await client.list_digital_human_videos(creds, job_type="PHOTO_DIGITAL_HUMAN_VIDEO", limit=10)
    assert [job["job_id"] for job in listed["jobs"]] == [job_id]

    await client.cancel_photo_digital_human_video(creds, job_id)
    assert (await client.show_photo_digital_human_video(creds, job_id))["state"] == "CANCELED"


async def test_a_training_job_is_created_updated_listed_and_submitted(
    client: UpstreamClient, creds: Credentials
) -> None:
    created = await client.create_2d_model_training_job(creds, {"name": "first model", "batch_name": "b1"})
    job_id = created["job_id"]
    assert created["training_video_upload_url"]

    await client.update_2d_model_training_job(creds, job_id, {"name": "renamed model", "tags": ["a", "b"]})
    shown = await client.show_2d_model_training_job(creds, job_id)
    assert (shown["name"], shown["state"]) == ("renamed model", "WAIT_FILE_UPLOAD")

    listed = await client.list_2d_model_training_jobs(
        creds, batch_name="b1", state=["WAIT_FILE_UPLOAD"], limit=5
    )
    assert [job["job_id"] for job in listed["jobs"]] == [job_id]

    await client.execute_2d_model_training_command(creds, job_id, {"command": "SUBMITVERIFYING"})
    assert (await client.show_2d_model_training_job(creds, job_id))["state"] != "WAIT_FILE_UPLOAD"


async def test_a_training_job_is_deleted(client: UpstreamClient, creds: Credentials) -> None:
    job_id = (await client.create_2d_model_training_job(creds, {"name": "short lived"}))["job_id"]

    await client.delete_2d_model_training_job(creds, job_id)

    with pytest.raises(UpstreamHTTPError) as caught:
        await client.show_2d_model_training_job(creds, job_id)
    assert caught.value.status == 404


async def test_an_uploaded_picture_arrives_intact(
    client: UpstreamClient, creds: Credentials, admin: EmulatorAdmin
) -> None:
    created = await client.create_picture_modeling_job(
        creds,
        file=PictureFile("portrait.png", "image/png", PNG),
        style_id="system_female_001",
        name="portrait",
        notify_url="https://example.com/hooks/picture",
    )

    upload = await admin.upload(created["job_id"])
    assert upload == {
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "size": len(PNG),
        "filename": "portrait.png",
        "content_type": "image/png",
    }
    shown = await client.show_picture_modeling_job(creds, created["job_id"])
    assert (shown["job_id"], shown["model_asset_id"]) == (created["job_id"], created["model_asset_id"])


async def test_a_picture_streamed_in_chunks_arrives_intact(
    client: UpstreamClient, creds: Credentials, admin: EmulatorAdmin
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(PNG), 1000):
            yield PNG[start : start + 1000]

    created = await client.create_picture_modeling_job(
        creds, file=PictureFile("p.png", "image/png", chunks()), style_id="system_male_001", name="p"
    )

    assert (await admin.upload(created["job_id"]))["sha256"] == hashlib.sha256(PNG).hexdigest()


async def test_a_picture_job_by_url_is_created_and_listed(client: UpstreamClient, creds: Credentials) -> None:
    body = {"picture_url": "https://example.com/me.jpg", "style_id": "system_male_002", "name": "by url"}
    job_id = (await client.create_picture_modeling_job_by_url(creds, body))["job_id"]

    listed = await client.list_picture_modeling_jobs(creds, limit=10, offset=0)
    assert job_id in [job["job_id"] for job in listed["picture_modeling_jobs"]]


async def test_jobs_belong_to_the_app_user_they_were_made_for(
    client: UpstreamClient, creds: Credentials
) -> None:
    job_id = (await client.create_2d_model_training_job(creds, {"name": "mine"}))["job_id"]
    someone_else = Credentials(token=creds.token, app_user_id="someone-else")

    with pytest.raises(UpstreamHTTPError) as caught:
        await client.show_2d_model_training_job(someone_else, job_id)
    assert caught.value.status == 404


async def test_ping_is_true_when_the_upstream_answers(client: UpstreamClient) -> None:
    assert await client.ping() is True


async def test_ping_is_true_even_for_a_refusal(make_client: ClientFactory, admin: EmulatorAdmin) -> None:
    # In token mode the probe carries no token: a 401 still proves the upstream is up.
    assert await make_client("token").ping() is True
    # Its own call: an answer an earlier test gave up on may still be recorded while this one runs.
    [call] = [call for call in await admin.calls() if call["status"] == 401]
    assert (call["method"], call["query"], call["principal"]) == ("GET", "limit=1", None)


async def test_signed_ping_is_accepted(make_client: ClientFactory, admin: EmulatorAdmin) -> None:
    assert await make_client("aksk").ping() is True
    # Its own call: an answer an earlier test gave up on may still be recorded while this one runs.
    [call] = [call for call in await admin.calls() if call["principal"] == f"ak:{AK}"]
    assert call["status"] == 200


async def test_concurrent_calls_share_one_client(client: UpstreamClient, creds: Credentials) -> None:
    created = await asyncio.gather(
        *(client.create_2d_model_training_job(creds, {"name": f"model {n}"}) for n in range(10))
    )
    shown = await asyncio.gather(
        *(client.show_2d_model_training_job(creds, job["job_id"]) for job in created)
    )
    assert sorted(job["name"] for job in shown) == sorted(f"model {n}" for n in range(10))


@pytest.mark.parametrize("auth_mode", ["token", "aksk"])
async def test_an_in_process_transport_reaches_the_emulator(auth_mode: str) -> None:
    app = create_app(
        EmulatorConfig(project_id=PROJECT, tokens=(TOKEN,), credentials={AK: SK}, seed_demo_data=False)
    )
    config = UpstreamConfig("http://emulator.local", PROJECT, auth_mode="aksk", ak=AK, sk=SK)
    if auth_mode == "token":
        config = UpstreamConfig("http://emulator.local", PROJECT)

    async with UpstreamClient(config, transport=httpx.ASGITransport(app=app)) as client:
        listed = await client.list_digital_human_videos(Credentials(token=TOKEN), limit=1)

    assert listed["count"] == 0
