"""Upstream callbacks end to end: the emulator POSTs job notifications to the gateway's signed URL."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.live.callback_tokens import callback_token
from gateway.live.schedule import CALLBACK_WINDOW
from tests.live.callbacks import (
    CREATE_PHOTO_VIDEO,
    CREATE_TRAINING,
    CREATE_VIDEO,
    FOLLOW_PICTURE,
    FOLLOW_VIDEO,
    PHOTO_INPUT,
    PICTURE_FROM_URL,
    PICTURE_INPUT,
    PROMPT,
    SECRET,
    TRAINING_INPUT,
    VIDEO_INPUT,
    Follower,
    Upstream,
    assert_gateway_callback,
    gateway_settings,
    mutate,
    running_gateway,
    upload_picture,
)
from tests.support.clock import ManualClock


@pytest.mark.parametrize(
    ("document", "field", "job_input", "follow"),
    [
        (CREATE_VIDEO, "createVideoJob", VIDEO_INPUT, FOLLOW_VIDEO),
        (PICTURE_FROM_URL, "createPictureModelingJobFromUrl", PICTURE_INPUT, FOLLOW_PICTURE),
    ],
    ids=["video", "picture"],
)
async def test_a_callback_brings_the_terminal_event_long_before_the_next_poll(
    upstream: Upstream,
    gateway: httpx.AsyncClient,
    document: str,
    field: str,
    job_input: dict[str, Any],
    follow: str,
) -> None:
    job_id = await mutate(gateway, document, field, job_input)
    url = upstream.callback_url(job_id)
    assert_gateway_callback(url, gateway)
    async with Follower(gateway, follow, job_id) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        finished_at = time.monotonic()
        await upstream.finish(job_id)
        event = await follower.next()
        assert event is not None
        state, arrived_at = event
        assert state == "SUCCEED"
        # Polls are 30 s apart: only the callback can have brought it this soon.
        assert arrived_at - finished_at < PROMPT
        assert await follower.next() is None  # the stream completed after the terminal state
    [sent] = await upstream.callbacks()
    assert (sent["url"], sent["job_id"], sent["state"], sent["status"]) == (url, job_id, "SUCCEED", 204)


async def test_every_create_with_a_callback_sends_the_gateways_own_callback_url(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    video = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    photo = await mutate(gateway, CREATE_PHOTO_VIDEO, "createPhotoVideoJob", PHOTO_INPUT)
    by_url = await mutate(gateway, PICTURE_FROM_URL, "createPictureModelingJobFromUrl", PICTURE_INPUT)
    uploaded = await upload_picture(gateway)
    jobs = (video, photo, by_url, uploaded)
    tokens = [assert_gateway_callback(upstream.callback_url(job), gateway) for job in jobs]
    # A secret of its own for each job: no two share a token.
    assert len(set(tokens)) == 4
    for job in (video, photo):
        assert upstream.sent_request(job)["callback_config"]["auth_type"] == "NONE"
    # Training jobs have no upstream callback: nothing is added to what the client sent.
    training = await mutate(gateway, CREATE_TRAINING, "createTrainingJob", TRAINING_INPUT)
    assert upstream.callback_url(training) is None


async def test_a_callback_the_client_gave_is_sent_as_given(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    config = {"callbackUrl": "https://client.example/video-done", "authType": "MSS_A", "key": "k3y"}
    video = await mutate(gateway, CREATE_VIDEO, "createVideoJob", {**VIDEO_INPUT, "callbackConfig": config})
    by_url = await mutate(
        gateway,
        PICTURE_FROM_URL,
        "createPictureModelingJobFromUrl",
        {**PICTURE_INPUT, "notifyUrl": "https://client.example/picture-done"},
    )
    uploaded = await upload_picture(gateway, notifyUrl="https://client.example/upload-done")
    assert upstream.sent_request(video)["callback_config"] == {
        "callback_url": "https://client.example/video-done",
        "auth_type": "MSS_A",
        "key": "k3y",
    }
    assert upstream.callback_url(by_url) == "https://client.example/picture-done"
    assert upstream.callback_url(uploaded) == "https://client.example/upload-done"


async def test_without_a_public_url_no_callback_is_added(upstream: Upstream) -> None:
    async with running_gateway(upstream, public_url=None) as gateway:
        video = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
        picture = await upload_picture(gateway)
    assert "callback_config" not in upstream.sent_request(video)
    assert upstream.callback_url(video) is None
    assert upstream.callback_url(picture) is None


async def test_a_retry_with_the_same_idempotency_key_is_a_replay_although_its_callback_would_differ(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    job_input = {**VIDEO_INPUT, "idempotencyKey": uuid.uuid4().hex}
    first = await mutate(gateway, CREATE_VIDEO, "createVideoJob", job_input)
    again = await mutate(gateway, CREATE_VIDEO, "createVideoJob", job_input)
    assert again == first
    operations = [call["operation"] for call in await upstream.calls()]
    assert operations.count("Create2DDigitalHumanVideo") == 1
    # The one job created carries the callback of the first attempt, which still works.
    async with Follower(gateway, FOLLOW_VIDEO, first) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await upstream.finish(first)
        assert (await follower.next())[0] == "SUCCEED"  # type: ignore[index]
    [sent] = await upstream.callbacks()
    assert sent["status"] == 204


def _tampered(token: str) -> str:
    nonce, _, signature = token.partition(".")
    flipped = "A" if signature[0] != "A" else "B"
    return f"{nonce}.{flipped}{signature[1:]}"


async def test_forged_callbacks_are_refused_logged_and_move_nothing(
    upstream: Upstream, gateway: httpx.AsyncClient, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    done = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    watched = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    done_token = assert_gateway_callback(upstream.callback_url(done), gateway)
    watched_token = assert_gateway_callback(upstream.callback_url(watched), gateway)
    unbound = callback_token(gateway_settings(upstream, 0), "video", "A" * 21 + "A")
    other_secret = callback_token(
        gateway_settings(upstream, 0, callback_secret="another-secret-0123456789"),
        "video",
        done_token.partition(".")[0],
    )
    body = {"job_id": watched, "state": "SUCCEED", "job_type": "DIGITAL_HUMAN_2D"}
    async with Follower(gateway, FOLLOW_VIDEO, watched) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await upstream.forget_calls()
        caplog.clear()
        attempts = {
            "random": (f"{uuid.uuid4().hex}.{uuid.uuid4().hex}", 401),
            "tampered": (_tampered(watched_token), 401),
            "another secret": (other_secret, 401),
            "bound to no job": (unbound, 404),
            "another job's token": (done_token, 401),
        }
        for name, (token, status) in attempts.items():
            response = await gateway.post(f"/callbacks/{token}", json=body)
            assert response.status_code == status, name
            # Nothing about any job comes back.
            assert watched not in response.text and done not in response.text
        # Through a look window of the hub's time, and once every look set off has ended.
        await clock.advance(CALLBACK_WINDOW)
        # No refused callback made the gateway look at a job, nor moved the subscriber.
        assert await upstream.calls() == []
        assert follower.events.empty()

        # The same body with the job's own token is heard at once: the job is polled.
        response = await gateway.post(f"/callbacks/{watched_token}", json=body)
        assert response.status_code == 204
        deadline = time.monotonic() + PROMPT
        while not await upstream.calls():
            assert time.monotonic() < deadline, "the genuine callback did not make the gateway poll"
            await asyncio.sleep(0.05)

    refusals = [r.getMessage() for r in caplog.records if r.name == "gateway.callbacks"]
    assert len(refusals) == len(attempts)
    assert all(m.startswith("refused a job callback from 127.0.0.1: ") for m in refusals)
    assert any("signed" in m for m in refusals) and any("bound to no job" in m for m in refusals)
    assert any("another job" in m for m in refusals)
    # Neither the secret nor any token (nor its nonce) is written anywhere: not by the gateway, not in
    # the URLs httpx logs (the emulator's callbacks, this test's own requests).
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/callbacks/<token>" in logged
    for secret in (SECRET, watched_token, done_token, other_secret, unbound):
        assert secret.partition(".")[0] not in logged


def test_the_access_log_leaves_callback_tokens_out(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    create_app(gateway_settings(upstream, 0))
    access = logging.getLogger("uvicorn.access")
    access.addHandler(caplog.handler)  # uvicorn's logging config stops its access log propagating
    try:
        # The line uvicorn writes for each request.
        access.warning(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/callbacks/n0nce.s1gnature", "1.1", 204
        )
    finally:
        access.removeHandler(caplog.handler)
    [line] = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert line == '127.0.0.1:5000 - "POST /callbacks/<token> HTTP/1.1" 204'


async def test_a_callback_body_that_names_no_job_is_refused(
    upstream: Upstream, gateway: httpx.AsyncClient
) -> None:
    job = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    token = assert_gateway_callback(upstream.callback_url(job), gateway)
    for content in (b"not json", b"[]", b'{"state": "SUCCEED"}', b'{"job_id": 7}'):
        response = await gateway.post(f"/callbacks/{token}", content=content)
        assert response.status_code == 400
    oversized = {"job_id": job, "padding": "x" * 70_000}
    assert (await gateway.post(f"/callbacks/{token}", json=oversized)).status_code == 413
    # Only POST is a callback.
    assert (await gateway.get(f"/callbacks/{token}")).status_code == 405
