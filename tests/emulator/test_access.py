"""Auth as the cloud does it, and callers never see each other's jobs."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.emulator.conftest import AK, SK, TOKEN_A, TOKEN_B, V1, VIDEO_BODY
from tests.emulator.signing import sign

VIDEOS = f"{V1}/2d-digital-human-videos"


async def signed(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    sk: str = SK,
    user: str | None = None,
    json_body: bytes = b"",
    query: tuple[tuple[str, str], ...] = (),
) -> httpx.Response:
    headers = {"X-Project-Id": "demo-project"}
    if json_body:
        headers["Content-Type"] = "application/json"
    if user is not None:
        headers["X-App-UserId"] = user
    uri, sent = sign(method, path, ak=AK, sk=sk, query=query, headers=headers, body=json_body)
    return await client.request(method, uri, headers=sent, content=json_body)


async def test_missing_credentials_are_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V1}/digital-human-videos")
    assert (response.status_code, response.json()["error_code"]) == (401, "MSS.00000001")
    assert response.headers["X-Request-Id"]


async def test_wrong_token_is_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V1}/digital-human-videos", headers={"X-Auth-Token": "guess"})
    assert response.status_code == 401


async def test_another_project_is_forbidden_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/other-project/digital-human-videos", headers=TOKEN_A)
    assert (response.status_code, response.json()["error_code"]) == (403, "MSS.00000005")
    assert "other-project" in response.json()["error_msg"]


async def test_chinese_app_user_id_is_refused(client: httpx.AsyncClient) -> None:
    headers = [("X-Auth-Token", "token-a"), ("X-App-UserId", "用户一".encode())]
    response = await client.get(f"{V1}/digital-human-videos", headers=headers)  # type: ignore[arg-type]
    assert (response.status_code, response.json()["error_code"]) == (400, "MSS.00000003")
    assert "X-App-UserId" in response.json()["error_msg"]


async def test_one_token_never_sees_the_other_tokens_job(client: httpx.AsyncClient) -> None:
    job_id = (await client.post(VIDEOS, json=VIDEO_BODY, headers=TOKEN_A)).json()["job_id"]
    theirs = await client.get(f"{VIDEOS}/{job_id}", headers=TOKEN_B)
    missing = await client.get(f"{VIDEOS}/00000000-0000-4000-8000-000000000000", headers=TOKEN_B)
    listed = await client.get(f"{V1}/digital-human-videos", params={"job_ids": job_id}, headers=TOKEN_B)
    cancel = await client.post(f"{VIDEOS}/{job_id}/cancel", headers=TOKEN_B)
    assert (theirs.status_code, theirs.json()["error_code"]) == (
        missing.status_code,
        missing.json()["error_code"],
    )
    assert theirs.status_code == 404
    assert listed.json()["count"] == 0
    assert cancel.status_code == 404


async def test_signed_requests_from_the_official_signer_are_accepted(client: httpx.AsyncClient) -> None:
    response = await signed(
        client, "GET", f"{V1}/digital-human-videos", query=(("limit", "3"), ("state", "SUCCEED"))
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["jobs"]) == 3


async def test_a_signature_made_with_the_wrong_secret_is_unauthorized(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await signed(client, "GET", f"{V1}/digital-human-videos", sk="not-the-secret")
    assert (response.status_code, response.json()["error_code"]) == (401, "MSS.00000001")
    assert SK not in caplog.text and "not-the-secret" not in caplog.text


async def test_app_users_of_one_ak_are_isolated(client: httpx.AsyncClient) -> None:
    body = httpx.Request("POST", "http://emu", json=VIDEO_BODY).read()
    created = await signed(client, "POST", VIDEOS, user="alice", json_body=body)
    assert created.status_code == 200, created.text
    job_id = created.json()["job_id"]
    as_alice = await signed(client, "GET", f"{VIDEOS}/{job_id}", user="alice")
    as_bob = await signed(client, "GET", f"{VIDEOS}/{job_id}", user="bob")
    as_ak = await signed(client, "GET", f"{VIDEOS}/{job_id}")
    assert as_alice.status_code == 200
    assert as_bob.status_code == 404 and as_ak.status_code == 404


async def test_signed_multipart_upload_with_unsigned_payload(client: httpx.AsyncClient) -> None:
    path = f"{V1}/digital-human/stylized/picture-modelings"
    photo = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100
    form = httpx.Request(
        "POST",
        "http://emu",
        files={"file": ("me.png", photo, "image/png")},
        data={"style_id": "system_male_002", "name": "signed"},
    )
    content = form.read()
    headers = {"Content-Type": form.headers["Content-Type"], "X-Project-Id": "demo-project"}
    uri, sent = sign("POST", path, ak=AK, sk=SK, headers=headers, body=content)
    assert sent["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    response = await client.post(uri, headers=sent, content=content)
    assert response.status_code == 200, response.text
    kept = (await client.get(f"/_emulator/uploads/{response.json()['job_id']}")).json()
    assert kept["size"] == len(photo)


async def test_call_log_names_principals_without_secrets(client: httpx.AsyncClient) -> None:
    await client.get(f"{V1}/digital-human-videos", headers=TOKEN_B)
    await signed(client, "GET", f"{V1}/digital-human-videos", user="carol")
    calls = (await client.get("/_emulator/calls")).json()["calls"]
    assert [call["principal"] for call in calls] == ["token#1", f"ak:{AK}/user:carol"]
    assert "token-b" not in str(calls) and SK not in str(calls)
