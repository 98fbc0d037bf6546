"""Failures become typed errors; only reads are repeated, within the retry and time budgets."""

from __future__ import annotations

import time

import pytest

from gateway.upstream import (
    Credentials,
    UpstreamClient,
    UpstreamHTTPError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.support.servers import free_port
from tests.upstream.conftest import TOKEN, ClientFactory
from tests.upstream.emulator_admin import EmulatorAdmin

CALLER = Credentials(token=TOKEN, app_user_id="failures")
TRAINING = "/digital-human-training-manage/user/jobs"


async def test_unknown_job_is_a_not_found_error_with_the_request_id(
    client: UpstreamClient, creds: Credentials, admin: EmulatorAdmin
) -> None:
    with pytest.raises(UpstreamHTTPError) as caught:
        await client.show_2d_digital_human_video(creds, "no-such-job")

    error = caught.value
    assert (error.status, error.error_code, error.operation) == (
        404,
        "MSS.00000002",
        "Show2DDigitalHumanVideo",
    )
    assert "no-such-job" in error.error_msg
    [call] = await admin.calls("no-such-job")
    assert error.request_id == call["request_id"]
    assert call["request_id"] in str(error)


async def test_an_unknown_token_is_unauthorized(make_client: ClientFactory) -> None:
    with pytest.raises(UpstreamHTTPError) as caught:
        await make_client("token").list_digital_human_videos(Credentials(token="not-a-known-token"))
    assert (caught.value.status, caught.value.error_code) == (401, "MSS.00000001")
    assert caught.value.request_id


async def test_a_wrong_secret_key_is_unauthorized(make_client: ClientFactory) -> None:
    client = make_client("aksk", sk="not-the-secret")
    with pytest.raises(UpstreamHTTPError) as caught:
        await client.list_digital_human_videos(Credentials())
    assert (caught.value.status, caught.value.error_code) == (401, "MSS.00000001")


async def test_a_wrong_project_is_forbidden(make_client: ClientFactory) -> None:
    with pytest.raises(UpstreamHTTPError) as caught:
        await make_client("token", project_id="other-project").list_digital_human_videos(CALLER)
    assert (caught.value.status, caught.value.error_code) == (403, "MSS.00000005")


async def test_an_invalid_body_names_the_field(make_client: ClientFactory) -> None:
    with pytest.raises(UpstreamHTTPError) as caught:
        await make_client("token").create_2d_model_training_job(CALLER, {"name": ""})
    assert (caught.value.status, caught.value.error_code) == (400, "MSS.00000003")
    assert "name" in caught.value.error_msg


@pytest.mark.parametrize("status", [503, 502, 504, 429, 500])
async def test_a_read_is_repeated_until_it_succeeds(
    status: int, make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    await admin.fault("/digital-human-videos$", status, method="GET", times=2)

    listed = await make_client("token", max_retries=2).list_digital_human_videos(CALLER)

    assert listed["count"] == 0
    assert [call["status"] for call in await admin.calls("/digital-human-videos")] == [status, status, 200]


async def test_a_read_gives_up_after_max_retries_with_the_last_error(
    make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    await admin.fault("/digital-human-videos$", 503, method="GET", error_code="MSS.00000004")

    with pytest.raises(UpstreamHTTPError) as caught:
        await make_client("aksk", max_retries=3).list_digital_human_videos(CALLER)

    assert (caught.value.status, caught.value.error_code) == (503, "MSS.00000004")
    calls = await admin.calls("/digital-human-videos")
    assert len(calls) == 4
    assert caught.value.request_id == calls[-1]["request_id"]


async def test_retry_after_is_honoured_up_to_the_backoff_cap(
    make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    client = make_client("token", backoff_base=0.001, backoff_max=0.3)
    await admin.fault("/digital-human-videos$", 503, method="GET", times=1, retry_after="3")

    started = time.monotonic()
    await client.list_digital_human_videos(CALLER)
    waited = time.monotonic() - started

    assert 0.3 <= waited < 1.5


async def test_without_retry_after_the_wait_is_the_short_backoff(
    make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    client = make_client("token", backoff_base=0.001, backoff_max=0.3)
    await admin.fault("/digital-human-videos$", 503, method="GET", times=1)

    started = time.monotonic()
    await client.list_digital_human_videos(CALLER)

    assert time.monotonic() - started < 0.25


@pytest.mark.parametrize("status", [503, 500])
@pytest.mark.parametrize("auth_mode", ["token", "aksk"])
async def test_a_create_is_never_repeated_on_a_server_error(
    auth_mode: str, status: int, make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    await admin.fault(f"{TRAINING}$", status, method="POST", times=1)

    with pytest.raises(UpstreamHTTPError) as caught:
        await make_client(auth_mode, max_retries=3).create_2d_model_training_job(CALLER, {"name": "once"})

    assert caught.value.status == status
    assert [call["method"] for call in await admin.calls(TRAINING)] == ["POST"]


async def test_a_delete_and_an_update_are_never_repeated_on_503(
    make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    client = make_client("token", max_retries=3)
    job_id = (await client.create_2d_model_training_job(CALLER, {"name": "kept"}))["job_id"]
    await admin.fault(f"{TRAINING}/{job_id}$", 503, method="DELETE", times=1)
    await admin.fault(f"{TRAINING}/{job_id}$", 503, method="PUT", times=1)

    for attempt in (
        client.delete_2d_model_training_job(CALLER, job_id),
        client.update_2d_model_training_job(CALLER, job_id, {"name": "x"}),
    ):
        with pytest.raises(UpstreamHTTPError):
            await attempt

    assert [call["method"] for call in await admin.calls(job_id)] == ["DELETE", "PUT"]


async def test_a_command_is_never_repeated_on_a_dropped_connection(
    make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    client = make_client("aksk", max_retries=3)
    job_id = (await client.create_2d_model_training_job(CALLER, {"name": "dropped"}))["job_id"]
    await admin.fault(f"{job_id}/command$", method="POST", times=1, drop=True)

    with pytest.raises(UpstreamUnavailable) as caught:
        await client.execute_2d_model_training_command(CALLER, job_id, {"command": "SUBMITVERIFYING"})

    assert caught.value.operation == "Execute2dModelTrainingCommandByUser"
    assert len(await admin.calls(f"{job_id}/command")) == 1


async def test_a_read_is_repeated_after_a_dropped_connection(
    make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    await admin.fault("/picture-modelings$", method="GET", times=1, drop=True)

    listed = await make_client("token").list_picture_modeling_jobs(CALLER)

    assert listed["count"] == 0
    assert len(await admin.calls("/picture-modelings")) == 2


async def test_a_slow_answer_is_a_timeout_and_is_not_repeated(
    make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    await admin.fault("/digital-human-videos$", 200, method="GET", times=1, delay=0.6)
    client = make_client("token", read_timeout=0.15, max_retries=2)

    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as caught:
        await client.list_digital_human_videos(CALLER)

    assert time.monotonic() - started < 0.5
    assert caught.value.operation == "ListDigitalHumanVideo"
    assert "read timeout" in str(caught.value)


@pytest.mark.parametrize("status", [503, 500])
async def test_the_total_timeout_bounds_a_call_with_all_its_retries(
    status: int, make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    await admin.fault("/digital-human-videos$", status, method="GET", delay=0.2)
    client = make_client("token", read_timeout=1.0, total_timeout=0.5, max_retries=10)

    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="total timeout"):
        await client.list_digital_human_videos(CALLER)

    assert 0.5 <= time.monotonic() - started < 1.2


async def test_a_refused_connection_is_unavailable(make_client: ClientFactory) -> None:
    client = make_client("token", endpoint=f"http://127.0.0.1:{free_port()}")

    with pytest.raises(UpstreamUnavailable) as caught:
        await client.show_picture_modeling_job(CALLER, "p1")
    assert caught.value.operation == "ShowPictureModelingJob"
    assert await client.ping() is False


async def test_ping_is_false_when_the_upstream_fails(
    make_client: ClientFactory, admin: EmulatorAdmin
) -> None:
    await admin.fault("/digital-human-videos$", 500, method="GET", times=1)
    assert await make_client("aksk").ping() is False
    await admin.fault("/digital-human-videos$", 200, method="GET", times=1, delay=0.6)
    assert await make_client("aksk", read_timeout=0.15).ping() is False
