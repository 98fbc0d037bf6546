"""What the client puts on the wire is exactly what it signed, as the official SDK would sign it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import unquote

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from python_multipart.multipart import parse_options_header

from gateway.upstream import (
    AuthMode,
    Credentials,
    CredentialsError,
    PictureFile,
    UpstreamClient,
    UpstreamConfig,
    UpstreamHTTPError,
    UpstreamInvalidResponse,
    UpstreamUnavailable,
)
from tests.upstream.conftest import AK, PROJECT, SK
from tests.upstream.recording import Answer, Received, RecordingUpstream

USER = Credentials(app_user_id="  zoë-42  ")


def signed_header_names(received: Received) -> list[str]:
    authorization = (received.header("authorization") or b"").decode()
    return authorization.partition("SignedHeaders=")[2].partition(",")[0].split(";")


def official_authorization(received: Received) -> str:
    """Re-sign the request as it arrived, with the official signer, from its wire bytes alone."""
    names = signed_header_names(received)
    headers = {
        key.decode(): value.decode("utf-8") for key, value in received.headers if key.decode() in names
    }
    query = [
        (unquote(key), unquote(value))
        for key, _, value in (item.partition("=") for item in received.query_string.decode().split("&"))
        if key
    ]
    request = SdkRequest(
        method=received.method,
        schema="http",
        host=headers["host"],
        resource_path=received.raw_path.decode(),
        query_params=query,
        header_params=headers,
        body=received.body,
    )
    Signer(BasicCredentials(AK, SK)).sign(request)
    return str(request.header_params["Authorization"])


async def test_signed_list_call_is_sent_exactly_as_signed(
    recorded_aksk_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    await recorded_aksk_client.list_digital_human_videos(
        USER,
        limit=5,
        state=["WAITING", "PROCESSING"],
        asset_name="数字人 a+b/c~",
        job_ids=["j2", "j1"],
    )

    [received] = recording.received
    assert received.raw_path == f"/v1/{PROJECT}/digital-human-videos".encode()
    assert received.query_string == (
        b"asset_name=%E6%95%B0%E5%AD%97%E4%BA%BA%20a%2Bb%2Fc~&job_ids=j1&job_ids=j2&limit=5&state=WAITING%2CPROCESSING"
    )
    assert received.header("x-app-userid") == "zoë-42".encode()
    assert received.header("x-project-id") == PROJECT.encode()
    assert received.header("x-auth-token") is None
    assert set(signed_header_names(received)) == {"host", "x-app-userid", "x-project-id", "x-sdk-date"}
    assert (received.header("authorization") or b"").decode() == official_authorization(received)


async def test_signed_json_body_is_hashed_as_sent(
    recorded_aksk_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    body = {"name": "训练 job", "tags": ("a", "b"), "voice_properties": {"sex": "FEMALE"}}

    await recorded_aksk_client.update_2d_model_training_job(Credentials(), "job/with space", body)

    [received] = recording.received
    assert received.method == "PUT"
    assert (
        received.raw_path
        == f"/v1/{PROJECT}/digital-human-training-manage/user/jobs/job%2Fwith%20space".encode()
    )
    assert (
        received.body == '{"name":"训练 job","tags":["a","b"],"voice_properties":{"sex":"FEMALE"}}'.encode()
    )
    assert received.header("content-type") == b"application/json"
    assert (received.header("authorization") or b"").decode() == official_authorization(received)


async def test_body_less_command_still_declares_json_like_the_sdk(
    recorded_aksk_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    await recorded_aksk_client.cancel_photo_digital_human_video(Credentials(), "p1")

    [received] = recording.received
    assert (received.method, received.body) == ("POST", b"")
    assert received.header("content-type") == b"application/json"
    assert (received.header("authorization") or b"").decode() == official_authorization(received)


async def test_multipart_upload_is_sent_unsigned_payload_with_every_byte(
    recorded_aksk_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    picture = bytes(range(256)) * 4096 + b"\r\n--not-a-boundary\r\n"

    await recorded_aksk_client.create_picture_modeling_job(
        USER,
        file=PictureFile('me "smiling".png', "image/png", picture),
        style_id="system_female_001",
        name="我的模型",
        notify_url="https://example.com/done?x=1",
    )

    [received] = recording.received
    assert received.header("x-sdk-content-sha256") == b"UNSIGNED-PAYLOAD"
    assert "x-sdk-content-sha256" in signed_header_names(received)
    assert received.header("content-length") == str(len(received.body)).encode()
    assert received.header("transfer-encoding") is None
    assert (received.header("authorization") or b"").decode() == official_authorization(received)
    form = parse_form(received)
    assert form["file"] == picture
    assert form["style_id"] == b"system_female_001"
    assert form["name"] == "我的模型".encode()
    assert form["notify_url"] == b"https://example.com/done?x=1"


async def test_upload_from_chunks_of_unknown_size_goes_chunked(
    recorded_token_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    chunks = [b"\x89PNG\r\n", b"", b"x" * 100_000, b"end"]

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    await recorded_token_client.create_picture_modeling_job(
        Credentials(token="tok"), file=PictureFile("p.png", "image/png", stream()), style_id="s"
    )

    [received] = recording.received
    assert received.header("transfer-encoding") == b"chunked"
    assert received.header("x-sdk-content-sha256") is None
    assert parse_form(received)["file"] == b"".join(chunks)


async def test_token_mode_forwards_the_callers_token_and_signs_nothing(
    recorded_token_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    await recorded_token_client.show_2d_digital_human_video(
        Credentials(token="caller-token", app_user_id="u1"), "v1", show_script=True
    )

    [received] = recording.received
    assert received.raw_path == f"/v1/{PROJECT}/2d-digital-human-videos/v1".encode()
    assert received.query_string == b"show_script=true"
    assert received.header("x-auth-token") == b"caller-token"
    assert received.header("x-app-userid") == b"u1"
    assert received.header("authorization") is None
    assert received.header("x-project-id") is None


async def test_token_mode_without_a_token_sends_nothing(
    recorded_token_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    with pytest.raises(CredentialsError, match="token"):
        await recorded_token_client.show_picture_modeling_job(Credentials(app_user_id="u1"), "p1")
    assert recording.received == []


async def test_a_token_no_header_can_carry_is_refused_before_sending(
    recorded_token_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    with pytest.raises(CredentialsError) as caught:
        await recorded_token_client.show_picture_modeling_job(
            Credentials(token="secret-token\r\nX-Evil: 1"), "p1"
        )
    assert "secret-token" not in str(caught.value)
    assert recording.received == []


async def test_error_body_that_is_not_json_still_gives_a_typed_error(
    recorded_token_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    recording.answers.append(Answer(502, b"<html><body>\n  Bad   gateway\n</body></html>", "text/html"))

    with pytest.raises(UpstreamHTTPError) as caught:
        await recorded_token_client.list_picture_modeling_jobs(Credentials(token="tok"), limit=1)

    error = caught.value
    assert (error.status, error.error_code, error.operation) == (502, None, "ListPictureModelingJobs")
    assert error.error_msg == "<html><body> Bad gateway </body></html>"
    assert error.request_id
    assert "HTTP 502" in str(error)


async def test_empty_error_body_falls_back_to_the_reason_phrase(
    recorded_token_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    recording.answers.append(Answer(403, b"", "text/plain"))

    with pytest.raises(UpstreamHTTPError) as caught:
        await recorded_token_client.show_2d_model_training_job(Credentials(token="tok"), "t1")
    assert (caught.value.status, caught.value.error_msg) == (403, "Forbidden")


async def test_success_that_is_not_a_json_object_is_an_invalid_response(
    recorded_token_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    recording.answers.append(Answer(200, b"[1, 2]"))
    recording.answers.append(Answer(200, b"<html>", "text/html"))

    for _ in range(2):
        with pytest.raises(UpstreamInvalidResponse) as caught:
            await recorded_token_client.show_2d_model_training_job(Credentials(token="tok"), "t1")
        assert caught.value.request_id


async def test_empty_success_body_is_an_empty_object(
    recorded_token_client: UpstreamClient, recording: RecordingUpstream
) -> None:
    recording.answers.append(Answer(204, b""))

    assert await recorded_token_client.delete_2d_model_training_job(Credentials(token="tok"), "t1") == {}


def parse_form(received: Received) -> dict[str, bytes]:
    content_type, options = parse_options_header(received.header("content-type") or b"")
    assert content_type == b"multipart/form-data"
    boundary = options[b"boundary"]
    parts: dict[str, bytes] = {}
    for chunk in received.body.split(b"--" + boundary)[1:-1]:
        head, _, value = chunk[2:].partition(b"\r\n\r\n")
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        parts[name] = value[:-2]
    assert received.body.endswith(b"--" + boundary + b"--\r\n")
    return parts


@pytest.fixture
async def hanging_up_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads each request's head and hangs up without answering."""
    request_lines: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_lines.append(head.partition(b"\r\n")[0])
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", request_lines


