"""Training job routes: create with upload URLs, show, update, delete and user commands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.emulator.conftest import TOKEN_A, TRAINING_BODY, V1

JOBS = f"{V1}/digital-human-training-manage/user/jobs"


async def create_training(
    client: httpx.AsyncClient, body: Mapping[str, Any] = TRAINING_BODY
) -> dict[str, Any]:
    response = await client.post(JOBS, json=body, headers=TOKEN_A)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def command(client: httpx.AsyncClient, job_id: object, name: str) -> httpx.Response:
    return await client.post(f"{JOBS}/{job_id}/command", json={"command": name}, headers=TOKEN_A)


async def test_create_returns_the_job_id_and_well_formed_upload_urls(client: httpx.AsyncClient) -> None:
    created = await create_training(client, {**TRAINING_BODY, "video_multipart_count": 3})
    urls = created["training_video_upload_url"]
    assert isinstance(urls, list) and len(urls) == 3
    for url in [*urls, created["cover_upload_url"], created["grant_file_upload_url"]]:
        parsed = httpx.URL(str(url))
        assert parsed.scheme in ("http", "https") and parsed.host == "emu"
        assert created["job_id"] in parsed.path


async def test_upload_urls_use_the_public_host_when_configured() -> None:
    from gateway.emulator import create_app
    from tests.emulator.conftest import make_config

    app = create_app(make_config(public_host="files.example.com"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu") as client:
        created = await create_training(client)
    assert str(created["cover_upload_url"]).startswith("https://files.example.com/")


async def test_show_has_the_created_fields_and_a_creation_log(client: httpx.AsyncClient) -> None:
    created = await create_training(client)
    job = (await client.get(f"{JOBS}/{created['job_id']}", headers=TOKEN_A)).json()
    assert job["state"] == "WAIT_FILE_UPLOAD"
    assert (job["name"], job["batch_name"], job["tags"]) == ("Anna", "spring", ["demo", "news"])
    assert job["model_version"] == "V3.2" and job["is_background_replacement"] is True
    assert job["project_id"] == "demo-project"
    assert [log["log_type"] for log in job["operation_logs"]] == ["USER_CREATE_JOD"]


async def test_submit_moves_the_job_into_verification(client: httpx.AsyncClient) -> None:
    created = await create_training(client)
    response = await command(client, created["job_id"], "SUBMITVERIFYING")
    job = (await client.get(f"{JOBS}/{created['job_id']}", headers=TOKEN_A)).json()
    assert response.json() == {"commond_result": "EXCUTE_SUCCESS"}
    assert job["state"] == "AUTO_VERIFYING"
    assert job["operation_logs"][-1]["log_type"] == "USER_VERIFYING_SUBMITTED"


async def test_submit_twice_is_refused_with_the_state_named(client: httpx.AsyncClient) -> None:
    created = await create_training(client)
    await command(client, created["job_id"], "SUBMITVERIFYING")
    again = await command(client, created["job_id"], "SUBMITVERIFYING")
    assert again.status_code == 400
    assert again.json()["error_code"] == "MSS.00000003"
    assert "AUTO_VERIFYING" in again.json()["error_msg"]


async def test_whitelist_only_commands_are_forbidden(client: httpx.AsyncClient) -> None:
    created = await create_training(client)
    response = await command(client, created["job_id"], "CONFIRM_ACCEPT")
    assert (response.status_code, response.json()["error_code"]) == (403, "MSS.00000005")


async def test_update_changes_fields_and_validates_them(client: httpx.AsyncClient) -> None:
    created = await create_training(client)
    url = f"{JOBS}/{created['job_id']}"
    updated = await client.put(url, json={"name": "Anna v2", "tags": ["renamed"]}, headers=TOKEN_A)
    bad = await client.put(url, json={"name": 42}, headers=TOKEN_A)
    job = (await client.get(url, headers=TOKEN_A)).json()
    assert updated.status_code == 200 and updated.json()["job_id"] == created["job_id"]
    assert (job["name"], job["tags"], job["batch_name"]) == ("Anna v2", ["renamed"], "spring")
    assert bad.status_code == 400 and "name" in bad.json()["error_msg"]


async def test_update_after_submit_is_refused(client: httpx.AsyncClient) -> None:
    created = await create_training(client)
    await command(client, created["job_id"], "SUBMITVERIFYING")
    response = await client.put(f"{JOBS}/{created['job_id']}", json={"name": "late"}, headers=TOKEN_A)
    assert response.status_code == 400


async def test_delete_removes_the_job(client: httpx.AsyncClient) -> None:
    created = await create_training(client)
    deleted = await client.delete(f"{JOBS}/{created['job_id']}", headers=TOKEN_A)
    shown = await client.get(f"{JOBS}/{created['job_id']}", headers=TOKEN_A)
    again = await client.delete(f"{JOBS}/{created['job_id']}", headers=TOKEN_A)
    assert deleted.status_code == 200
    assert shown.status_code == 404 and again.status_code == 404


async def test_delete_while_training_is_refused(client: httpx.AsyncClient, app: Starlette) -> None:
    created = await create_training(client)
    await command(client, created["job_id"], "SUBMITVERIFYING")
    response = await client.delete(f"{JOBS}/{created['job_id']}", headers=TOKEN_A)
    assert response.status_code == 400 and "AUTO_VERIFYING" in response.json()["error_msg"]


async def test_create_refuses_unknown_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(JOBS, json={**TRAINING_BODY, "favourite": "blue"}, headers=TOKEN_A)
    assert response.status_code == 400 and "favourite" in response.json()["error_msg"]


async def test_list_filters_by_batch_tag_name_and_state(client: httpx.AsyncClient) -> None:
    created = await create_training(client, {**TRAINING_BODY, "batch_name": "unique-batch", "tags": ["rare"]})
    for params in ({"batch_name": "unique-batch"}, {"tag": "rare"}, {"job_id": str(created["job_id"])}):
        body = (await client.get(JOBS, params=params, headers=TOKEN_A)).json()
        assert [job["job_id"] for job in body["jobs"]] == [created["job_id"]], params
    waiting = (
        await client.get(JOBS, params={"state": "WAIT_FILE_UPLOAD", "limit": 100}, headers=TOKEN_A)
    ).json()
    assert waiting["count"] >= 2 and {job["state"] for job in waiting["jobs"]} == {"WAIT_FILE_UPLOAD"}
    assert "operation_logs" not in waiting["jobs"][0]


@pytest.mark.parametrize("params", [{"limit": "500"}, {"state": "NAPPING"}, {"sort_key": "colour"}])
async def test_list_refuses_bad_parameters(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await client.get(JOBS, params=params, headers=TOKEN_A)
    assert response.status_code == 400


async def test_seeded_example_training_job_is_from_the_reference_page(client: httpx.AsyncClient) -> None:
    job = (await client.get(f"{JOBS}/efc5300ecdba4ea48d1ff13a9d907bc0", headers=TOKEN_A)).json()
    assert (job["name"], job["state"], job["model_version"]) == ("测试名字", "MANUAL_VERIFYING", "V3")
    assert [log["log_type"] for log in job["operation_logs"]][:2] == [
        "USER_CREATE_JOD",
        "SYSTEM_MARKABLE_VIDEO",
    ]
