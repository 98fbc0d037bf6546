"""Servers and clients shared by the upstream client's tests."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from gateway.emulator import EmulatorConfig, Timings, create_app
from gateway.upstream import Credentials, UpstreamClient, UpstreamConfig
from tests.support.servers import LoopbackServer, serve
from tests.upstream.emulator_admin import EmulatorAdmin
from tests.upstream.recording import RecordingUpstream

PROJECT = "demo-project"
TOKEN = "t1-caller-iam-token"
AK = "AK1"
SK = "SK1-very-secret-key"
# Jobs stay where they are put: the tests move them only through the API.
FROZEN = Timings(
    video_waiting=3600,
    video_processing=3600,
    picture_waiting=3600,
    picture_processing=3600,
    training_step=3600,
    failure_rate=0.0,
)
ClientFactory = Callable[..., UpstreamClient]


@pytest.fixture(scope="session")
def recording_server() -> Iterator[tuple[LoopbackServer, RecordingUpstream]]:
    upstream = RecordingUpstream()
    with serve(upstream) as server:
        yield server, upstream


@pytest.fixture
def recording(recording_server: tuple[LoopbackServer, RecordingUpstream]) -> RecordingUpstream:
    _, upstream = recording_server
    upstream.received.clear()
    upstream.answers.clear()
    return upstream


@pytest.fixture
async def recorded_aksk_client(
    recording_server: tuple[LoopbackServer, RecordingUpstream],
) -> AsyncIterator[UpstreamClient]:
    server, _ = recording_server
    config = UpstreamConfig(server.url, PROJECT, auth_mode="aksk", ak=AK, sk=SK, max_retries=0)
    async with UpstreamClient(config) as client:
        yield client


@pytest.fixture
async def recorded_token_client(
    recording_server: tuple[LoopbackServer, RecordingUpstream],
) -> AsyncIterator[UpstreamClient]:
    server, _ = recording_server
    async with UpstreamClient(UpstreamConfig(server.url, PROJECT, max_retries=0)) as client:
        yield client


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[LoopbackServer]:
    config = EmulatorConfig(
        project_id=PROJECT,
        tokens=(TOKEN,),
        credentials={AK: SK},
        admin_enabled=True,
        seed_demo_data=False,
        timings=FROZEN,
    )
    with serve(create_app(config)) as server:
        yield server


@pytest.fixture
async def admin(emulator_server: LoopbackServer) -> EmulatorAdmin:
    admin = EmulatorAdmin(emulator_server.url)
    await admin.reset()
    return admin


@pytest.fixture
async def make_client(emulator_server: LoopbackServer) -> AsyncIterator[ClientFactory]:
    """Clients of the emulator with tiny backoff; keyword arguments override UpstreamConfig fields."""
    clients: list[UpstreamClient] = []

    def make(auth_mode: str = "token", **overrides: Any) -> UpstreamClient:
        config = UpstreamConfig(
            endpoint=emulator_server.url,
            project_id=PROJECT,
            backoff_base=0.001,
            backoff_max=0.01,
            read_timeout=5.0,
            total_timeout=10.0,
        )
        if auth_mode == "aksk":
            config = dataclasses.replace(config, auth_mode="aksk", ak=AK, sk=SK)
        client = UpstreamClient(dataclasses.replace(config, **overrides))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture(params=["token", "aksk"])
def auth_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(make_client: ClientFactory, auth_mode: str) -> UpstreamClient:
    return make_client(auth_mode)


@pytest.fixture
def creds(auth_mode: str) -> Credentials:
    # A fresh app user per test keeps each test's jobs to itself.
    user = f"user-{uuid.uuid4().hex[:12]}"
    return (
        Credentials(token=TOKEN, app_user_id=user) if auth_mode == "token" else Credentials(app_user_id=user)
    )
