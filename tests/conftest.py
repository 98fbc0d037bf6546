"""Fixtures shared by the gateway's end-to-end tests: a real emulator server and the gateway over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.emulator import create_app as create_emulator
from tests.support.gateway import GatewayClient, emulator_config, gateway_client
from tests.support.servers import POOL, LoopbackServer, serve


@pytest.fixture(scope="session", autouse=True)
def server_pool() -> Iterator[None]:
    yield
    POOL.close()


@pytest.fixture
def emulator() -> Iterator[LoopbackServer]:
    with serve(create_emulator(emulator_config())) as server:
        yield server


@pytest.fixture
async def gateway(emulator: LoopbackServer) -> AsyncIterator[GatewayClient]:
    async with gateway_client(emulator.url) as client:
        yield client
