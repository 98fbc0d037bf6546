"""Live job state over WebSockets, with the Python `gql` client on both protocols, against a real gateway
server and a real emulator whose jobs move only when a test moves them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from schema.relay import encode_global_id
from tests.support.gateway import PROJECT, GatewayClient
from tests.support.servers import LoopbackServer, serve

QUERIES = Path(__file__).resolve().parents[1] / "queries"
VIDEO = (QUERIES / "video_job_state_changed.graphql").read_text(encoding="utf-8")
TRAINING = (QUERIES / "training_job_state_changed.graphql").read_text(encoding="utf-8")
PICTURE = (QUERIES / "picture_modeling_job_state_changed.graphql").read_text(encoding="utf-8")
JOBS = (QUERIES / "job_state_changed.graphql").read_text(encoding="utf-8")

POLL = 0.1
TIMEOUT = 20.0
ALLOWED_ORIGIN = "https://studio.example.com"
WS_PROTOCOLS = ["graphql-transport-ws", "graphql-ws"]
ALICE = {"X-Auth-Token": "alice-token"}


class LiveGateway:
    """A gateway app served by a real uvicorn, and the emulator behind it."""

    def __init__(self, app: Starlette, server: LoopbackServer, client: GatewayClient) -> None:
        self.app = app
        self.url = server.url
        self.ws_url = server.url.replace("http://", "ws://", 1) + "/graphql"
        self.client = client

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.app.state.live.counts()
        return counts

    def session(
        self,
        protocol: str = "graphql-transport-ws",
        payload: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Client:
        transport = WebsocketsTransport(
            url=self.ws_url,
            subprotocols=[protocol],
            init_payload=ALICE if payload is None else payload,
            headers=headers,
        )
        return Client(transport=transport)


@contextlib.asynccontextmanager
async def live_gateway(emulator_url: str, **overrides: Any) -> AsyncIterator[LiveGateway]:
    fields: dict[str, Any] = {
        "endpoint": emulator_url,
        "project_id": PROJECT,
        "auth_mode": "token",
        "max_retries": 0,
        "poll_interval": POLL,
        "fast_poll_interval": POLL,
        "allowed_origins": (ALLOWED_ORIGIN,),
        # Jobs are moved behind the gateway's back and read at once (tests/test_read_cache.py keeps answers).
        "read_cache_seconds": 0.0,
    }
    fields.update(overrides)
    app = create_app(Settings(**fields))
    with serve(app) as server:
        async with (
            httpx.AsyncClient(base_url=server.url) as http,
            httpx.AsyncClient(base_url=emulator_url) as emulator,
        ):
            yield LiveGateway(app, server, GatewayClient(http, emulator))


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url) as gateway:
        yield gateway


Move = Callable[[int], Awaitable[None]]


def moving(client: GatewayClient, job_id: str, *states: str) -> Move:
    """After the n-th event, move the job to the n-th of `states` (none after the last)."""

    async def move(events: int) -> None:
        if events <= len(states):
            await client.set_state(job_id, states[events - 1])

    return move


async def follow(stream: AsyncIterator[dict[str, Any]], move: Move | None = None) -> list[dict[str, Any]]:
    """Every event of a subscription until it completes, calling `move` after each one."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        async for data in stream:
            events.append(data)
            if move is not None:
                await move(len(events))
    return events


def subscribe(session: Any, document: str, **variables: Any) -> AsyncIterator[dict[str, Any]]:
    stream: AsyncIterator[dict[str, Any]] = session.subscribe(
        GraphQLRequest(document, variable_values=variables)
    )
    return stream


async def error_of(session: Any, document: str, **variables: Any) -> dict[str, Any]:
    with pytest.raises(TransportQueryError) as raised:
        await follow(subscribe(session, document, **variables))
    assert raised.value.errors, raised.value
    error: dict[str, Any] = raised.value.errors[0]
    return error


async def wait_for_idle(live: LiveGateway) -> dict[str, int]:
    """The hub's counts once every watch has been let go (unsubscribes finish asynchronously)."""
    for _ in range(int(TIMEOUT / 0.02)):
        if not any(live.counts().values()):
            break
        await asyncio.sleep(0.02)
    return live.counts()


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


# Credentials over a WebSocket


@pytest.mark.parametrize(
    "payload",
    [
        {"X-Auth-Token": "alice-token"},
        {"x-auth-token": "alice-token"},
        {"Authorization": "Bearer alice-token"},
        {"headers": {"Authorization": "Bearer alice-token"}},
        {"Headers": {"X-AUTH-TOKEN": "alice-token"}},
    ],
    ids=["graphiql-header", "lowercase", "bearer", "nested-headers", "any-case"],
)
@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_the_connection_init_payload_carries_the_token(
    live: LiveGateway, payload: dict[str, Any], protocol: str
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "SUCCEED")
    async with live.session(protocol, payload=payload) as session:
        events = await follow(subscribe(session, VIDEO, jobId=job_id))
    assert [e["videoJobStateChanged"]["state"] for e in events] == ["SUCCEED"]


async def test_handshake_headers_serve_when_the_payload_names_no_credentials(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "SUCCEED")
    async with live.session(payload={}, headers={"Authorization": "Bearer alice-token"}) as session:
        events = await follow(subscribe(session, VIDEO, jobId=job_id))
    assert [e["videoJobStateChanged"]["jobId"] for e in events] == [job_id]


async def test_the_payloads_credentials_win_over_the_handshakes(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    async with live.session(payload={"X-Auth-Token": "bob-token"}, headers=ALICE) as session:
        error = await error_of(session, VIDEO, jobId=job_id)
    assert error["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_a_subscription_without_a_token_is_unauthenticated(live: LiveGateway, protocol: str) -> None:
    job_id = await live.client.create_video()
    async with live.session(protocol, payload={}) as session:
        error = await error_of(session, VIDEO, jobId=job_id)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "X-Auth-Token" in error["message"]
    assert live.counts()["watchers"] == 0


async def test_queries_over_a_websocket_run_with_the_connection_params_each_with_fresh_data(
    live: LiveGateway,
) -> None:
    job_id = await live.client.create_video()
    query = GraphQLRequest(
        "query ($jobId: String!) { videoJob(jobId: $jobId) { state } }", variable_values={"jobId": job_id}
    )
    async with live.session() as session:
        first = await session.execute(query)
        await live.client.set_state(job_id, "PROCESSING")
        second = await session.execute(query)
    assert first == {"videoJob": {"state": "WAITING"}}
    assert second == {"videoJob": {"state": "PROCESSING"}}


# Who may open a WebSocket


async def handshake(live: LiveGateway, origin: str | None) -> str:
    """Open a graphql-transport-ws connection as a browser on `origin` would (None: a mobile app)."""
    async with websockets.connect(
        live.ws_url,
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        origin=None if origin is None else websockets.Origin(origin),
    ) as socket:
        await socket.send('{"type": "connection_init", "payload": {}}')
        answer = await asyncio.wait_for(socket.recv(), TIMEOUT)
    assert isinstance(answer, str)
    return answer


@pytest.mark.parametrize("origin", [None, ALLOWED_ORIGIN], ids=["no-origin", "allowed-origin"])
async def test_websocket_handshakes_without_an_origin_or_from_an_allowed_one_are_accepted(
    live: LiveGateway, origin: str | None
) -> None:
    assert await handshake(live, websockets.Origin(origin) if origin else None) == (
        '{"type":"connection_ack"}'
    )


async def test_websocket_handshakes_from_the_gateways_own_pages_are_accepted(live: LiveGateway) -> None:
    assert await handshake(live, websockets.Origin(live.url)) == '{"type":"connection_ack"}'


@pytest.mark.parametrize("origin", ["https://evil.example", "http://studio.example.com"])
async def test_cross_origin_websocket_handshakes_are_refused(live: LiveGateway, origin: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await handshake(live, websockets.Origin(origin))
    assert refused.value.response.status_code == 403


# Limits


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_subscriptions_past_the_connections_limit_get_a_clear_error(
    emulator: LoopbackServer, protocol: str
) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_connection=2) as live:
        jobs = await live.client.create_videos(3)
        async with live.session(protocol) as session:
            running = [subscribe(session, VIDEO, jobId=job) for job in jobs[:2]]
            async with asyncio.timeout(TIMEOUT):
                for stream in running:
                    await anext(stream)
            error = await error_of(session, VIDEO, jobId=jobs[2])
            assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 2}
            assert "2 operations" in error["message"]
            # A finished subscription frees its place.
            await running[0].aclose()  # type: ignore[attr-defined]
            await live.client.set_state(jobs[2], "SUCCEED")
            async with asyncio.timeout(TIMEOUT):
                while True:
                    try:
                        events = await follow(subscribe(session, VIDEO, jobId=jobs[2]))
                        break
                    except TransportQueryError:
                        await asyncio.sleep(0.05)
            assert [e["videoJobStateChanged"]["state"] for e in events] == ["SUCCEED"]
            await running[1].aclose()  # type: ignore[attr-defined]


async def test_subscriptions_past_the_gateways_cap_are_rate_limited(emulator: LoopbackServer) -> None:
    async with live_gateway(emulator.url, max_subscriptions=1) as live:
        first, second = await live.client.create_videos(2)
        async with live.session() as one, live.session() as other:
            running = subscribe(one, VIDEO, jobId=first)
            async with asyncio.timeout(TIMEOUT):
                await anext(running)
            error = await error_of(other, VIDEO, jobId=second)
            await running.aclose()  # type: ignore[attr-defined]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert "at most 1 subscriptions" in error["message"]


async def first_event(stream: AsyncIterator[dict[str, Any]]) -> str:
    async with asyncio.timeout(TIMEOUT):
        event = await anext(stream)
    [job] = event.values()
    state: str = job["state"]
    return state


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_one_caller_cannot_take_more_than_its_share_over_many_connections(
    emulator: LoopbackServer, protocol: str
) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_caller=2) as live:
        mine = await live.client.create_videos(3)
        [theirs] = await live.client.create_videos(1, "bob-token")
        async with (
            live.session(protocol) as one,
            live.session(protocol) as two,
            live.session(protocol, payload={**ALICE, "X-App-UserId": "another"}) as three,
            live.session(protocol, payload={"X-Auth-Token": "bob-token"}) as bob,
        ):
            running = [subscribe(one, VIDEO, jobId=mine[0]), subscribe(two, VIDEO, jobId=mine[1])]
            assert [await first_event(stream) for stream in running] == ["WAITING", "WAITING"]

            # A third connection with the same token (whatever app user it names) gets no third slot.
            error = await error_of(three, VIDEO, jobId=mine[2])
            assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 2, "scope": "caller"}
            assert "2 job subscriptions" in error["message"]
            assert "alice-token" not in str(error)
            # Another caller keeps subscribing, and the first caller's streams keep running.
            bobs = subscribe(bob, VIDEO, jobId=theirs)
            assert await first_event(bobs) == "WAITING"
            await live.client.set_state(mine[0], "SUCCEED")
            assert [e["videoJobStateChanged"]["state"] for e in await follow(running[0])] == ["SUCCEED"]

            # The finished subscription gave its slot back.
            await live.client.set_state(mine[2], "SUCCEED")
            async with asyncio.timeout(TIMEOUT):
                while True:
                    try:
                        events = await follow(subscribe(one, VIDEO, jobId=mine[2]))
                        break
                    except TransportQueryError as refused:
                        # The finished stream's unsubscribe may still be under way.
                        assert refused.errors and refused.errors[0]["extensions"]["code"] == "RATE_LIMITED"
                        await asyncio.sleep(0.05)
            assert [e["videoJobStateChanged"]["state"] for e in events] == ["SUCCEED"]
            await running[1].aclose()  # type: ignore[attr-defined]
            await bobs.aclose()  # type: ignore[attr-defined]
        assert await wait_for_idle(live) == {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


async def test_each_job_of_job_state_changed_counts_towards_the_callers_limit(
    emulator: LoopbackServer,
) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_caller=3) as live:
        jobs = await live.client.create_videos(4)
        ids = [encode_global_id("VideoJob", job_id) for job_id in jobs]
        async with live.session() as session:
            await live.client.reset_calls()
            error = await error_of(session, JOBS, ids=ids)
            assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 3, "scope": "caller"}
            assert "these 4 jobs" in error["message"]
            # Refused as a whole, before any job was read or watched.
            assert await live.client.calls() == []
            assert live.counts()["watchers"] == 0
            stream = subscribe(session, JOBS, ids=ids[:3])
            async with asyncio.timeout(TIMEOUT):
                firsts = [await anext(stream) for _ in range(3)]
            assert sorted(f["jobStateChanged"]["jobId"] for f in firsts) == sorted(jobs[:3])
            await stream.aclose()  # type: ignore[attr-defined]


# Upstream traffic


async def upstream_calls_while_watched(live: LiveGateway, subscribers: int, connections: int) -> list[int]:
    """Upstream calls over a window while `subscribers` follow one job (spread over `connections`
    WebSockets), then over its last change until every subscriber has completed."""
    client = live.client
    job_id = await client.create_video()
    sessions = [live.session() for _ in range(connections)]
    async with contextlib.AsyncExitStack() as stack:
        opened = [await stack.enter_async_context(s) for s in sessions]
        streams = [subscribe(opened[i % connections], VIDEO, jobId=job_id) for i in range(subscribers)]
        async with asyncio.timeout(TIMEOUT):
            firsts = await asyncio.gather(*(anext(stream) for stream in streams))
        assert {f["videoJobStateChanged"]["state"] for f in firsts} == {"WAITING"}
        await client.reset_calls()
        await asyncio.sleep(10 * POLL)
        steady = len(await client.calls())
        await client.reset_calls()
        await client.set_state(job_id, "SUCCEED")
        rests = await asyncio.gather(*(follow(stream) for stream in streams))
        last = len(await client.calls())
    assert all([e["videoJobStateChanged"]["state"] for e in rest] == ["SUCCEED"] for rest in rests)
    return [steady, last]


async def test_two_hundred_subscribers_cost_the_upstream_what_one_does(live: LiveGateway) -> None:
    one = await upstream_calls_while_watched(live, subscribers=1, connections=1)
    many = await upstream_calls_while_watched(live, subscribers=200, connections=4)
    # One list call per interval over the window, whatever the number of subscribers (give or take
    # the interval the window starts in); the last change is read once by the poll, not per subscriber.
    assert 5 <= one[0] <= 12
    assert abs(many[0] - one[0]) <= 2, (one, many)
    assert many[1] <= one[1] + 1, (one, many)
    assert many[1] <= 2, (one, many)
    assert await wait_for_idle(live) == {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


async def test_first_reads_of_many_jobs_batch_into_list_calls(emulator: LoopbackServer) -> None:
    # A long poll interval keeps polls out of the count: only the first reads reach the upstream.
    async with live_gateway(
        emulator.url, poll_interval=60.0, fast_poll_interval=60.0, max_subscriptions_per_connection=200
    ) as live:
        jobs = await live.client.create_videos(150)
        await live.client.reset_calls()
        ids = [encode_global_id("VideoJob", job_id) for job_id in jobs]
        async with live.session() as session:
            stream = subscribe(session, JOBS, ids=ids)
            async with asyncio.timeout(TIMEOUT):
                firsts = [await anext(stream) for _ in jobs]
            calls = await live.client.calls()
            await stream.aclose()  # type: ignore[attr-defined]
    assert sorted(f["jobStateChanged"]["jobId"] for f in firsts) == sorted(jobs)
    # 150 first reads share one context: two list calls (100 ids, then 50), not one call per job.
    assert [c["operation"] for c in calls] == ["ListDigitalHumanVideo", "ListDigitalHumanVideo"]
