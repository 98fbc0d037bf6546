"""What a caller may do: introspection and GraphiQL by setting and upstream, and what `serve` exposes."""

from __future__ import annotations

import contextlib
import hashlib
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings, SettingsError
from tests.support.gateway import PROJECT
from tests.support.servers import LoopbackServer, free_port
from tests.test_cli import clean_env, start, wait_for

QUERIES = Path(__file__).resolve().parents[1] / "queries"
DETAIL = (QUERIES / "video_job_detail.graphql").read_bytes().decode("utf-8")
STATE_CHANGED = (QUERIES / "video_job_state_changed.graphql").read_bytes().decode("utf-8")
SCHEMA_QUERY = "{ __schema { queryType { name } } }"
NOT_IN_LIST = "the operation is not in the list of trusted operations"
STATIC_ASSET = "/graphiql/static/graphiql-boot.js"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def fresh(document: str) -> str:
    return f"# {uuid.uuid4().hex}\n{document}"


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@contextlib.asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway of exactly these settings, driven in-process over HTTP."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
    ):
        yield http


def real_endpoint_settings(emulator_url: str, **env: str) -> Settings:
    """Settings as `serve` reads them in front of a real endpoint (the emulator stands in for it)."""
    return Settings.from_env(
        {
            "METASTUDIO_ENDPOINT": emulator_url,
            "METASTUDIO_PROJECT_ID": PROJECT,
            "METASTUDIO_AUTH_MODE": "token",
            **env,
        }
    )


def demo_settings(emulator_url: str, **env: str) -> Settings:
    """Settings as `serve` reads them with no endpoint, once its embedded emulator has started."""
    return Settings.from_env({"METASTUDIO_AUTH_MODE": "token", **env}).with_upstream(emulator_url)


async def ask(http: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query},
        headers={"X-Auth-Token": "alice-token", "Accept": "application/json"},
    )
    body: dict[str, Any] = response.json()
    return body


# --- Settings ---


def test_introspection_and_graphiql_are_on_for_the_demo_and_off_in_front_of_a_real_endpoint() -> None:
    demo = Settings.from_env({})
    assert (demo.introspection, demo.graphiql, demo.operations, demo.emulator_admin) == (
        True,
        True,
        "open",
        False,
    )
    real = Settings.from_env(
        {"METASTUDIO_ENDPOINT": "https://metastudio.example.com", "METASTUDIO_PROJECT_ID": "p"}
    )
    assert (real.introspection, real.graphiql, real.operations) == (False, False, "open")


@pytest.mark.parametrize(
    ("word", "value"), [("true", True), ("1", True), ("YES", True), ("no", False), ("0", False)]
)
def test_switches_take_true_false_one_zero_yes_no(word: str, value: bool) -> None:
    settings = Settings.from_env(
        {"GATEWAY_INTROSPECTION": word, "GATEWAY_GRAPHIQL": word, "METASTUDIO_EMULATOR_ADMIN": word}
    )
    assert (settings.introspection, settings.graphiql, settings.emulator_admin) == (value, value, value)


def test_bad_switch_and_mode_values_are_refused_naming_each_variable() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(
            {
                "GATEWAY_INTROSPECTION": "maybe",
                "GATEWAY_GRAPHIQL": "on-ish",
                "GATEWAY_OPERATIONS": "safelist",
                "METASTUDIO_EMULATOR_ADMIN": "sure",
            }
        )
    # In the README table's order.
    assert refused.value.problems == [
        "METASTUDIO_EMULATOR_ADMIN: 'sure' is not true or false (also 1/0, yes/no)",
        "GATEWAY_INTROSPECTION: 'maybe' is not true or false (also 1/0, yes/no)",
        "GATEWAY_GRAPHIQL: 'on-ish' is not true or false (also 1/0, yes/no)",
        "GATEWAY_OPERATIONS: 'safelist' is not one of open, trusted",
    ]
    assert Settings.from_env({"GATEWAY_OPERATIONS": "Trusted"}).operations == "trusted"


# --- Introspection ---


async def test_introspection_answers_on_the_demo_gateway(emulator: LoopbackServer) -> None:
    async with app_client(demo_settings(emulator.url)) as http:
        assert await ask(http, SCHEMA_QUERY) == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_introspection_is_refused_in_front_of_a_real_endpoint_but_typename_answers(
    emulator: LoopbackServer,
) -> None:
    async with app_client(real_endpoint_settings(emulator.url)) as http:
        for query in (
            SCHEMA_QUERY,
            '{ __type(name: "VideoJob") { name } }',
            "query Q { ...F } fragment F on Query { __schema { types { name } } }",
        ):
            body = await ask(http, query)
            assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"], query
            assert "introspection is off" in body["errors"][0]["message"]
            assert body.get("data") is None
        assert await ask(http, "{ __typename }") == {"data": {"__typename": "Query"}}


