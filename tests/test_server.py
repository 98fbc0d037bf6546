"""`serve` against slow and idle clients: head, body and keep-alive timeouts, the ceiling, WebSockets."""

from __future__ import annotations

import asyncio
import json
import resource
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from websockets.typing import Subprotocol

from gateway.connection_guard import ConnectionLimits, protocol_for
from gateway.emulator import create_app as create_emulator
from gateway.open_files import connections_that_fit
from gateway.server import UnsupportedServer, check_instances, check_uvicorn
from gateway.settings import Settings, SettingsError
from tests.support.gateway import PROJECT, TOKENS, V1, VIDEO_BODY, emulator_config
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, serve
from tests.support.serving import Served, clean_env, read_response, serve_gateway, until_closed

HEAD_SECONDS = 1.5
BODY_SECONDS = 0.5
KEEP_ALIVE_SECONDS = 1
CEILING = 12
# Every wait for the server to act is bounded generously: these tests show what happens, not how fast.
WITHIN = 15.0
TRANSPORT_WS = Subprotocol("graphql-transport-ws")
SUBSCRIBE = "subscription ($jobId: String!) { videoJobStateChanged(jobId: $jobId) { jobId state } }"


@pytest.fixture(scope="module")
def emulator() -> Iterator[LoopbackServer]:
    with serve(create_emulator(emulator_config())) as server:
        yield server


def _low_soft_open_file_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))


