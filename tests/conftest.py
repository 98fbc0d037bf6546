"""Fixtures shared by the gateway's end-to-end tests: a real emulator server and the gateway over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.emulator import create_app as create_emulator
from tests.support.gateway import GatewayClient, emulator_config, gateway_client
from tests.support.servers import ThreadedServer, serve


@pytest.fixture
def emulator() -> Iterator[ThreadedServer]:
    with serve(create_emulator(emulator_config())) as server:
        yield server


@pytest.fixture
async def gateway(emulator: ThreadedServer) -> AsyncIterator[GatewayClient]:
    async with gateway_client(emulator.url) as client:
        yield client
