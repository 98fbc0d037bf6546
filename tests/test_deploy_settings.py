"""The settings deploy/ names are ones the gateway reads, and its env files configure a gateway."""

from __future__ import annotations

import opentelemetry.sdk.environment_variables as otel_variables
import pytest

from gateway.settings import Settings, SettingsError
from tests.support.deploy import (
    EXAMPLE_SECRET,
    READ_BY_OPENTELEMETRY,
    config_map,
    env_file,
    gateway_container,
    named_variables,
    unknown_settings,
)

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