@pytest.fixture(scope="module")
def served(emulator: LoopbackServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = clean_env(
        METASTUDIO_ENDPOINT=emulator.url,
        METASTUDIO_PROJECT_ID=PROJECT,
        METASTUDIO_AUTH_MODE="token",
        GATEWAY_HEADER_TIMEOUT=str(HEAD_SECONDS),
        GATEWAY_BODY_TIMEOUT=str(BODY_SECONDS),
        GATEWAY_KEEP_ALIVE_TIMEOUT=str(KEEP_ALIVE_SECONDS),
        GATEWAY_MAX_CONNECTIONS=str(CEILING),
    )
    served = serve_gateway(
        tmp_path_factory.mktemp("serve") / "gateway.log", env, preexec_fn=_low_soft_open_file_limit
    )
    yield served
    served.stop()


@pytest.fixture
async def connection(served: Served) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    yield reader, writer
    writer.close()


def json_post(body: bytes, content_length: int | None = None) -> bytes:
    length = len(body) if content_length is None else content_length
    return (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"X-Auth-Token: alice-token\r\nContent-Length: %d\r\n\r\n" % length
    )


async def keep_writing(writer: asyncio.StreamWriter, chunks: list[bytes], every: float) -> None:
    """Send one chunk every `every` seconds until done or until the server has closed the connection."""
    for chunk in chunks:
        try:
            writer.write(chunk)
            await writer.drain()
        except (ConnectionError, RuntimeError):
            return
        await asyncio.sleep(every)


# Request head


async def test_a_connection_that_sends_nothing_is_closed_after_the_head_timeout(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    reader, _ = connection
    # Nothing was asked, so nothing is answered: the connection just ends.
    assert await until_closed(reader, WITHIN) == b""


async def test_a_head_trickling_in_gets_408_and_the_connection_closes(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    reader, writer = connection
    trickle = [b"GET /healthz HTTP/1.1\r\n", *(bytes([c]) for c in b"X-Slow: " * 200)]
    sender = asyncio.create_task(keep_writing(writer, trickle, every=0.2))
    try:
        answer = await until_closed(reader, WITHIN)
    finally:
        sender.cancel()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"the request head did not arrive in time" in answer


async def test_a_head_bigger_than_64_kib_gets_431(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    reader, writer = connection
    filler = b"X-Filler: " + b"a" * 8180 + b"\r\n"  # 8 KiB
    # The request line alone first: the read a head begins in is not counted. Then 56 KiB at once, still
    # under the limit, then 8 KiB at a time, so the server has read everything sent when it answers
    # (what it left unread would reset the connection before the answer could be read).
    sends = iter([b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n", filler * 7, *[filler] * 40])
    answer = b""
    for chunk in sends:
        writer.write(chunk)
        await writer.drain()
        try:
            answer = await asyncio.wait_for(reader.read(65536), 0.2)
        except TimeoutError:
            continue
        break
    answer += await until_closed(reader, WITHIN)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


# Request body


async def test_a_body_that_stops_arriving_gets_408_and_leaves_no_traceback(
    served: Served, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = connection
    # 5 MB announced, 468 B sent.
    writer.write(json_post(b"", content_length=5_000_000) + b'{"query": "' + b" " * 457)
    await writer.drain()
    answer = await until_closed(reader, WITHIN)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"the request body stopped arriving" in answer
    # A slow client is not a server error: nothing for an operator to chase in the log.
    assert "Traceback" not in served.output()


async def test_a_slow_body_that_keeps_arriving_is_read_in_full(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    reader, writer = connection
    body = b'{"query": "{ __typename }"}' + b" " * 60
    chunks = [body[at : at + 10] for at in range(0, len(body), 10)]
    writer.write(json_post(body))
    # Nine gaps of a quarter of the body timeout: twice the timeout in all, never a long gap.
    await keep_writing(writer, chunks, every=BODY_SECONDS / 4)
    status, _, answer = await read_response(reader)
    assert status == 200
    assert json.loads(answer) == {"data": {"__typename": "Query"}}


# Keep-alive


async def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    reader, writer = connection
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
    status, headers, _ = await read_response(reader)
    assert status == 200
    assert headers.get("connection") != "close"
    assert await until_closed(reader, WITHIN) == b""


# Connection ceiling


async def test_past_the_ceiling_new_connections_get_a_quick_503_and_the_probes_still_answer(
    served: Served,
) -> None:
    # WebSockets fill the ceiling: no timeout ends them, and each holds a connection like any other.
    sockets: list[Any] = []
    refused: websockets.InvalidStatus | None = None
    try:
        for _ in range(3 * CEILING):
            try:
                sockets.append(await websockets.connect(served.ws_url, subprotocols=[TRANSPORT_WS]))
            except websockets.InvalidStatus as exc:
                refused = exc
                break
        assert refused is not None, f"{len(sockets)} WebSockets open and none refused"
        assert refused.response.status_code == 503
        assert len(sockets) <= CEILING

        async with loopback(served.url, timeout=WITHIN) as http:
            query = await http.get("/graphql", params={"query": "{ __typename }"})
            assert query.status_code == 503
            assert query.json() == {"status": "unavailable", "reason": "too many connections"}
            assert query.headers["connection"] == "close"
            health = await http.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            ready = await http.get("/readyz")
            assert ready.status_code == 200

        # A connection past the ceiling that asks nothing is answered 503 and let go too.
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        answer = await until_closed(reader, WITHIN)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets))

    # Below the ceiling again, queries are served.
    async with loopback(served.url, timeout=WITHIN) as http:
        for _ in range(int(WITHIN * 10)):
            query = await http.get("/graphql", params={"query": "{ __typename }"})
            if query.status_code != 503:
                break
            await asyncio.sleep(0.1)
        assert query.status_code == 200


# WebSockets


async def test_a_websocket_subscription_outlives_every_timeout(
    served: Served, emulator: LoopbackServer
) -> None:
    async with loopback(emulator.url) as upstream:
        created = await upstream.post(
            f"{V1}/2d-digital-human-videos", json=VIDEO_BODY, headers={"X-Auth-Token": TOKENS[0]}
        )
        job_id = created.json()["job_id"]
        async with websockets.connect(served.ws_url, subprotocols=[TRANSPORT_WS]) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {"X-Auth-Token": TOKENS[0]}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            subscribe = {"query": SUBSCRIBE, "variables": {"jobId": job_id}}
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
            first = json.loads(await asyncio.wait_for(socket.recv(), WITHIN))
            assert first["payload"]["data"]["videoJobStateChanged"]["state"] == "WAITING"

            # Quiet for longer than the head, body and keep-alive timeouts together.
            await asyncio.sleep(HEAD_SECONDS + BODY_SECONDS + KEEP_ALIVE_SECONDS + 0.5)

            moved = await upstream.put(f"/_emulator/jobs/{job_id}/state", json={"state": "PROCESSING"})
            assert moved.status_code == 200
            event = json.loads(await asyncio.wait_for(socket.recv(), WITHIN))
            assert event["payload"]["data"]["videoJobStateChanged"]["state"] == "PROCESSING"
            await socket.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(socket.recv(), WITHIN)) == {"type": "pong"}


# The process


def test_serve_lifts_its_open_file_limit_to_the_hard_limit(served: Served) -> None:
    limits = Path(f"/proc/{served.process.pid}/limits").read_text()
    line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard, line


def test_the_ceiling_is_lowered_to_fit_under_the_open_file_limit() -> None:
    assert connections_that_fit(10_000, 20_000) == 10_000
    assert connections_that_fit(10_000, 1024) == 768
    assert connections_that_fit(10_000, 100) == 36


def test_an_unsupported_uvicorn_is_refused_with_a_clear_message() -> None:
    with pytest.raises(UnsupportedServer) as refused:
        check_uvicorn("0.99.0")
    assert "uvicorn 0.99.0 is installed" in str(refused.value)
    assert "gateway/server.py" in str(refused.value)


def test_the_installed_uvicorn_has_every_internal_the_guards_use() -> None:
    check_uvicorn()
    protocol = protocol_for(ConnectionLimits(header_timeout=1, body_timeout=1, max_connections=1))
    config = uvicorn.Config(Starlette(), http=protocol)
    config.load()
    check_instances(config, protocol)


def test_connection_settings_are_read_and_checked() -> None:
    defaults = Settings.from_env({})
    assert (defaults.header_timeout, defaults.body_timeout, defaults.keep_alive_timeout) == (10.0, 30.0, 5)
    assert (defaults.max_connections, defaults.drain_seconds) == (10_000, 10.0)
    settings = Settings.from_env(
        {
            "GATEWAY_HEADER_TIMEOUT": "2.5",
            "GATEWAY_BODY_TIMEOUT": "7",
            "GATEWAY_KEEP_ALIVE_TIMEOUT": "3",
            "GATEWAY_MAX_CONNECTIONS": "500",
            "GATEWAY_DRAIN_SECONDS": "4",
        }
    )
    assert (settings.header_timeout, settings.body_timeout, settings.keep_alive_timeout) == (2.5, 7.0, 3)
    assert (settings.max_connections, settings.drain_seconds) == (500, 4.0)
    with pytest.raises(SettingsError) as bad:
        Settings.from_env(
            {
                "GATEWAY_HEADER_TIMEOUT": "0",
                "GATEWAY_BODY_TIMEOUT": "-1",
                "GATEWAY_KEEP_ALIVE_TIMEOUT": "0.5",
                "GATEWAY_MAX_CONNECTIONS": "0",
                "GATEWAY_DRAIN_SECONDS": "soon",
            }
        )
    assert bad.value.problems == [
        "GATEWAY_HEADER_TIMEOUT: '0' is not a positive number",
        "GATEWAY_BODY_TIMEOUT: '-1' is not a positive number",
        "GATEWAY_KEEP_ALIVE_TIMEOUT: '0.5' is not a whole number of at least 1",
        "GATEWAY_MAX_CONNECTIONS: '0' is not a whole number of at least 1",
        "GATEWAY_DRAIN_SECONDS: 'soon' is not a positive number",
    ]
