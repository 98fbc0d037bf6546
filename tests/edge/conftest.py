"""The gateway in-process and served, with one allowed origin, for the HTTP edge tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.edge.support import ORIGIN
from tests.support.gateway import GatewayClient, gateway_client
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import LiveGateway, live_gateway


@pytest.fixture
async def gateway(emulator: LoopbackServer) -> AsyncIterator[GatewayClient]:
    async with gateway_client(emulator.url, allowed_origins=(ORIGIN,)) as client:
        yield client


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url, allowed_origins=(ORIGIN,)) as gateway:
        yield gateway
