"""deploy/: the Kubernetes manifests are valid for the API, and they, the compose file and the proxy name only
settings, routes, ports and limits the gateway really has."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import opentelemetry.sdk.environment_variables as otel_variables
import pytest
import yaml
from starlette.routing import Route

from gateway.app import create_app
from gateway.settings import VARIABLES, Settings, SettingsError
from gateway.uploads import MULTIPART_OVERHEAD

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "compose"
# The oldest Kubernetes release the manifests are for. Strict: a field the API does not know fails, as
# `kubectl apply --validate=strict` would.
KUBERNETES_VERSION = "1.31.0"

# Settings the OpenTelemetry SDK reads from the environment itself, so the gateway's source need not name
# them; each is checked against the SDK's own list of its variables.
READ_BY_OPENTELEMETRY = frozenset({"OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT"})
# The variables gateway/settings.py reads by their declarations alone (gateway/variables.toml), whose
# names its source does not spell out.
DECLARED = frozenset(variable.name for variable in VARIABLES if variable.read_alone)

# A gateway setting's name wherever deploy/ mentions one, comments included.
SETTING_NAME = re.compile(r"\b(?:METASTUDIO|GATEWAY|OTEL)_[A-Z0-9_]*[A-Z0-9]\b|\bREDIS_URL\b")

# The Secret with an example value for each key the Deployment reads, but jwt-secret: with the ConfigMap's
# GATEWAY_JWKS_URL the gateway takes no HS256 secret.
EXAMPLE_SECRET = {
    "metastudio-ak": "EXAMPLEACCESSKEY0000",
    "metastudio-sk": "example-secret-access-key",
    "callback-secret": "0123456789abcdef0123456789abcdef",
    "redis-url": "redis://redis:6379/0",
}


# --- reading deploy/ ---------------------------------------------------------------------------------


@cache
def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    return loaded


@cache
def manifests() -> tuple[dict[str, Any], ...]:
    return tuple(
        document
        for name in kustomization()["resources"]
        for document in yaml.safe_load_all((KUBERNETES / name).read_text())
        if document is not None
    )


def manifest(kind: str) -> dict[str, Any]:
    (found,) = (document for document in manifests() if document["kind"] == kind)
    return found


def gateway_container() -> dict[str, Any]:
    container: dict[str, Any]
    (container,) = manifest("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def config_map() -> dict[str, str]:
    data: dict[str, str] = manifest("ConfigMap")["data"]
    return data


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    return loaded


def env_file(name: str) -> dict[str, str]:
    """A compose env file's assignments; commented lines are left out."""
    values = {}
    for line in (COMPOSE / name).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


ENV_FILES = ("demo.env", "gateway.env.example")


def interpolation_default(value: str) -> str:
    """`${NAME:-default}` in the compose file, as Compose reads it with NAME unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def duration_seconds(value: str) -> float:
    """A Compose or nginx duration such as 20s, 1m30s or 1h."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", value)
    assert parts and "".join(number + unit for number, unit in parts) == value, value
    return sum(int(number) * units[unit] for number, unit in parts)


