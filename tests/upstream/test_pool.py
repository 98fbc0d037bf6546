"""Cancelled calls never take upstream connections with them, the pool stays whole, and a failure on
the wire is named by what happened to the request."""

from __future__ import annotations

import asyncio

import pytest

from gateway.upstream import (
    Credentials,
    UpstreamClient,
    UpstreamConfig,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.support.http import loopback
from tests.support.servers import LoopbackServer
from tests.upstream.conftest import TOKEN, ClientFactory

CALLER = Credentials(token=TOKEN, app_user_id="pool")
POOL_SIZE = 5


async def cancel_queued_calls(send: object, count: int, loop_turns: int) -> None:
    """Start `count` calls on a pool of POOL_SIZE, let the loop turn `loop_turns` times, cancel them all."""
    assert callable(send)
    tasks = [asyncio.ensure_future(send()) for _ in range(count)]
    for _ in range(loop_turns):
        await asyncio.sleep(0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize("loop_turns", [1, 2, 5])
async def test_cancelling_hundreds_of_queued_calls_leaves_every_connection_usable(
    make_client: ClientFactory, loop_turns: int
) -> None:
    # A pool timeout of one second: a stranded pool fails the calls below instead of hanging them.
    client = make_client(max_connections=POOL_SIZE, connect_timeout=1.0)

    for _ in range(3):
        await cancel_queued_calls(lambda: client.list_digital_human_videos(CALLER, limit=1), 300, loop_turns)

    # As many calls at once as the pool has connections: each needs a connection of its own.
    answers = await asyncio.gather(
        *(client.list_digital_human_videos(CALLER, limit=1) for _ in range(POOL_SIZE))
    )
    assert all("count" in answer for answer in answers)
    assert client.pool_starved_for() == 0.0


async def test_a_cancelled_request_during_slow_answers_does_not_strand_connections(
    make_client: ClientFactory, emulator_server: LoopbackServer
) -> None:
    client = make_client(max_connections=POOL_SIZE, connect_timeout=1.0)
    async with loopback(emulator_server.url) as admin:
        await admin.put("/_emulator/latency", json={"seconds": 0.3})
        try:
            for delay in (0.0, 0.05, 0.1, 0.31, 0.35):
                tasks = [
                    asyncio.ensure_future(client.list_digital_human_videos(CALLER, limit=1))
                    for _ in range(50)
                ]
                await asyncio.sleep(delay)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await admin.delete("/_emulator/latency")

    answers = await asyncio.gather(
        *(client.list_digital_human_videos(CALLER, limit=1) for _ in range(POOL_SIZE))
    )
    assert len(answers) == POOL_SIZE


async def test_a_pool_whose_connections_are_all_taken_is_reported_at_once(
    make_client: ClientFactory, emulator_server: LoopbackServer
) -> None:
    client = make_client(max_connections=1, connect_timeout=0.2, read_timeout=5.0, total_timeout=5.0)
    async with loopback(emulator_server.url) as admin:
        await admin.put("/_emulator/latency", json={"seconds": 1.0})
        try:
            holder = asyncio.ensure_future(client.list_digital_human_videos(CALLER, limit=1))
            await asyncio.sleep(0.1)
            # Another read: an identical one would share the call in flight, not wait for a connection.
            with pytest.raises(UpstreamTimeout, match="no free connection"):
                await client.list_digital_human_videos(CALLER, limit=2)
            reason = await client.unready_reason()
            assert reason is not None and "all 1 connections to MetaStudio are taken" in reason
            await holder
        finally:
            await admin.delete("/_emulator/latency")
    # The next call that gets a connection ends the starvation, whatever it answers.
    await client.list_digital_human_videos(CALLER, limit=1)
    assert await client.unready_reason() is None


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """An idle connection the server has since closed is noticed and replaced, so even a call that may
    not be repeated goes through."""
    served: list[asyncio.Task[None] | None] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(asyncio.current_task())
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"count":0}'
        )
        await writer.drain()
        await asyncio.sleep(0.6)  # the server's idle timeout
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = UpstreamConfig(f"http://127.0.0.1:{port}", "p", max_retries=0)
    async with server, UpstreamClient(config) as client:
        assert await client.list_digital_human_videos(CALLER, limit=1) == {"count": 0}
        await asyncio.sleep(0.9)
        assert await client.list_digital_human_videos(CALLER, limit=1) == {"count": 0}
        await asyncio.gather(*(task for task in served if task is not None))  # each connection closed
    assert len(served) == 2


async def serve_once(reply: bytes) -> tuple[asyncio.Server, str]:
    """A server that reads one request and sends `reply` (possibly nothing) before closing."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.mark.parametrize(
    "reply",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", b"NOT HTTP AT ALL\r\n\r\n"],
    ids=["closed without an answer", "answer cut short", "not HTTP"],
)
async def test_a_request_that_reached_the_upstream_is_never_taken_for_one_that_did_not(reply: bytes) -> None:
    # A create sent again after such a failure could make the job twice: the error must say it left.
    server, url = await serve_once(reply)
    async with server, UpstreamClient(UpstreamConfig(url, "p", max_retries=3)) as client:
        with pytest.raises(UpstreamUnavailable) as failure:
            await client.list_digital_human_videos(CALLER, limit=1)
    assert failure.value.request_sent
    assert "RemoteProtocolError" in str(failure.value)


async def test_a_refused_connection_says_the_request_never_left() -> None:
    server, url = await serve_once(b"")
    server.close()
    await server.wait_closed()
    async with UpstreamClient(UpstreamConfig(url, "p", max_retries=0)) as client:
        with pytest.raises(UpstreamUnavailable) as failure:
            await client.list_digital_human_videos(CALLER, limit=1)
    assert not failure.value.request_sent
    assert "ConnectError" in str(failure.value)


async def test_cookies_the_upstream_sets_never_go_back_to_it() -> None:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            seen.append(head)
            writer.write(
                b"HTTP/1.1 200 OK\r\nSet-Cookie: session=alice; Path=/\r\n"
                b'Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{"count":0}'
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server, UpstreamClient(UpstreamConfig(url, "p", max_retries=0)) as client:
        for _ in range(2):
            assert await client.list_digital_human_videos(CALLER, limit=1) == {"count": 0}
    assert len(seen) == 2
    assert all(b"cookie" not in head.lower().replace(b"set-cookie", b"") for head in seen)