async def test_introspection_follows_its_setting_whatever_the_upstream(emulator: LoopbackServer) -> None:
    async with app_client(demo_settings(emulator.url, GATEWAY_INTROSPECTION="false")) as http:
        assert codes(await ask(http, SCHEMA_QUERY)) == ["GRAPHQL_VALIDATION_FAILED"]
    async with app_client(real_endpoint_settings(emulator.url, GATEWAY_INTROSPECTION="true")) as http:
        assert (await ask(http, SCHEMA_QUERY))["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_two_gateways_in_one_process_each_follow_their_own_introspection_setting(
    emulator: LoopbackServer,
) -> None:
    async with (
        app_client(demo_settings(emulator.url)) as on,
        app_client(real_endpoint_settings(emulator.url)) as off,
    ):
        assert "data" in await ask(on, SCHEMA_QUERY)
        assert codes(await ask(off, SCHEMA_QUERY)) == ["GRAPHQL_VALIDATION_FAILED"]
        assert "data" in await ask(on, SCHEMA_QUERY)


# --- GraphiQL ---


async def test_graphiql_and_its_assets_are_served_on_the_demo_gateway(emulator: LoopbackServer) -> None:
    async with app_client(demo_settings(emulator.url)) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert (await http.get(STATIC_ASSET)).status_code == 200


@pytest.mark.parametrize("env", [{}, {"GATEWAY_GRAPHIQL": "false"}])
async def test_without_graphiql_a_browser_get_is_a_graphql_get_without_a_query(
    emulator: LoopbackServer, env: dict[str, str]
) -> None:
    settings = real_endpoint_settings(emulator.url) if not env else demo_settings(emulator.url, **env)
    async with app_client(settings) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert page.status_code == 400
        assert "<html" not in page.text.lower()
        assert (await http.get(STATIC_ASSET)).status_code == 404


async def test_graphiql_follows_its_setting_in_front_of_a_real_endpoint(emulator: LoopbackServer) -> None:
    async with app_client(real_endpoint_settings(emulator.url, GATEWAY_GRAPHIQL="yes")) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")


# --- serve: emulator admin routes and the public demo warning ---


def stopped_output(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    return output


def test_serve_has_no_emulator_admin_routes_unless_asked() -> None:
    gateway_port, emulator_port = free_port(), free_port()
    env = clean_env(METASTUDIO_EMULATOR_PORT=str(emulator_port))
    process = start(["serve", "--port", str(gateway_port)], env)
    try:
        wait_for(f"http://127.0.0.1:{gateway_port}/readyz", process)
        emulator = f"http://127.0.0.1:{emulator_port}"
        assert httpx.get(f"{emulator}/_emulator/calls").status_code == 404
    finally:
        output = stopped_output(process)
    assert "Admin:" not in output
    assert "DEMO" not in output


def test_serve_has_emulator_admin_routes_when_asked() -> None:
    gateway_port, emulator_port = free_port(), free_port()
    env = clean_env(METASTUDIO_EMULATOR_PORT=str(emulator_port), METASTUDIO_EMULATOR_ADMIN="true")
    process = start(["serve", "--port", str(gateway_port)], env)
    try:
        wait_for(f"http://127.0.0.1:{gateway_port}/readyz", process)
        assert httpx.get(f"http://127.0.0.1:{emulator_port}/_emulator/calls").status_code == 200
    finally:
        output = stopped_output(process)
    assert f"Admin:      http://127.0.0.1:{emulator_port}/_emulator/calls" in output


def test_a_demo_gateway_on_a_public_address_warns_loudly_at_start() -> None:
    port = free_port()
    process = start(["serve", "--host", "0.0.0.0", "--port", str(port)], clean_env())  # noqa: S104
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process)
    finally:
        output = stopped_output(process)
    printed = [
        line for line in output.splitlines() if "DEMO emulator with DEMO credentials on 0.0.0.0" in line
    ]
    # Once printed for whoever watches the terminal, once logged for whoever reads the logs.
    assert len(printed) == 2, output
    assert any(" WARNING gateway " in line for line in printed), output
