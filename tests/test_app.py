"""Health and readiness of the gateway app, against the real emulator and a dead upstream."""

from collections.abc import Iterator

import pytest

from gateway.app import create_app
from gateway.emulator import EmulatorConfig
from gateway.emulator import create_app as create_emulator
from gateway.settings import Settings
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, free_port, serve


@pytest.fixture
def emulator() -> Iterator[LoopbackServer]:
    config = EmulatorConfig(credentials={"AK-APP": "SK-APP"}, seed_demo_data=False, admin_enabled=True)
    with serve(create_emulator(config)) as server:
        yield server


def gateway_for(endpoint: str) -> Settings:
    return Settings(endpoint=endpoint, project_id="demo-project", auth_mode="aksk", ak="AK-APP", sk="SK-APP")


async def test_healthz_answers_without_touching_the_upstream() -> None:
    app = create_app(gateway_for(f"http://127.0.0.1:{free_port()}"))
    with serve(app) as gateway:
        async with loopback(gateway.url) as client:
            response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_upstream_answers(emulator: LoopbackServer) -> None:
    with serve(create_app(gateway_for(emulator.url))) as gateway:
        async with loopback(gateway.url) as client:
            response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_is_unavailable_when_the_upstream_is_down() -> None:
    with serve(create_app(gateway_for(f"http://127.0.0.1:{free_port()}"))) as gateway:
        async with loopback(gateway.url) as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_readyz_is_unavailable_while_the_upstream_fails(emulator: LoopbackServer) -> None:
    async with loopback(emulator.url) as admin:
        await admin.post("/_emulator/faults", json={"path": ".*", "status": 503})
    with serve(create_app(gateway_for(emulator.url))) as gateway:
        async with loopback(gateway.url) as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
