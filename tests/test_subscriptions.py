"""Live job state over WebSockets with gql on both protocols: each kind of job, and all of them at once."""

from __future__ import annotations

import asyncio

import pytest
from gql.transport.exceptions import TransportQueryError

from schema.relay import encode_global_id
from tests.support.subscriptions import (
    JOBS,
    PICTURE,
    TIMEOUT,
    TRAINING,
    VIDEO,
    WS_PROTOCOLS,
    LiveGateway,
    error_of,
    follow,
    moving,
    subscribe,
    wait_for_idle,
)

# Three states, three events, then completion


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_a_video_moved_to_succeed_sends_three_events_then_completes(
    live: LiveGateway, protocol: str
) -> None:
    job_id = await live.client.create_video()
    async with live.session(protocol) as session:
        events = await follow(
            subscribe(session, VIDEO, jobId=job_id), moving(live.client, job_id, "PROCESSING", "SUCCEED")
        )
    jobs = [event["videoJobStateChanged"] for event in events]
    assert [(j["state"], j["rawState"], j["terminal"]) for j in jobs] == [
        ("WAITING", "WAITING", False),
        ("PROCESSING", "PROCESSING", False),
        ("SUCCEED", "SUCCEED", True),
    ]
    assert {j["jobId"] for j in jobs} == {job_id}
    assert jobs[0]["id"] == encode_global_id("VideoJob", job_id)
    assert await wait_for_idle(live) == {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


async def test_a_training_job_sends_each_state_until_a_terminal_one(live: LiveGateway) -> None:
    job_id = await live.client.create_training()
    async with live.session() as session:
        events = await follow(
            subscribe(session, TRAINING, jobId=job_id),
            moving(live.client, job_id, "AUTO_VERIFYING", "MANUAL_VERIFYING", "JOB_SUCCESS"),
        )
    jobs = [event["trainingJobStateChanged"] for event in events]
    assert [j["rawState"] for j in jobs] == [
        "WAIT_FILE_UPLOAD",
        "AUTO_VERIFYING",
        "MANUAL_VERIFYING",
        "JOB_SUCCESS",
    ]
    assert [j["terminal"] for j in jobs] == [False, False, False, True]
    assert jobs[-1]["phase"] == "SUCCEEDED"


async def test_a_failed_picture_modeling_job_ends_its_stream_with_the_failure(live: LiveGateway) -> None:
    job_id = await live.client.create_picture()
    async with live.session("graphql-ws") as session:

        async def move(events: int) -> None:
            if events == 1:
                await live.client.set_state(job_id, "PROCESSING")
            elif events == 2:
                await live.client.set_state(
                    job_id, "FAILED", error_code="MSS.00000004", error_msg="no face found"
                )

        events = await follow(subscribe(session, PICTURE, jobId=job_id), move)
    jobs = [event["pictureModelingJobStateChanged"] for event in events]
    assert [j["state"] for j in jobs] == ["WAITING", "PROCESSING", "FAILED"]
    assert jobs[-1]["error"] == {"code": "MSS.00000004", "message": "no face found"}


async def test_a_job_already_finished_sends_one_event_then_completes(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "CANCELED")
    async with live.session() as session:
        events = await follow(subscribe(session, VIDEO, jobId=job_id))
    assert [e["videoJobStateChanged"]["state"] for e in events] == ["CANCELED"]


async def test_a_subscriber_who_unsubscribes_leaves_nothing_behind(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    async with live.session() as session:
        stream = subscribe(session, VIDEO, jobId=job_id)
        async with asyncio.timeout(TIMEOUT):
            first = await anext(stream)
        assert first["videoJobStateChanged"]["state"] == "WAITING"
        assert live.counts()["watchers"] == 1
        await stream.aclose()  # type: ignore[attr-defined]
        assert await wait_for_idle(live) == {
            "jobs": 0,
            "watchers": 0,
            "queued": 0,
            "tasks": 0,
            "leases": 0,
        }


# Jobs that cannot be read


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_an_unknown_job_ends_with_not_found(live: LiveGateway, protocol: str) -> None:
    async with live.session(protocol) as session:
        error = await error_of(session, VIDEO, jobId="no-such-job")
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "no-such-job" in error["message"]
    assert await wait_for_idle(live) == {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


@pytest.mark.parametrize("document", [VIDEO, TRAINING, PICTURE])
async def test_another_users_job_ends_with_not_found(live: LiveGateway, document: str) -> None:
    if document is VIDEO:
        job_id = await live.client.create_video("bob-token")
    elif document is TRAINING:
        job_id = await live.client.create_training("bob-token")
    else:
        job_id = await live.client.create_picture("bob-token")
    async with live.session() as session:
        error = await error_of(session, document, jobId=job_id)
    assert error["extensions"]["code"] == "NOT_FOUND"


# Many jobs in one stream


async def test_job_state_changed_merges_every_kind_of_job_until_all_have_ended(live: LiveGateway) -> None:
    client = live.client
    video, photo = await client.create_video(), await client.create_photo_video()
    training, picture = await client.create_training(), await client.create_picture()
    ids = [
        encode_global_id("VideoJob", video),
        encode_global_id("VideoJob", photo),
        encode_global_id("TrainingJob", training),
        encode_global_id("PictureModelingJob", picture),
    ]
    # Once every job has sent its first event, each is moved on, one job at a time.
    steps = [
        (video, "PROCESSING"),
        (picture, "SUCCEED"),
        (training, "AUTO_VERIFY_FAILED"),
        (video, "SUCCEED"),
        (photo, "FAILED"),
    ]

    async def move(events: int) -> None:
        if 4 <= events < 4 + len(steps):
            await client.set_state(*steps[events - 4])

    async with live.session() as session:
        events = await follow(subscribe(session, JOBS, ids=ids), move)
    jobs = [event["jobStateChanged"] for event in events]
    assert sorted((j["__typename"], j["jobId"]) for j in jobs[:4]) == sorted(
        [
            ("VideoJob", video),
            ("VideoJob", photo),
            ("TrainingJob", training),
            ("PictureModelingJob", picture),
        ]
    )
    assert [(j["jobId"], j["rawState"]) for j in jobs[4:]] == steps
    assert [j["kind"] for j in jobs[:4] if j["jobId"] in (video, photo)] in (
        ["DIGITAL_HUMAN_2D", "PHOTO_DIGITAL_HUMAN"],
        ["PHOTO_DIGITAL_HUMAN", "DIGITAL_HUMAN_2D"],
    )
    assert jobs[-1]["terminal"] is True
    assert await wait_for_idle(live) == {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


@pytest.mark.parametrize("bad_id", ["not base64 at all!", encode_global_id("Asset", "abc")])
async def test_job_state_changed_with_a_bad_id_is_bad_user_input(live: LiveGateway, bad_id: str) -> None:
    video = await live.client.create_video()
    async with live.session() as session:
        error = await error_of(session, JOBS, ids=[encode_global_id("VideoJob", video), bad_id])
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad_id in error["message"]


async def test_job_state_changed_ends_with_not_found_when_one_job_cannot_be_read(
    live: LiveGateway,
) -> None:
    mine, theirs = await live.client.create_video(), await live.client.create_video("bob-token")
    ids = [encode_global_id("VideoJob", mine), encode_global_id("VideoJob", theirs)]
    async with live.session() as session:
        with pytest.raises(TransportQueryError) as raised:
            await follow(subscribe(session, JOBS, ids=ids))
    assert raised.value.errors is not None
    assert raised.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
    assert theirs in raised.value.errors[0]["message"]
    assert await wait_for_idle(live) == {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


async def test_job_state_changed_unsubscribed_midway_stops_every_watch(live: LiveGateway) -> None:
    ids = [encode_global_id("VideoJob", v) for v in await live.client.create_videos(3)]
    async with live.session() as session:
        stream = subscribe(session, JOBS, ids=ids)
        async with asyncio.timeout(TIMEOUT):
            for _ in ids:
                await anext(stream)
        assert live.counts()["watchers"] == 3
        await stream.aclose()  # type: ignore[attr-defined]
        assert (await wait_for_idle(live))["watchers"] == 0
