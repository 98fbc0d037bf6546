"""The emulator as the upstream; the gateway on a real port it POSTs its callbacks to; a hub on the
manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.emulator import create_app as create_emulator
from tests.live import HubOnClock, emulator_admin, hub_settings, running_hub
from tests.live.callbacks import Upstream, running_gateway
from tests.support.clock import ManualClock
from tests.support.gateway import emulator_config
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, serve


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    app = create_emulator(emulator_config())
    with serve(app) as server:
        async with loopback(server.url) as admin:
            yield Upstream(server, app.state.emulator, admin)


@pytest.fixture
async def gateway(upstream: Upstream, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway, its hub on the manual clock: no poll falls due unless the test advances it, so
    whatever a job's subscribers hear came through its callbacks."""
    async with running_gateway(upstream, clock=clock) as client:
        yield client


@pytest.fixture
async def hub_on_clock(emulator: LoopbackServer, clock: ManualClock) -> AsyncIterator[HubOnClock]:
    """The emulator's admin routes, and a hub over it (hub_settings) keeping time by `clock`."""
    async with (
        emulator_admin(emulator.url) as upstream,
        running_hub(hub_settings(emulator.url), clock=clock) as hub,
    ):
        yield upstream, hub
