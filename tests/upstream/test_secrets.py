"""No token, secret key or signature ever shows in an error, a repr or a log line; attempts are logged."""

from __future__ import annotations

import logging

import pytest

from gateway.upstream import (
    Credentials,
    CredentialsError,
    UpstreamClient,
    UpstreamConfig,
    UpstreamError,
)
from tests.support.servers import free_port
from tests.upstream.conftest import AK, PROJECT, SK, TOKEN, ClientFactory
from tests.upstream.emulator_admin import EmulatorAdmin

UNKNOWN_TOKEN = "MIIunknown-caller-token-value"
OUR_LOGGERS = ("gateway.upstream", "httpx", "httpcore", "aiohttp")


def our_log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{record.name} {record.getMessage()}"
        for record in caplog.records
        if record.name.startswith(OUR_LOGGERS)
    )


def everything_said_about(error: BaseException) -> str:
    said: list[str] = []
    current: BaseException | None = error
    while current is not None:
        said += [str(current), repr(current), *map(str, current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(said)


def assert_nothing_secret(text: str) -> None:
    for secret in (TOKEN, UNKNOWN_TOKEN, SK, "Signature=", "SDK-HMAC-SHA256"):
        assert secret not in text


async def failures(client: UpstreamClient, creds: Credentials, admin: EmulatorAdmin) -> list[UpstreamError]:
    caught: list[UpstreamError] = []
    await admin.fault("/digital-human-videos$", 503, method="GET")
    await admin.fault("/picture-modelings$", 200, method="GET", delay=0.6)
    await admin.fault("/digital-human-training-manage/user/jobs$", method="POST", drop=True)
    calls = (
        client.list_digital_human_videos(creds),
        client.list_picture_modeling_jobs(creds),
        client.create_2d_model_training_job(creds, {"name": "n"}),
        client.show_2d_digital_human_video(creds, "missing"),
    )
    for call in calls:
        try:
            await call
        except UpstreamError as error:
            caught.append(error)
    return caught


@pytest.mark.parametrize("auth_mode", ["token", "aksk"])
async def test_failures_say_nothing_secret(
    auth_mode: str, make_client: ClientFactory, admin: EmulatorAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(auth_mode, read_timeout=0.15)

    errors = await failures(client, Credentials(token=TOKEN, app_user_id="u1"), admin)

    assert len(errors) == 4
    for error in errors:
        assert_nothing_secret(everything_said_about(error))
    assert_nothing_secret(our_log_text(caplog))


async def test_an_unknown_token_is_not_repeated_back(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(UpstreamError) as caught:
        await make_client("token").show_picture_modeling_job(Credentials(token=UNKNOWN_TOKEN), "p1")
    assert_nothing_secret(everything_said_about(caught.value))
    assert_nothing_secret(our_log_text(caplog))


async def test_unreachable_upstream_says_nothing_secret(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client("aksk", endpoint=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(UpstreamError) as caught:
        await client.list_digital_human_videos(Credentials(token=TOKEN))
    assert_nothing_secret(everything_said_about(caught.value))
    assert_nothing_secret(our_log_text(caplog))


def test_missing_token_error_names_the_problem_not_the_caller() -> None:
    error = CredentialsError("token mode needs the caller's token", operation="ShowPictureModelingJob")
    assert str(error) == "ShowPictureModelingJob: token mode needs the caller's token"


def test_reprs_hide_tokens_and_secret_keys() -> None:
    config = UpstreamConfig("https://metastudio.example", PROJECT, auth_mode="aksk", ak=AK, sk=SK)
    creds = Credentials(token=TOKEN, app_user_id="u1")

    assert SK not in repr(config)
    assert AK in repr(config)
    assert TOKEN not in repr(creds)
    assert "u1" in repr(creds)
    assert SK not in repr(UpstreamClient(config))


async def test_each_attempt_is_logged_once_with_its_outcome(
    make_client: ClientFactory, admin: EmulatorAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.upstream")
    await admin.fault("/digital-human-videos$", 503, method="GET", times=2)

    await make_client("aksk").list_digital_human_videos(Credentials(), limit=1)

    lines = [record.getMessage() for record in caplog.records if record.name == "gateway.upstream"]
    calls = await admin.calls("/digital-human-videos")
    assert len(lines) == len(calls) == 3
    for attempt, (line, call) in enumerate(zip(lines, calls, strict=True), start=1):
        assert line.startswith(
            f"ListDigitalHumanVideo GET /v1/{PROJECT}/digital-human-videos -> {call['status']} in "
        )
        assert f"attempt {attempt}, request id {call['request_id']}" in line
