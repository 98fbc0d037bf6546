"""CORS at the gateway's edge: preflights and answers for allowed, other and wildcard origins."""

from __future__ import annotations

import pytest

from tests.edge.support import CLIENT_HEADERS, COUNT, ORIGIN, OTHER_ORIGIN, cors_headers, listed
from tests.support.gateway import GatewayClient, gateway_client
from tests.support.servers import LoopbackServer

# CORS


@pytest.mark.parametrize("method", ["POST", "GET", "PUT", "DELETE"])
async def test_a_preflight_from_an_allowed_origin_allows_every_header_clients_send(
    gateway: GatewayClient, method: str
) -> None:
    response = await gateway.http.options(
        "/graphql",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": ",".join(CLIENT_HEADERS),
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert method in response.headers["access-control-allow-methods"].split(", ")
    assert listed(response.headers["access-control-allow-headers"]) >= set(CLIENT_HEADERS)
    assert response.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in response.headers
    assert {"origin", "access-control-request-method", "access-control-request-headers"} <= listed(
        response.headers["vary"]
    )


async def test_a_preflight_names_an_origin_with_its_default_port_as_browsers_send_it(
    emulator: LoopbackServer,
) -> None:
    async with gateway_client(emulator.url, allowed_origins=("HTTPS://Studio.Example.com:443",)) as gateway:
        response = await gateway.http.options(
            "/graphql", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    ("origin", "method", "request_headers"),
    [
        (OTHER_ORIGIN, "POST", "content-type"),
        ("null", "POST", "content-type"),
        (ORIGIN, "PATCH", "content-type"),
        (ORIGIN, "POST", "content-type,x-secret-header"),
    ],
)
async def test_a_refused_preflight_gets_no_cors_headers(
    gateway: GatewayClient, origin: str, method: str, request_headers: str
) -> None:
    response = await gateway.http.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": request_headers,
        },
    )
    assert response.status_code == 400
    assert cors_headers(response) == {}
    assert response.text.startswith("CORS: ")


async def test_a_post_from_an_allowed_origin_may_read_the_answer_and_its_headers(
    gateway: GatewayClient,
) -> None:
    response = await gateway.post({"query": COUNT}, Origin=ORIGIN)
    assert response.status_code == 200
    assert response.json() == {"data": {"videoJobs": {"totalCount": 0}}}
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert listed(response.headers["access-control-expose-headers"]) == {
        "x-request-id",
        "etag",
        "retry-after",
    }
    assert "access-control-allow-credentials" not in response.headers
    assert "origin" in listed(response.headers["vary"])


async def test_a_post_from_another_origin_gets_no_cors_headers(gateway: GatewayClient) -> None:
    response = await gateway.post({"query": COUNT}, Origin=OTHER_ORIGIN)
    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert "origin" in listed(response.headers["vary"])


async def test_with_no_origins_set_a_preflight_is_refused_without_cors_headers(
    emulator: LoopbackServer,
) -> None:
    async with gateway_client(emulator.url) as gateway:
        response = await gateway.http.options(
            "/graphql", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        answer = await gateway.post({"query": COUNT}, Origin=ORIGIN)
    assert response.status_code == 405
    assert cors_headers(response) == {}
    assert cors_headers(answer) == {}


async def test_the_wildcard_origin_lets_any_page_read_answers(emulator: LoopbackServer) -> None:
    async with gateway_client(emulator.url, allowed_origins=("*",)) as gateway:
        preflight = await gateway.http.options(
            "/graphql", headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        answer = await gateway.post({"query": COUNT}, Origin=OTHER_ORIGIN)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers
