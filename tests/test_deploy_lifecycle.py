"""deploy/'s probes, ports, stop times and body limits agree with the gateway's own."""

from __future__ import annotations

import re

from gateway.settings import Settings
from gateway.uploads import MULTIPART_OVERHEAD
from tests.support.deploy import (
    ENV_FILES,
    app_paths,
    compose,
    config_map,
    dockerfile,
    duration_seconds,
    env_file,
    gateway_container,
    manifest,
    nginx_size,
    one,
    proxy_server,
)

# --- probes, ports, drain and body limits ------------------------------------------------------------


def test_probes_ask_routes_the_app_serves_on_the_port_it_listens_on() -> None:
    container = gateway_container()
    (port,) = container["ports"]
    assert {"/healthz", "/readyz", "/metrics", "/graphql"} <= app_paths()
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in (port["name"], port["containerPort"])
    listening = int(config_map()["GATEWAY_PORT"])
    assert port["containerPort"] == listening
    assert re.search(rf"^ENV .*\bGATEWAY_PORT={listening}\b", dockerfile(), re.M)
    assert re.search(rf"^EXPOSE {listening}$", dockerfile(), re.M)
    assert manifest("Service")["spec"]["ports"][0]["targetPort"] in (port["name"], port["containerPort"])
    annotations = manifest("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] in app_paths()
    assert int(annotations["prometheus.io/port"]) == listening


def test_compose_healthchecks_ask_for_readiness_on_the_gateway_port() -> None:
    for name in ("gateway-1", "gateway-2"):
        command = " ".join(compose()["services"][name]["healthcheck"]["test"])
        (url,) = re.findall(r"http://127\.0\.0\.1:(\d+)(/\w+)", command)
        port, path = url
        assert path == "/readyz" and path in app_paths()
        for file in ENV_FILES:
            assert int(env_file(file).get("GATEWAY_PORT", "8000")) == int(port)
        assert re.search(rf"^ENV .*\bGATEWAY_PORT={port}\b", dockerfile(), re.M)


def test_the_grace_period_outlasts_the_pause_before_sigterm_and_the_drain() -> None:
    pod = manifest("Deployment")["spec"]["template"]["spec"]
    pause = gateway_container()["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    drain = float(config_map()["GATEWAY_DRAIN_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > int(pause[1]) + drain


def test_compose_gives_each_gateway_more_than_its_drain_time_to_stop() -> None:
    for name in ("gateway-1", "gateway-2"):
        grace = duration_seconds(compose()["services"][name]["stop_grace_period"])
        for file in ENV_FILES:
            drain = float(env_file(file).get("GATEWAY_DRAIN_SECONDS", Settings().drain_seconds))
            assert grace > drain, (name, file)


def test_the_proxy_takes_every_body_the_gateway_takes() -> None:
    limit = nginx_size(one(proxy_server(), "client_max_body_size")[1][0])
    for file in ENV_FILES:
        upload = int(env_file(file).get("GATEWAY_UPLOAD_MAX_BYTES", Settings().upload_max_bytes))
        assert limit >= upload + MULTIPART_OVERHEAD, file