def nginx_size(value: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    match = re.fullmatch(r"(\d+)([kmg]?)", value.lower())
    assert match, value
    return int(match.group(1)) * units[match.group(2)]


Directive = tuple[str, list[str], list["Directive"]]
# A comment (a # where a token would start), a quoted string, a brace or semicolon, or a word.
_NGINX_TOKEN = re.compile(r'#[^\n]*|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[{};]|[^\s{};"\'#][^\s{};]*')


def nginx_config(text: str) -> list[Directive]:
    """nginx's configuration as (name, arguments, block) triples; a directive without a block has []."""
    tokens = [
        token[1:-1] if token[0] in "\"'" else token
        for token in _NGINX_TOKEN.findall(text)
        if not token.startswith("#")
    ]

    def block(position: int) -> tuple[list[Directive], int]:
        directives: list[Directive] = []
        words: list[str] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token == ";":
                directives.append((words[0], words[1:], []))
                words = []
            elif token == "{":
                inner, position = block(position)
                directives.append((words[0], words[1:], inner))
                words = []
            elif token == "}":
                return directives, position
            else:
                words.append(token)
        assert not words, f"unterminated directive {words}"
        return directives, position

    return block(0)[0]


@cache
def proxy() -> list[Directive]:
    return nginx_config((COMPOSE / "nginx.conf").read_text())


def named(directives: list[Directive], name: str) -> list[Directive]:
    return [directive for directive in directives if directive[0] == name]


def one(directives: list[Directive], name: str, *arguments: str) -> Directive:
    (found,) = (d for d in named(directives, name) if d[1][: len(arguments)] == list(arguments))
    return found


def proxy_server() -> list[Directive]:
    return one(proxy(), "server")[2]


def proxy_location(*arguments: str) -> list[Directive]:
    return one(proxy_server(), "location", *arguments)[2]


def proxy_headers(location: list[Directive]) -> dict[str, str]:
    """The headers a location sets on proxied requests: its own proxy_set_header lines when it has any,
    else the server's (nginx inherits them only into a level that sets none of its own)."""
    lines = named(location, "proxy_set_header") or named(proxy_server(), "proxy_set_header")
    return {arguments[0].lower(): arguments[1] for _, arguments, _ in lines}


# --- what the gateway has --------------------------------------------------------------------------


@cache
def settings_table() -> frozenset[str]:
    """The variables of README.md's settings table."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return frozenset(names)


@cache
def gateway_strings() -> frozenset[str]:
    """Every string literal in the gateway's source: a setting the gateway reads is named by one."""
    strings = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    return frozenset(strings)


def unknown_settings(names: set[str]) -> dict[str, str]:
    """Each name that is not a real setting, with what it lacks."""
    unknown = {}
    for name in sorted(names):
        read = (
            name in gateway_strings()
            or name in DECLARED
            or (name in READ_BY_OPENTELEMETRY and getattr(otel_variables, name, None) == name)
        )
        documented = name in settings_table()
        if not (read and documented):
            checks = (("read by gateway/", read), ("in README's table", documented))
            lacks = [what for what, has in checks if not has]
            unknown[name] = "not " + " nor ".join(lacks)
    return unknown


def deploy_files() -> Iterator[Path]:
    """deploy/'s files, and the image they run; not a filled-in gateway.env, which git ignores."""
    yield ROOT / "Dockerfile"
    yield from (path for path in sorted(DEPLOY.rglob("*")) if path.is_file() and path.name != "gateway.env")


def named_variables() -> set[str]:
    """Every environment variable deploy/ sets or names: the ConfigMap's keys, the Deployment's env, the
    compose services' environment, the env files' assignments, and any setting a comment, a doc or the
    Dockerfile mentions."""
    names = set(config_map())
    container = gateway_container()
    names.update(variable["name"] for variable in container.get("env", []))
    for service in compose()["services"].values():
        environment = service.get("environment", {})
        names.update(environment if isinstance(environment, dict) else (e.split("=")[0] for e in environment))
    for name in ENV_FILES:
        names.update(env_file(name))
    for path in deploy_files():
        names.update(SETTING_NAME.findall(path.read_text()))
    return names


@cache
def app_paths() -> frozenset[str]:
    app = create_app(Settings(endpoint="http://127.0.0.1:9", project_id="p"))
    return frozenset(route.path for route in app.routes if isinstance(route, Route))


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


# --- Kubernetes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", kustomization()["resources"])
def test_every_manifest_is_valid_for_the_pinned_kubernetes_release(name: str) -> None:
    documents = [d for d in yaml.safe_load_all((KUBERNETES / name).read_text()) if d is not None]
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_strict_validation_refuses_a_field_the_api_does_not_know() -> None:
    deployment = yaml.safe_load((KUBERNETES / "deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGets"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="httpGets"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_names_every_manifest_and_replaces_the_image() -> None:
    on_disk = {path.name for path in KUBERNETES.glob("*.y*ml")} - {"kustomization.yaml"}
    assert sorted(kustomization()["resources"]) == sorted(on_disk)
    assert {d["kind"] for d in manifests()} == {
        "ConfigMap",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    }
    (image,) = kustomization()["images"]
    assert image["name"] == gateway_container()["image"]


def test_the_deployment_runs_two_locked_down_replicas_with_their_settings() -> None:
    deployment = manifest("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = gateway_container()
    assert deployment["spec"]["replicas"] >= 2
    autoscaler = manifest("HorizontalPodAutoscaler")["spec"]
    assert autoscaler["minReplicas"] >= 2
    assert autoscaler["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert container["envFrom"] == [{"configMapRef": {"name": manifest("ConfigMap")["metadata"]["name"]}}]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"requests", "limits"} <= set(container["resources"])
    assert pod["topologySpreadConstraints"]
    # The image's user is a number runAsNonRoot can check, the one the pod runs as.
    assert re.search(r"^USER (\d+)(?::\d+)?$", dockerfile(), re.M)
    assert f"USER {pod['securityContext']['runAsUser']}" in dockerfile()
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert manifest("Service")["spec"]["selector"] == selector
    assert manifest("PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector


def test_secrets_come_from_the_secret_the_readme_creates() -> None:
    references = {
        variable["name"]: variable["valueFrom"]["secretKeyRef"]
        for variable in gateway_container()["env"]
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    assert set(references) == {
        "METASTUDIO_AK",
        "METASTUDIO_SK",
        "GATEWAY_JWT_SECRET",
        "GATEWAY_CALLBACK_SECRET",
        "REDIS_URL",
    }
    assert not set(references) & set(config_map()), "a secret setting in the ConfigMap"
    assert references["GATEWAY_JWT_SECRET"]["optional"] is True, "GATEWAY_JWKS_URL may be used instead"
    readme = (DEPLOY / "README.md").read_text()
    (secret_name,) = {reference["name"] for reference in references.values()}
    assert f"kubectl create secret generic {secret_name}" in readme
    for reference in references.values():
        assert f"--from-literal={reference['key']}=" in readme or f"--from-file={reference['key']}=" in readme


# --- settings --------------------------------------------------------------------------------------


def test_every_variable_deploy_names_is_a_documented_setting_the_gateway_reads() -> None:
    assert unknown_settings(named_variables()) == {}


def test_a_renamed_setting_would_be_caught() -> None:
    assert unknown_settings({"GATEWAY_DRAIN_SECONDS", "REDIS_URL"}) == {}
    assert all(getattr(otel_variables, name) == name for name in READ_BY_OPENTELEMETRY)
    assert unknown_settings({"GATEWAY_DRAIN_SECOND"}) == {
        "GATEWAY_DRAIN_SECOND": "not read by gateway/ nor in README's table"
    }


def test_the_configmap_and_secret_make_settings_the_gateway_accepts() -> None:
    secret_keys = {
        variable["name"]: variable.get("valueFrom", {}).get("secretKeyRef", {}).get("key")
        for variable in gateway_container()["env"]
    }
    from_secret = {name: EXAMPLE_SECRET[key] for name, key in secret_keys.items() if key in EXAMPLE_SECRET}
    settings = Settings.from_env({**config_map(), **from_secret})
    assert settings.endpoint is not None and settings.auth_mode == "aksk"
    assert settings.client_auth == "jwt"
    assert settings.redis_url and settings.public_url and settings.callback_secret
    assert not settings.introspection and not settings.graphiql and settings.operations == "trusted"


def test_the_demo_env_file_is_a_working_configuration() -> None:
    settings = Settings.from_env(env_file("demo.env"))
    assert settings.endpoint == "http://emulator:8001"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.public_url and settings.callback_secret


def test_the_example_env_file_refuses_to_start_until_its_placeholder_key_is_replaced() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env_file("gateway.env.example"))
    assert refused.value.problems and all(
        problem.startswith("GATEWAY_CALLBACK_SECRET:") for problem in refused.value.problems
    )
    Settings.from_env({**env_file("gateway.env.example"), "GATEWAY_CALLBACK_SECRET": "x" * 32})


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
