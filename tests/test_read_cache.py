"""Upstream reads shared while in flight and kept per caller, for a while, bounded, never errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.upstream import Credentials, UpstreamClient
from tests.live import until
from tests.support.clock import ManualTime
from tests.support.gateway import AK, SK, VIDEO_BODY, GatewayClient, gateway_client
from tests.support.servers import LoopbackServer

QUERIES = Path(__file__).resolve().parents[1] / "queries"
PAGE = (QUERIES / "video_job_list.graphql").read_text(encoding="utf-8")
DETAIL = (QUERIES / "video_job_detail.graphql").read_text(encoding="utf-8")
CANCEL = (QUERIES / "cancel_video_job.graphql").read_text(encoding="utf-8")
CREATE = (QUERIES / "create_video_job.graphql").read_text(encoding="utf-8")
LIST = "query ($first: Int) { videoJobs(first: $first) { totalCount edges { node { jobId state } } } }"
STATE = "query ($jobId: String!) { videoJob(jobId: $jobId) { jobId state } }"
VIDEO_INPUT: dict[str, Any] = {
    "modelAssetId": "cda7e9a469ee9cf3ffc1ad62794a12ff",
    "voiceConfig": {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"},
    "videoConfig": {"bitrate": 5000, "width": 1080, "height": 1920},
    "shootScripts": [{"sequenceNo": 0, "shootScript": {"textConfig": {"text": "Hello there."}}}],
    "outputAssetConfig": {"assetName": "Greeting"},
}
KEEP = 1.0
TERMINAL = 300.0
# Long enough that every request sent together is still waiting when the upstream answers.
LATENCY = 1.0


@contextlib.asynccontextmanager
async def keeping(emulator_url: str, **settings: Any) -> AsyncIterator[tuple[GatewayClient, ManualTime]]:
    """The gateway keeping answers (1 s, terminal jobs' details 300 s) on a clock the test moves."""
    fields: dict[str, Any] = {"read_cache_seconds": KEEP, "read_cache_terminal_seconds": TERMINAL}
    fields.update(settings)
    async with gateway_client(emulator_url, **fields) as gateway:
        clock = ManualTime()
        upstream(gateway).reads.clock = clock
        yield gateway, clock


def upstream(gateway: GatewayClient) -> UpstreamClient:
    assert gateway.app is not None
    client: UpstreamClient = gateway.app.state.upstream
    return client


async def operations(gateway: GatewayClient) -> list[str]:
    """The upstream operations the emulator saw since the last reset, in order."""
    return [str(call["operation"]) for call in await gateway.calls()]


async def slow_upstream(gateway: GatewayClient) -> None:
    response = await gateway.emulator.put("/_emulator/latency", json={"seconds": LATENCY})
    assert response.status_code == 200


def states(body: dict[str, Any]) -> dict[str, str]:
    return {edge["node"]["jobId"]: edge["node"]["state"] for edge in body["data"]["videoJobs"]["edges"]}


# Coalescing


async def test_identical_queries_in_flight_make_one_upstream_call(emulator: LoopbackServer) -> None:
    # Keeping off: what is shared is the call in flight, not a kept answer.
    async with gateway_client(emulator.url, read_cache_seconds=0.0) as gateway:
        await gateway.create_videos(3)
        await slow_upstream(gateway)
        await gateway.reset_calls()
        bodies = await asyncio.gather(*(gateway.query(LIST, {"first": 10}) for _ in range(20)))
        assert await operations(gateway) == ["ListDigitalHumanVideo"]
        assert all(body == bodies[0] and "errors" not in body for body in bodies)
        assert len(states(bodies[0])) == 3
        # Nothing is kept: the next query calls again.
        await gateway.query(LIST, {"first": 10})
        assert await operations(gateway) == ["ListDigitalHumanVideo"] * 2


async def test_an_answer_is_kept_for_the_keeping_time_and_then_read_again(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url) as (gateway, clock):
        await gateway.create_videos(2)
        await gateway.reset_calls()
        first = await gateway.query(LIST, {"first": 10})
        clock.advance(KEEP / 2)
        again = [await gateway.query(LIST, {"first": 10}) for _ in range(5)]
        assert await operations(gateway) == ["ListDigitalHumanVideo"]
        assert all(body == first for body in again)

        clock.advance(KEEP)
        await gateway.query(LIST, {"first": 10})
        assert await operations(gateway) == ["ListDigitalHumanVideo"] * 2


async def test_readers_get_copies_that_cannot_change_the_kept_answer(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url) as (gateway, _):
        [job_id] = await gateway.create_videos(1)
        client, alice = upstream(gateway), Credentials(token="alice-token")
        first = await client.list_digital_human_videos(alice, limit=10)
        first["jobs"][0]["state"] = "TAMPERED"
        second = await client.list_digital_human_videos(alice, limit=10)
        second["jobs"].clear()
        third = await client.list_digital_human_videos(alice, limit=10)
        assert [(job["job_id"], job["state"]) for job in third["jobs"]] == [(job_id, "WAITING")]
        assert client.reads.counts["hit"] == 2


# A page and its details, polled


async def test_a_page_and_ten_details_polled_cost_one_call_per_keeping_time(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url) as (gateway, clock):
        job_ids = await gateway.create_videos(50)
        shown = job_ids[:10]

        async def poll(details_first: bool) -> list[dict[str, Any]]:
            page = gateway.query(PAGE, {"first": 50})
            details = [gateway.query(DETAIL, {"jobId": job_id}) for job_id in shown]
            bodies = [await body for body in ([*details, page] if details_first else [page, *details])]
            assert all("errors" not in body for body in bodies)
            return bodies

        await poll(details_first=False)
        assert (await operations(gateway)).count("Show2DDigitalHumanVideo") == 10
        for details_first in (False, True, False, True):
            clock.advance(KEEP)
            await gateway.reset_calls()
            await poll(details_first)
            # The page's list call proves every detail it shows unchanged: no show call.
            assert await operations(gateway) == ["ListDigitalHumanVideo"]

        # A job that moves costs its own detail once more, and every poller sees it move.
        await gateway.set_state(shown[3], "PROCESSING")
        clock.advance(KEEP)
        await gateway.reset_calls()
        bodies = await poll(details_first=False)
        assert sorted(await operations(gateway)) == ["ListDigitalHumanVideo", "Show2DDigitalHumanVideo"]
        page, details = bodies[0], bodies[1:]
        assert states(page)[shown[3]] == "PROCESSING"
        assert [body["data"]["videoJob"]["state"] for body in details] == [
            "PROCESSING" if job_id == shown[3] else "WAITING" for job_id in shown
        ]


# Callers never share


async def test_two_tokens_never_share_a_kept_answer(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url) as (gateway, _):
        alices = set(await gateway.create_videos(2, "alice-token"))
        bobs = set(await gateway.create_videos(3, "bob-token"))
        await slow_upstream(gateway)
        await gateway.reset_calls()
        alice, bob = await asyncio.gather(
            gateway.query(LIST, {"first": 10}, token="alice-token"),
            gateway.query(LIST, {"first": 10}, token="bob-token"),
        )
        assert set(states(alice)) == alices and set(states(bob)) == bobs
        assert await operations(gateway) == ["ListDigitalHumanVideo"] * 2

        # Kept for each, each its own.
        assert set(states(await gateway.query(LIST, {"first": 10}, token="bob-token"))) == bobs
        assert set(states(await gateway.query(LIST, {"first": 10}, token="alice-token"))) == alices
        assert len(await operations(gateway)) == 2

        # A caller the upstream refuses is refused, whatever others have kept.
        refused = await gateway.query(LIST, {"first": 10}, token="mallory-token")
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert len(await operations(gateway)) == 3
        missing = await gateway.query(LIST, {"first": 10}, token=None)
        assert missing["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert len(await operations(gateway)) == 3


async def test_two_app_users_never_share_a_kept_answer(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url, auth_mode="aksk", ak=AK, sk=SK) as (gateway, _):
        client = upstream(gateway)
        owned: dict[str, set[str]] = {}
        for user, count in (("user-1", 1), ("user-2", 2)):
            created = [
                await client.create_2d_digital_human_video(Credentials(app_user_id=user), VIDEO_BODY)
                for _ in range(count)
            ]
            owned[user] = {answer["job_id"] for answer in created}
        await gateway.reset_calls()
        for _ in range(2):
            for user in ("user-1", "user-2"):
                body = await gateway.query(LIST, {"first": 10}, token=None, **{"X-App-UserId": user})
                assert set(states(body)) == owned[user]
            # The service itself, with no app user, is a caller of its own.
            assert states(await gateway.query(LIST, {"first": 10}, token=None)) == {}
        assert await operations(gateway) == ["ListDigitalHumanVideo"] * 3


# Keeping longer, never keeping errors


async def test_a_terminal_jobs_detail_is_kept_longer(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url) as (gateway, clock):
        finished, running = await gateway.create_videos(2)
        await gateway.set_state(finished, "SUCCEED")
        for job_id in (finished, running):
            assert "errors" not in await gateway.query(DETAIL, {"jobId": job_id})

        clock.advance(10 * KEEP)
        await gateway.reset_calls()
        assert (await gateway.query(DETAIL, {"jobId": finished}))["data"]["videoJob"]["state"] == "SUCCEED"
        assert await operations(gateway) == []
        # The running job's detail is proved current again by the one list call that showed it.
        assert (await gateway.query(DETAIL, {"jobId": running}))["data"]["videoJob"]["state"] == "WAITING"
        assert await operations(gateway) == ["ListDigitalHumanVideo"]

        clock.advance(TERMINAL)
        await gateway.reset_calls()
        assert (await gateway.query(DETAIL, {"jobId": finished}))["data"]["videoJob"]["state"] == "SUCCEED"
        assert await operations(gateway) == ["Show2DDigitalHumanVideo"]


async def test_an_error_is_shared_by_those_waiting_for_it_and_never_kept(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url) as (gateway, _):
        await gateway.create_videos(1)
        fault = {"status": 503, "method": "GET", "path": "/digital-human-videos$", "times": 1}
        fault["delay"] = LATENCY
        assert (await gateway.emulator.post("/_emulator/faults", json=fault)).status_code == 200
        await gateway.reset_calls()
        failed = await asyncio.gather(*(gateway.query(LIST, {"first": 10}) for _ in range(5)))
        assert all(body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE" for body in failed)
        assert await operations(gateway) == ["ListDigitalHumanVideo"]

        body = await gateway.query(LIST, {"first": 10})
        assert "errors" not in body and len(states(body)) == 1
        assert await operations(gateway) == ["ListDigitalHumanVideo"] * 2


async def test_kept_answers_are_bounded_the_least_recently_used_going_first(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url, read_cache_max_entries=2) as (gateway, _):
        await gateway.create_videos(3)
        await gateway.reset_calls()
        for first in (1, 2, 1, 3, 1, 2):
            await gateway.query(LIST, {"first": first})
        # 1 and 2 are read and kept; 1 is read again, so 3 pushes 2 out; 1 is still kept, 2 is read again.
        assert len(await operations(gateway)) == 4
        assert len(upstream(gateway).reads) == 2


async def test_answers_no_reader_can_use_any_more_are_swept_out(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url) as (gateway, clock):
        await gateway.create_videos(2)
        reads = upstream(gateway).reads
        for first in (1, 2):
            await gateway.query(LIST, {"first": first})
        assert len(reads) == 2
        clock.advance(60)
        await gateway.query(LIST, {"first": 3})
        assert len(reads) == 1


@pytest.mark.parametrize("cancelled", ["the reader that started the call", "a reader that joined it"])
async def test_a_cancelled_reader_leaves_the_call_to_the_others(
    emulator: LoopbackServer, cancelled: str
) -> None:
    async with keeping(emulator.url) as (gateway, _):
        [job_id] = await gateway.create_videos(1)
        await slow_upstream(gateway)
        await gateway.reset_calls()
        client, alice = upstream(gateway), Credentials(token="alice-token")
        started = asyncio.ensure_future(client.show_2d_digital_human_video(alice, job_id))
        await until(lambda: client.reads.counts["miss"] == 1, 30, "the call started")
        joined = asyncio.ensure_future(client.show_2d_digital_human_video(alice, job_id))
        await until(lambda: client.reads.counts["coalesced"] == 1, 30, "the call joined")
        starter_gone = cancelled == "the reader that started the call"
        gone, left = (started, joined) if starter_gone else (joined, started)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert (await left)["job_id"] == job_id
        # The call went on to its end and its answer is kept.
        assert (await client.show_2d_digital_human_video(alice, job_id))["job_id"] == job_id
        assert await operations(gateway) == ["Show2DDigitalHumanVideo"]


async def test_a_call_every_reader_gave_up_is_cancelled_and_frees_its_connection(
    emulator: LoopbackServer,
) -> None:
    # One pooled connection, and a pool wait far shorter than the upstream's answer.
    async with keeping(emulator.url, upstream_max_connections=1, connect_timeout=0.3) as (gateway, _):
        first, second = await gateway.create_videos(2)
        await slow_upstream(gateway)
        await gateway.reset_calls()
        client, alice = upstream(gateway), Credentials(token="alice-token")
        readers = [asyncio.ensure_future(client.show_2d_digital_human_video(alice, first)) for _ in range(2)]
        await until(lambda: client.reads.counts["coalesced"] == 1, 30, "the second reader joined")
        for reader in readers:
            reader.cancel()
        for reader in readers:
            with pytest.raises(asyncio.CancelledError):
                await reader
        # The connection is free for the next call at once, not when the abandoned answer arrives.
        assert (await client.show_2d_digital_human_video(alice, second))["job_id"] == second
        # And a new reader of the abandoned job calls again: nothing was kept, nothing is joined.
        assert (await client.show_2d_digital_human_video(alice, first))["job_id"] == first
        assert client.reads.counts["coalesced"] == 1


async def test_the_metrics_count_hits_misses_and_coalesced_reads(emulator: LoopbackServer) -> None:
    async with keeping(emulator.url) as (gateway, _):
        await gateway.create_videos(1)
        await slow_upstream(gateway)
        await asyncio.gather(*(gateway.query(LIST, {"first": 10}) for _ in range(3)))
        await gateway.query(LIST, {"first": 10})
        text = (await gateway.http.get("/metrics")).text
    lines = set(text.splitlines())
    assert 'metastudio_gateway_read_cache_lookups_total{outcome="miss"} 1.0' in lines
    assert 'metastudio_gateway_read_cache_lookups_total{outcome="coalesced"} 2.0' in lines
    assert 'metastudio_gateway_read_cache_lookups_total{outcome="hit"} 1.0' in lines
    assert "metastudio_gateway_read_cache_entries 1.0" in lines
