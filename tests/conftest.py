"""Fixtures shared by the end-to-end tests: a real emulator and the gateway over it, in-process or served."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.emulator import create_app as create_emulator
from tests.support.clock import ManualClock
from tests.support.gateway import GatewayClient, emulator_config, gateway_client
from tests.support.node import close_runner
from tests.support.servers import POOL, LoopbackServer, serve
from tests.support.serving import Served
from tests.support.subscriptions import LiveGateway, live_gateway


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (make test): two workers a core. Much of the suite waits on servers, subprocesses,
    Chromium and the timeouts it tests; a second worker keeps the core busy meanwhile.
    PYTEST_XDIST_AUTO_NUM_WORKERS overrides it."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return 2 * cores


@pytest.fixture(scope="session", autouse=True)
def server_pool() -> Iterator[None]:
    yield
    POOL.close()


@pytest.fixture(scope="session", autouse=True)
def node_runner() -> Iterator[None]:
    """The Node process JavaScript cases run in (tests/support/node.py), ended with the session."""
    yield
    close_runner()


@pytest.fixture
def emulator() -> Iterator[LoopbackServer]:
    with serve(create_emulator(emulator_config())) as server:
        yield server


@pytest.fixture
async def gateway(emulator: LoopbackServer) -> AsyncIterator[GatewayClient]:
    async with gateway_client(emulator.url) as client:
        yield client


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url) as gateway:
        yield gateway


@pytest.fixture
def clock() -> ManualClock:
    """A clock for a live hub that moves only when the test advances it."""
    return ManualClock()


@pytest.fixture
def started() -> Iterator[list[Served]]:
    """`serve` processes a test starts, stopped when it ends."""
    processes: list[Served] = []
    yield processes
    for served in processes:
        served.stop()
