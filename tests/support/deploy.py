"""Reading deploy/ for its tests: manifests, compose files, env files, the nginx proxy, and settings."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import opentelemetry.sdk.environment_variables as otel_variables
import yaml
from starlette.routing import Route

from gateway.app import create_app
from gateway.settings import VARIABLES, Settings

ROOT = Path(__file__).resolve().parents[2]


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
