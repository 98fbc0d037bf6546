"""Picture modeling routes: multipart uploads arrive intact, only real jpg/png photos are taken."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from tests.emulator.conftest import TOKEN_A, V1

PICTURES = f"{V1}/digital-human/stylized/picture-modelings"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(4096)
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(4096)


async def upload(
    client: httpx.AsyncClient, filename: str, content: bytes, fields: dict[str, str] | None = None
) -> httpx.Response:
    data = fields if fields is not None else {"style_id": "system_female_001", "name": "my_model"}
    return await client.post(
        PICTURES, files={"file": (filename, content, "image/png")}, data=data, headers=TOKEN_A
    )


async def test_upload_arrives_byte_for_byte(client: httpx.AsyncClient) -> None:
    response = await upload(client, "face.png", PNG)
    assert response.status_code == 200, response.text
    job_id = response.json()["job_id"]
    assert response.json()["model_asset_id"]
    kept = (await client.get(f"/_emulator/uploads/{job_id}")).json()
    assert kept == {
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "size": len(PNG),
        "filename": "face.png",
        "content_type": "image/png",
    }


async def test_uploaded_job_shows_its_name_and_style(client: httpx.AsyncClient) -> None:
    job_id = (await upload(client, "face.JPEG", JPEG)).json()["job_id"]
    job = (await client.get(f"{PICTURES}/{job_id}", headers=TOKEN_A)).json()
    assert (job["state"], job["name"], job["style_id"]) == ("WAITING", "my_model", "system_female_001")
    assert job["error_info"] is None


@pytest.mark.parametrize(
    ("filename", "content"),
    [("face.gif", PNG), ("face.png", JPEG), ("face.jpg", b"GIF89a" + PNG), ("face", PNG)],
)
async def test_only_jpg_and_png_photos_are_accepted(
    client: httpx.AsyncClient, filename: str, content: bytes
) -> None:
    response = await upload(client, filename, content)
    assert response.status_code == 400
    assert "file" in response.json()["error_msg"]


async def test_missing_file_and_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    no_file = await client.post(
        PICTURES, data={"style_id": "system_female_001", "name": "x"}, headers=TOKEN_A
    )
    extra = await upload(
        client, "face.png", PNG, {"style_id": "system_female_001", "name": "x", "mood": "sunny"}
    )
    assert no_file.status_code == 400 and "file" in no_file.json()["error_msg"]
    assert extra.status_code == 400 and "mood" in extra.json()["error_msg"]


async def test_by_url_creates_a_job(client: httpx.AsyncClient) -> None:
    body = {"picture_url": "https://example.com/face.jpg", "style_id": "system_male_001", "name": "from url"}
    response = await client.post(f"{PICTURES}-by-url", json=body, headers=TOKEN_A)
    job = (await client.get(f"{PICTURES}/{response.json()['job_id']}", headers=TOKEN_A)).json()
    assert job["name"] == "from url" and job["model_asset_id"] == response.json()["model_asset_id"]


async def test_list_uses_the_documented_keys_and_filters(client: httpx.AsyncClient) -> None:
    body = (
        await client.get(PICTURES, params={"state": "FAILED,SUCCEED", "limit": 100}, headers=TOKEN_A)
    ).json()
    assert set(body) == {"count", "picture_modeling_jobs"}
    assert {job["state"] for job in body["picture_modeling_jobs"]} == {"FAILED", "SUCCEED"}
    assert any(
        job["job_id"] == "6eb78b2f-6ba2-4b59-bb07-d2fc372f8d39" for job in body["picture_modeling_jobs"]
    )
    bad = await client.get(PICTURES, params={"limit": 0}, headers=TOKEN_A)
    assert bad.status_code == 400
