"""What drops a kept answer: own mutations, callbacks, polls here or on another replica, live states."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.live.events import JobRef
from gateway.live.hub import JobStateHub
from gateway.upstream import Credentials
from tests.live import until
from tests.support.gateway import GatewayClient
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer
from tests.test_read_cache import (
    CANCEL,
    CREATE,
    DETAIL,
    LIST,
    STATE,
    VIDEO_INPUT,
    keeping,
    operations,
    states,
    upstream,
)

# What drops a kept answer


async def test_a_mutation_of_our_own_drops_what_it_made_stale(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url) as (gateway, _):
        [job_id] = await gateway.create_videos(1)
        assert (await gateway.query(STATE, {"jobId": job_id}))["data"]["videoJob"]["state"] == "WAITING"
        assert states(await gateway.query(LIST, {"first": 10})) == {job_id: "WAITING"}

        canceled = await gateway.query(CANCEL, {"jobId": job_id})
        assert canceled["data"]["cancelVideoJob"]["job"]["state"] == "CANCELED"
        assert (await gateway.query(STATE, {"jobId": job_id}))["data"]["videoJob"]["state"] == "CANCELED"
        assert states(await gateway.query(LIST, {"first": 10})) == {job_id: "CANCELED"}

        created = await gateway.query(CREATE, {"input": VIDEO_INPUT})
        new_id = created["data"]["createVideoJob"]["job"]["jobId"]
        assert states(await gateway.query(LIST, {"first": 10})) == {job_id: "CANCELED", new_id: "WAITING"}


async def test_a_callback_drops_the_jobs_kept_answers(emulator: LoopbackServer) -> None:
    # Nothing listens there: the emulator's POST fails, and the test delivers what it sent.
    public_url = "http://127.0.0.1:9"
    async with keeping(emulator.url, public_url=public_url) as (gateway, _):
        created = await gateway.query(CREATE, {"input": VIDEO_INPUT})
        job_id = created["data"]["createVideoJob"]["job"]["jobId"]
        assert (await gateway.query(STATE, {"jobId": job_id}))["data"]["videoJob"]["state"] == "WAITING"
        await gateway.set_state(job_id, "SUCCEED")
        # Kept: the gateway has not seen the change yet.
        assert (await gateway.query(STATE, {"jobId": job_id}))["data"]["videoJob"]["state"] == "WAITING"

        sent = await callback_sent(gateway, job_id)
        response = await gateway.http.post(sent["url"].removeprefix(public_url), json=sent["body"])
        assert response.status_code == 204
        await gateway.reset_calls()
        assert (await gateway.query(STATE, {"jobId": job_id}))["data"]["videoJob"]["state"] == "SUCCEED"
        assert await operations(gateway) == ["ListDigitalHumanVideo"]


async def callback_sent(gateway: GatewayClient, job_id: str) -> dict[str, Any]:
    """The callback the emulator tried to deliver for the job, once it has tried."""
    for _ in range(600):
        sent = (await gateway.emulator.get("/_emulator/callbacks")).json()["callbacks"]
        found = [callback for callback in sent if callback["job_id"] == job_id]
        if found:
            callback: dict[str, Any] = found[0]
            return callback
        await asyncio.sleep(0.05)
    raise AssertionError(f"the emulator sent no callback for job {job_id}")


async def test_a_poll_result_drops_the_jobs_kept_answers_before_subscribers_hear_of_it(
    emulator: LoopbackServer,
) -> None:
    async with keeping(emulator.url, poll_interval=0.1, fast_poll_interval=0.1) as (gateway, _):
        [job_id] = await gateway.create_videos(1)
        assert (await gateway.query(DETAIL, {"jobId": job_id}))["data"]["videoJob"]["state"] == "WAITING"
        await gateway.set_state(job_id, "PROCESSING")
        assert (await gateway.query(DETAIL, {"jobId": job_id}))["data"]["videoJob"]["state"] == "WAITING"

        assert gateway.app is not None
        hub: JobStateHub = gateway.app.state.live
        async with hub.watch(JobRef("video", job_id), Credentials(token="alice-token")) as watch:
            watch.seen("WAITING")
            assert await asyncio.wait_for(anext(watch), 30) == "PROCESSING"
            await gateway.reset_calls()
            body = await gateway.query(DETAIL, {"jobId": job_id})
        assert body["data"]["videoJob"]["state"] == "PROCESSING"
        # The hub's next polls may come meanwhile; the query itself costs its show call.
        shows = [operation for operation in await operations(gateway) if operation.startswith("Show")]
        assert shows == ["Show2DDigitalHumanVideo"]


async def test_a_change_another_replica_polled_drops_this_replicas_kept_answers(
    emulator: LoopbackServer,
) -> None:
    shared = {"redis_url": REDIS_URL, "poll_interval": 0.1, "fast_poll_interval": 0.1}
    async with (
        keeping(emulator.url, **shared) as (polling, _),
        keeping(emulator.url, **shared) as (reading, _),
    ):
        [job_id] = await reading.create_videos(1)
        assert (await reading.query(DETAIL, {"jobId": job_id}))["data"]["videoJob"]["state"] == "WAITING"
        ref, alice = JobRef("video", job_id), Credentials(token="alice-token")
        assert polling.app is not None and reading.app is not None
        polls: JobStateHub = polling.app.state.live
        async with polls.watch(ref, alice) as first:
            first.seen("WAITING")
            await until(lambda: polls.counts()["leases"] == 1, 30, "the poll lease taken")
            # This replica never polls the job: only the other's change, over Redis, can reach it.
            async with reading.app.state.live.watch(ref, alice) as heard:
                heard.seen("WAITING")
                await reading.set_state(job_id, "PROCESSING")
                assert await asyncio.wait_for(anext(heard), 30) == "PROCESSING"
                body = await reading.query(DETAIL, {"jobId": job_id})
        assert body["data"]["videoJob"]["state"] == "PROCESSING"


async def test_a_state_the_live_machinery_learns_drops_every_callers_stale_answers(
    emulator: LoopbackServer,
) -> None:
    async with keeping(emulator.url) as (gateway, _):
        [job_id] = await gateway.create_videos(1)
        reads = upstream(gateway).reads
        await gateway.query(STATE, {"jobId": job_id})
        await gateway.query(LIST, {"first": 10})
        kept = len(reads)
        # A change some replica's poll published: what shows the job otherwise goes, what agrees stays.
        reads.job_changed("video", job_id, "WAITING")
        assert len(reads) == kept
        reads.job_changed("video", job_id, "PROCESSING")
        assert len(reads) == 0
