"""Jobs move on by themselves, admin calls move them on demand, and ended jobs call back."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.emulator import Timings, create_app
from tests.emulator.conftest import TOKEN_A, TRAINING_BODY, V1, VIDEO_BODY, make_config
from tests.support.http import loopback
from tests.support.servers import serve

FAST = Timings(
    video_waiting=0.05,
    video_processing=0.05,
    picture_waiting=0.05,
    picture_processing=0.05,
    training_step=0.02,
    failure_rate=0.0,
)
JOBS = f"{V1}/digital-human-training-manage/user/jobs"


def receiver() -> tuple[Starlette, list[dict[str, Any]]]:
    """A callback receiver that records what it is sent; /broken answers 500."""
    received: list[dict[str, Any]] = []

    async def record(request: Request) -> Response:
        received.append(await request.json())
        return JSONResponse({}, status_code=500 if request.url.path == "/broken" else 200)

    return Starlette(routes=[Route("/{name}", record, methods=["POST"])]), received


async def wait_for(check: Any, within: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_state_follows_the_clock_even_without_the_background_task() -> None:
    app = create_app(make_config(timings=FAST, seed_demo_data=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu") as client:
        job_id = (
            await client.post(f"{V1}/2d-digital-human-videos", json=VIDEO_BODY, headers=TOKEN_A)
        ).json()["job_id"]
        await asyncio.sleep(0.15)
        job = (await client.get(f"{V1}/2d-digital-human-videos/{job_id}", headers=TOKEN_A)).json()
    assert job["state"] == "SUCCEED"
    assert job["start_time"] <= job["end_time"]
    assert job["duration"] > 0 and job["output_asset_config"]["cover_url"]


async def test_failure_rate_one_makes_every_job_fail_with_error_info() -> None:
    timings = Timings(video_waiting=0, video_processing=0, failure_rate=1.0)
    app = create_app(make_config(timings=timings, seed_demo_data=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu") as client:
        job_id = (
            await client.post(f"{V1}/2d-digital-human-videos", json=VIDEO_BODY, headers=TOKEN_A)
        ).json()["job_id"]
        job = (await client.get(f"{V1}/2d-digital-human-videos/{job_id}", headers=TOKEN_A)).json()
    assert job["state"] == "FAILED"
    assert job["error_info"]["error_code"] and job["error_info"]["error_msg"]


async def test_admin_advance_walks_a_frozen_video_job_through_its_states(client: httpx.AsyncClient) -> None:
    job_id = (await client.post(f"{V1}/2d-digital-human-videos", json=VIDEO_BODY, headers=TOKEN_A)).json()[
        "job_id"
    ]
    first = (await client.post(f"/_emulator/jobs/{job_id}/advance")).json()
    second = (await client.post(f"/_emulator/jobs/{job_id}/advance")).json()
    third = await client.post(f"/_emulator/jobs/{job_id}/advance")
    assert (first["state"], second["state"]) == ("PROCESSING", "SUCCEED")
    assert third.status_code == 400
    missing = await client.post("/_emulator/jobs/nope/advance")
    assert missing.status_code == 404


async def test_admin_sets_any_state_with_an_error(client: httpx.AsyncClient) -> None:
    job_id = (await client.post(f"{V1}/2d-digital-human-videos", json=VIDEO_BODY, headers=TOKEN_A)).json()[
        "job_id"
    ]
    body = {"state": "FAILED", "error_code": "MSS.10000001", "error_msg": "boom"}
    response = await client.put(f"/_emulator/jobs/{job_id}/state", json=body)
    job = (await client.get(f"{V1}/2d-digital-human-videos/{job_id}", headers=TOKEN_A)).json()
    bad = await client.put(f"/_emulator/jobs/{job_id}/state", json={"state": "NAPPING"})
    assert response.json() == {"job_id": job_id, "state": "FAILED"}
    assert job["error_info"] == {"error_code": "MSS.10000001", "error_msg": "boom"}
    assert bad.status_code == 400


async def test_training_job_walks_the_documented_states_after_submit(client: httpx.AsyncClient) -> None:
    job_id = (await client.post(JOBS, json=TRAINING_BODY, headers=TOKEN_A)).json()["job_id"]
    await client.post(f"{JOBS}/{job_id}/command", json={"command": "SUBMITVERIFYING"}, headers=TOKEN_A)
    seen = [(await client.post(f"/_emulator/jobs/{job_id}/advance")).json()["state"] for _ in range(6)]
    assert seen == [
        "MANUAL_VERIFYING",
        "MANUAL_VERIFY_SUCCESS",
        "TRAINING_DATA_PREPROCESSING",
        "TRAINING",
        "TRAIN_SUCCESS",
        "JOB_SUCCESS",
    ]
    job = (await client.get(f"{JOBS}/{job_id}", headers=TOKEN_A)).json()
    assert job["asset_id"]
    assert job["operation_logs"][-1]["log_type"] == "SYSTEM_JOB_SUCCESS"


async def test_background_task_finishes_jobs_and_calls_back() -> None:
    callback_app, received = receiver()
    emulator_app = create_app(make_config(timings=FAST, seed_demo_data=False))
    with serve(callback_app) as hook, serve(emulator_app) as emulator:
        async with loopback(emulator.url) as client:
            video = {**VIDEO_BODY, "callback_config": {"callback_url": f"{hook.url}/videos"}}
            video_id = (
                await client.post(f"{V1}/2d-digital-human-videos", json=video, headers=TOKEN_A)
            ).json()["job_id"]
            picture = {
                "picture_url": "https://example.com/a.png",
                "style_id": "system_male_001",
                "name": "p",
                "notify_url": f"{hook.url}/broken",
            }
            picture_id = (
                await client.post(
                    f"{V1}/digital-human/stylized/picture-modelings-by-url", json=picture, headers=TOKEN_A
                )
            ).json()["job_id"]

            async def both_logged() -> list[dict[str, Any]] | None:
                logged = (await client.get("/_emulator/callbacks")).json()["callbacks"]
                return logged if len(logged) == 2 else None

            logged = await wait_for(both_logged)
    by_job = {entry["job_id"]: entry for entry in logged}
    assert by_job[video_id]["state"] == "SUCCEED" and by_job[video_id]["status"] == 200
    assert by_job[picture_id]["status"] == 500
    assert {body["job_id"] for body in received} == {video_id, picture_id}
    assert all(body["state"] == "SUCCEED" for body in received)


async def test_a_dead_callback_receiver_never_breaks_the_emulator() -> None:
    emulator_app = create_app(make_config(timings=FAST, seed_demo_data=False))
    with serve(emulator_app) as emulator:
        async with loopback(emulator.url) as client:
            video = {**VIDEO_BODY, "callback_config": {"callback_url": "http://127.0.0.1:9/gone"}}
            job_id = (await client.post(f"{V1}/2d-digital-human-videos", json=video, headers=TOKEN_A)).json()[
                "job_id"
            ]

            async def logged() -> list[dict[str, Any]]:
                return list((await client.get("/_emulator/callbacks")).json()["callbacks"])

            entries = await wait_for(logged)
            still_up = await client.get(f"{V1}/2d-digital-human-videos/{job_id}", headers=TOKEN_A)
    assert entries[0]["status"] is None and entries[0]["job_id"] == job_id
    assert still_up.status_code == 200


async def test_canceled_job_calls_back_with_its_state() -> None:
    callback_app, received = receiver()
    emulator_app = create_app(make_config(seed_demo_data=False))
    with serve(callback_app) as hook, serve(emulator_app) as emulator:
        async with loopback(emulator.url) as client:
            video = {**VIDEO_BODY, "callback_config": {"callback_url": f"{hook.url}/videos"}}
            job_id = (await client.post(f"{V1}/2d-digital-human-videos", json=video, headers=TOKEN_A)).json()[
                "job_id"
            ]
            await client.post(f"{V1}/2d-digital-human-videos/{job_id}/cancel", headers=TOKEN_A)

            async def delivered() -> list[dict[str, Any]]:
                return list(received)

            bodies = await wait_for(delivered)
    assert bodies == [{"job_id": job_id, "state": "CANCELED", "job_type": "2D_DIGITAL_HUMAN_VIDEO"}]
