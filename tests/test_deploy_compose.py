"""deploy/compose: redis, two gateways and the nginx proxy in front of them."""

from __future__ import annotations

import re

from gateway.settings import Settings
from tests.support.deploy import (
    COMPOSE,
    ROOT,
    app_paths,
    compose,
    config_map,
    duration_seconds,
    env_file,
    interpolation_default,
    named,
    one,
    proxy,
    proxy_headers,
    proxy_location,
    proxy_server,
)

# --- compose and the proxy -------------------------------------------------------------------------


def test_compose_runs_redis_two_gateways_and_the_proxy_on_the_demo_by_default() -> None:
    services = compose()["services"]
    assert set(services) == {"emulator", "redis", "gateway-1", "gateway-2", "proxy"}
    for name in ("gateway-1", "gateway-2", "emulator"):
        service = services[name]
        assert (COMPOSE / service["build"]["context"]).resolve() == ROOT
        assert (ROOT / service["build"].get("dockerfile", "Dockerfile")).is_file()
        assert service["read_only"] is True and "/tmp" in service["tmpfs"]
        assert "ports" not in service, f"{name} is reached through the proxy only"
    for name in ("gateway-1", "gateway-2"):
        service = services[name]
        assert interpolation_default(service["env_file"]) == "demo.env"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["emulator"]["command"][0] == "emulator"
    assert env_file("demo.env")["METASTUDIO_ENDPOINT"] == "http://emulator:{}".format(
        services["emulator"]["command"][services["emulator"]["command"].index("--port") + 1]
    )
    # No persistence: Redis holds only live state, idempotency records and limits.
    assert services["redis"]["command"][services["redis"]["command"].index("--save") + 1] == ""
    assert "ports" not in services["redis"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+(-alpine)?", services["proxy"]["image"])
    assert re.fullmatch(r"redis:\d+\.\d+\.\d+(-alpine)?", services["redis"]["image"])
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["proxy"]["volumes"]
    (published,) = services["proxy"]["ports"]
    assert interpolation_default(published) == "127.0.0.1:8080:8080"
    assert one(proxy_server(), "listen")[1] == ["8080"]


def test_the_filled_in_env_file_is_ignored_by_git() -> None:
    assert "deploy/compose/gateway.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_proxy_balances_both_gateways() -> None:
    upstream = one(proxy(), "upstream", "gateways")[2]
    servers = {d[1][0] for d in named(upstream, "server")}
    port = int(config_map()["GATEWAY_PORT"])
    assert servers == {f"gateway-1:{port}", f"gateway-2:{port}"}
    for location in (proxy_location("=", "/graphql"), proxy_location("/")):
        assert one(location, "proxy_pass")[1] == ["http://gateways"]


def test_the_proxy_times_out_slow_clients_and_passes_the_request_id_and_client_address() -> None:
    server = proxy_server()
    for name in ("client_header_timeout", "client_body_timeout", "send_timeout", "proxy_connect_timeout"):
        assert named(server, name), name
    assert duration_seconds(one(server, "client_header_timeout")[1][0]) <= Settings().header_timeout
    assert duration_seconds(one(server, "client_body_timeout")[1][0]) <= Settings().body_timeout
    for location in (proxy_location("=", "/graphql"), proxy_location("/")):
        headers = proxy_headers(location)
        assert headers["x-request-id"] == "$forwarded_request_id"
        assert headers["x-forwarded-for"] == "$proxy_add_x_forwarded_for"
        assert headers["host"] == "$http_host"
    request_id = {d[0]: d[1] for d in one(proxy(), "map", "$http_x_request_id")[2]}
    assert request_id == {"default": ["$http_x_request_id"], "": ["$request_id"]}


def test_the_proxy_upgrades_websockets_and_streams_subscriptions_on_graphql() -> None:
    graphql = proxy_location("=", "/graphql")
    headers = proxy_headers(graphql)
    assert headers["upgrade"] == "$http_upgrade"
    assert headers["connection"] == "$connection_upgrade"
    upgrade = {d[0]: d[1] for d in one(proxy(), "map", "$http_upgrade")[2]}
    assert upgrade == {"default": ["upgrade"], "": [""]}
    assert one(proxy_server(), "proxy_http_version")[1] == ["1.1"]
    assert one(graphql, "proxy_buffering")[1] == ["off"]
    assert duration_seconds(one(graphql, "proxy_read_timeout")[1][0]) >= 3600


def test_the_proxy_keeps_metrics_and_readiness_inside() -> None:
    for path in ("/metrics", "/readyz"):
        location = proxy_location("=", path)
        assert one(location, "return")[1] == ["404"]
        assert not named(location, "proxy_pass")
    assert "/metrics" in app_paths() and "/readyz" in app_paths()