async def test_a_read_is_repeated_when_the_connection_is_dropped(
    hanging_up_server: tuple[str, list[bytes]],
) -> None:
    url, request_lines = hanging_up_server
    config = UpstreamConfig(url, PROJECT, max_retries=2, backoff_base=0.001, backoff_max=0.01)

    async with UpstreamClient(config) as client:
        with pytest.raises(UpstreamUnavailable) as caught:
            await client.show_2d_model_training_job(Credentials(token="tok"), "t1")

    assert caught.value.operation == "Show2dModelTrainingJob"
    assert len(request_lines) == 3


@pytest.mark.parametrize("auth_mode", ["token", "aksk"])
async def test_writes_are_not_repeated_when_the_connection_is_dropped(
    auth_mode: AuthMode, hanging_up_server: tuple[str, list[bytes]]
) -> None:
    url, request_lines = hanging_up_server
    config = UpstreamConfig(
        url, PROJECT, auth_mode=auth_mode, ak=AK, sk=SK, max_retries=3, backoff_base=0.001
    )
    creds = Credentials(token="tok")

    async with UpstreamClient(config) as client:
        for write in (
            client.create_2d_digital_human_video(creds, {"script_id": "s"}),
            client.update_2d_model_training_job(creds, "t1", {"name": "n"}),
            client.delete_2d_model_training_job(creds, "t1"),
            client.create_picture_modeling_job(
                creds, file=PictureFile("p.png", "image/png", b"x"), style_id="s"
            ),
        ):
            with pytest.raises(UpstreamUnavailable):
                await write

    assert [line.split(b" ")[0] for line in request_lines] == [b"POST", b"PUT", b"DELETE", b"POST"]
