"""Video routes behave as the reference pages document them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import PHOTO_BODY, TOKEN_A, V1, VIDEO_BODY

EXAMPLE_ID = "26f06524-4f75-4b3a-a853-b649a21aaf66"


async def create_video(client: httpx.AsyncClient, body: Mapping[str, Any] = VIDEO_BODY) -> str:
    response = await client.post(f"{V1}/2d-digital-human-videos", json=body, headers=TOKEN_A)
    assert response.status_code == 200, response.text
    return str(response.json()["job_id"])


async def test_list_defaults_to_ten_summaries_with_a_total_count(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V1}/digital-human-videos", headers=TOKEN_A)
    assert response.status_code == 200
    assert response.headers["X-Request-Id"]
    body = response.json()
    assert len(body["jobs"]) == 10
    assert body["count"] > 10
    assert set(body["jobs"][0]) <= {
        "job_id",
        "state",
        "job_type",
        "start_time",
        "end_time",
        "duration",
        "output_asset_config",
        "error_info",
        "create_time",
        "lastupdate_time",
    }
    assert "shoot_scripts" not in body["jobs"][0]


async def test_list_pages_never_overlap(client: httpx.AsyncClient) -> None:
    first = (await client.get(f"{V1}/digital-human-videos", params={"limit": 5}, headers=TOKEN_A)).json()
    second = (
        await client.get(f"{V1}/digital-human-videos", params={"limit": 5, "offset": 5}, headers=TOKEN_A)
    ).json()
    assert not {job["job_id"] for job in first["jobs"]} & {job["job_id"] for job in second["jobs"]}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"offset": "-1"},
        {"limit": "ten"},
        {"sort_key": "name"},
        {"sort_dir": "up"},
        {"state": "SUCCEED,DONE"},
        {"create_since": "yesterday"},
        {"job_type": "3D"},
    ],
)
async def test_bad_list_parameters_are_refused_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get(f"{V1}/digital-human-videos", params=params, headers=TOKEN_A)
    assert response.status_code == 400
    assert response.json()["error_code"] == "MSS.00000003"
    assert next(iter(params)) in response.json()["error_msg"]


async def test_job_ids_work_repeated_and_comma_separated(client: httpx.AsyncClient) -> None:
    ids = [await create_video(client) for _ in range(3)]
    repeated = await client.get(
        f"{V1}/digital-human-videos?job_ids={ids[0]}&job_ids={ids[1]}", headers=TOKEN_A
    )
    comma = await client.get(f"{V1}/digital-human-videos", params={"job_ids": ",".join(ids)}, headers=TOKEN_A)
    assert {job["job_id"] for job in repeated.json()["jobs"]} == set(ids[:2])
    assert comma.json()["count"] == 3


async def test_state_list_and_job_type_filter(client: httpx.AsyncClient) -> None:
    params = {"state": "FAILED,CANCELED", "limit": "100", "job_type": "2D_DIGITAL_HUMAN_VIDEO"}
    body = (await client.get(f"{V1}/digital-human-videos", params=params, headers=TOKEN_A)).json()
    assert body["count"] > 0
    assert {job["state"] for job in body["jobs"]} <= {"FAILED", "CANCELED"}
    assert {job["job_type"] for job in body["jobs"]} == {"2D_DIGITAL_HUMAN_VIDEO"}
    failed = [job for job in body["jobs"] if job["state"] == "FAILED"]
    assert failed and all(job["error_info"]["error_code"] for job in failed)


async def test_default_list_covers_one_month_and_create_since_reaches_older_jobs(
    client: httpx.AsyncClient,
) -> None:
    recent = (await client.get(f"{V1}/digital-human-videos", params={"limit": 100}, headers=TOKEN_A)).json()
    everything = (
        await client.get(
            f"{V1}/digital-human-videos",
            params={"limit": 100, "create_since": "2020-01-01T00:00:00Z"},
            headers=TOKEN_A,
        )
    ).json()
    assert everything["count"] > recent["count"]
    window = (
        await client.get(
            f"{V1}/digital-human-videos",
            params={
                "limit": 100,
                "create_since": "2020-01-01T00:00:00Z",
                "create_until": "2020-02-01T00:00:00Z",
            },
            headers=TOKEN_A,
        )
    ).json()
    assert window == {"count": 0, "jobs": []}


async def test_create_time_bounds_are_inclusive_at_the_second_the_list_shows(
    client: httpx.AsyncClient,
) -> None:
    job_id = await create_video(client)
    listed = (await client.get(f"{V1}/digital-human-videos", params={"limit": 100}, headers=TOKEN_A)).json()
    [shown] = [job["create_time"] for job in listed["jobs"] if job["job_id"] == job_id]

    # The job was created some fraction into that second; the bounds compare the second it shows.
    for bounds in (
        {"create_since": shown},
        {"create_until": shown},
        {"create_since": shown, "create_until": shown},
    ):
        answer = (
            await client.get(f"{V1}/digital-human-videos", params={"limit": 100, **bounds}, headers=TOKEN_A)
        ).json()
        assert job_id in [job["job_id"] for job in answer["jobs"]], bounds


async def test_sort_by_create_time_in_both_directions(client: httpx.AsyncClient) -> None:
    params = {"limit": "100", "sort_key": "create_time"}
    asc = (await client.get(f"{V1}/digital-human-videos", params=params, headers=TOKEN_A)).json()["jobs"]
    desc = (
        await client.get(f"{V1}/digital-human-videos", params={**params, "sort_dir": "desc"}, headers=TOKEN_A)
    ).json()["jobs"]
    times = [job["create_time"] for job in asc]
    assert times == sorted(times)
    assert [job["job_id"] for job in desc] == [job["job_id"] for job in reversed(asc)]


async def test_create_then_show_echoes_the_request(client: httpx.AsyncClient) -> None:
    job_id = await create_video(client)
    plain = (await client.get(f"{V1}/2d-digital-human-videos/{job_id}", headers=TOKEN_A)).json()
    scripted = (
        await client.get(
            f"{V1}/2d-digital-human-videos/{job_id}", params={"show_script": "true"}, headers=TOKEN_A
        )
    ).json()
    assert plain["state"] == "WAITING"
    assert plain["job_type"] == "2D_DIGITAL_HUMAN_VIDEO"
    assert plain["voice_config"] == VIDEO_BODY["voice_config"]
    assert plain["video_config"] == VIDEO_BODY["video_config"]
    assert plain["model_asset_id"] == VIDEO_BODY["model_asset_id"]
    assert plain["output_asset_config"]["asset_name"] == "Greeting"
    assert plain["error_info"] is None
    assert "shoot_scripts" not in plain
    assert scripted["shoot_scripts"] == VIDEO_BODY["shoot_scripts"]


async def test_seeded_example_job_matches_the_reference_page(client: httpx.AsyncClient) -> None:
    job = (await client.get(f"{V1}/2d-digital-human-videos/{EXAMPLE_ID}", headers=TOKEN_A)).json()
    assert job["output_asset_config"]["asset_id"] == "942e65a5fd219a2e01fb08d881cfadb9"
    assert job["output_asset_config"]["asset_name"] == "One Day"
    assert job["script_id"] == "4b5b6effcf3b4c72a0baccb265111765"
    assert job["duration"] == 60
    assert job["end_time"].endswith("Z")


async def test_2d_show_of_a_photo_job_is_not_found_and_the_reverse(client: httpx.AsyncClient) -> None:
    photo = await client.post(f"{V1}/photo-digital-human-videos", json=PHOTO_BODY, headers=TOKEN_A)
    photo_id = photo.json()["job_id"]
    video_id = await create_video(client)
    wrong_2d = await client.get(f"{V1}/2d-digital-human-videos/{photo_id}", headers=TOKEN_A)
    wrong_photo = await client.get(f"{V1}/photo-digital-human-videos/{video_id}", headers=TOKEN_A)
    right = await client.get(f"{V1}/photo-digital-human-videos/{photo_id}", headers=TOKEN_A)
    assert (wrong_2d.status_code, wrong_2d.json()["error_code"]) == (404, "MSS.00000002")
    assert wrong_photo.status_code == 404
    assert right.json()["job_type"] == "PHOTO_DIGITAL_HUMAN_VIDEO"
    assert right.json()["human_image"] == PHOTO_BODY["human_image"]


async def test_cancel_a_waiting_job_then_cancel_again_is_refused(client: httpx.AsyncClient) -> None:
    job_id = await create_video(client)
    first = await client.post(f"{V1}/2d-digital-human-videos/{job_id}/cancel", headers=TOKEN_A)
    again = await client.post(f"{V1}/2d-digital-human-videos/{job_id}/cancel", headers=TOKEN_A)
    shown = (await client.get(f"{V1}/2d-digital-human-videos/{job_id}", headers=TOKEN_A)).json()
    assert first.status_code == 200
    assert shown["state"] == "CANCELED"
    assert again.status_code == 400
    assert again.json()["error_code"] == "MSS.00000003"
    assert "CANCELED" in again.json()["error_msg"]


async def test_cancel_after_succeed_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{V1}/2d-digital-human-videos/{EXAMPLE_ID}/cancel", headers=TOKEN_A)
    assert response.status_code == 400
    assert "cannot be canceled" in response.json()["error_msg"]


async def test_cancel_unknown_job_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{V1}/photo-digital-human-videos/no-such-job/cancel", headers=TOKEN_A)
    assert (response.status_code, response.json()["error_code"]) == (404, "MSS.00000002")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VIDEO_BODY, "colour": "red"}, "colour"),
        ({**VIDEO_BODY, "voice_config": {"voice_asset_id": "v", "speed": 500}}, "voice_config.speed"),
    ],
)
async def test_create_refuses_bad_fields_naming_them(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await client.post(f"{V1}/2d-digital-human-videos", json=body, headers=TOKEN_A)
    assert response.status_code == 400
    assert response.json()["error_code"] == "MSS.00000003"
    assert field in response.json()["error_msg"]


@pytest.mark.parametrize("content", [b"[1, 2]", b"not json", b"", b'"text"'])
async def test_create_refuses_bodies_that_are_not_json_objects(
    client: httpx.AsyncClient, content: bytes
) -> None:
    headers = {**TOKEN_A, "Content-Type": "application/json"}
    response = await client.post(f"{V1}/2d-digital-human-videos", content=content, headers=headers)
    assert response.status_code == 400
    assert response.json()["error_code"] == "MSS.00000003"
