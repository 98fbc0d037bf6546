"""Settings are read from the environment and refused with a message naming each bad variable."""

import dataclasses
import re
from pathlib import Path

import pytest

import gateway.settings as settings_module
from gateway.settings import VARIABLES, Settings, SettingsError
from gateway.variables import Variable, load_declarations, readme_table

CLOUD = {"METASTUDIO_ENDPOINT": "https://metastudio.example.com", "METASTUDIO_PROJECT_ID": "p1"}


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    return info.value.problems


def test_no_environment_runs_on_the_embedded_emulator_with_a_key_pair_of_its_own() -> None:
    settings = Settings.from_env({})
    assert settings.uses_emulator
    assert settings.auth_mode == "aksk"
    assert settings.project_id == "demo-project"
    assert settings.call_budget == 200
    assert settings.upload_max_bytes == 10 * 1024 * 1024


def test_a_real_endpoint_defaults_to_forwarding_client_tokens() -> None:
    settings = Settings.from_env(CLOUD)
    assert settings.endpoint == "https://metastudio.example.com"
    assert settings.auth_mode == "token"


def test_an_unknown_auth_mode_is_named() -> None:
    assert problems({"METASTUDIO_AUTH_MODE": "kerberos"}) == [
        "METASTUDIO_AUTH_MODE: 'kerberos' is not one of token, aksk"
    ]


def test_aksk_against_the_cloud_needs_both_keys() -> None:
    found = problems({**CLOUD, "METASTUDIO_AUTH_MODE": "aksk"})
    assert "METASTUDIO_AK: required when METASTUDIO_AUTH_MODE is aksk" in found
    assert "METASTUDIO_SK: required when METASTUDIO_AUTH_MODE is aksk" in found


def test_a_key_without_its_secret_is_refused() -> None:
    found = problems({**CLOUD, "METASTUDIO_AK": "AK1"})
    assert found == ["METASTUDIO_SK: METASTUDIO_AK and METASTUDIO_SK must be set together"]


@pytest.mark.parametrize(
    "endpoint",
    [
        "metastudio.example.com",
        "ftp://metastudio.example.com",
        "https://",
        "https://h:99999",
        "https://h/?q=1",
    ],
)
def test_a_malformed_endpoint_is_refused(endpoint: str) -> None:
    found = problems({**CLOUD, "METASTUDIO_ENDPOINT": endpoint})
    assert len(found) == 1 and found[0].startswith("METASTUDIO_ENDPOINT:")


def test_a_cloud_endpoint_needs_a_project_id() -> None:
    assert problems({"METASTUDIO_ENDPOINT": "https://m.example.com"}) == [
        "METASTUDIO_PROJECT_ID: required when METASTUDIO_ENDPOINT is set"
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"GATEWAY_PORT": "eighty", "METASTUDIO_READ_TIMEOUT": "-1", "REDIS_URL": "http://x"})
    # Those read alone in the README table's order, after those read with others.
    assert found == [
        "REDIS_URL: must start with redis://, rediss:// or unix://",
        "METASTUDIO_READ_TIMEOUT: '-1' is not a positive number",
        "GATEWAY_PORT: 'eighty' is not a port number (0-65535)",
    ]


def test_secrets_stay_out_of_the_settings_repr_and_errors() -> None:
    settings = Settings.from_env(
        {
            **CLOUD,
            "METASTUDIO_AK": "AK-VISIBLE",
            "METASTUDIO_SK": "sk-very-secret",
            "GATEWAY_CLIENT_AUTH": "none",
        }
    )
    assert "sk-very-secret" not in repr(settings)
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**CLOUD, "METASTUDIO_SK": "sk-very-secret", "METASTUDIO_AUTH_MODE": "nope"})
    assert "sk-very-secret" not in str(info.value)


def test_allowed_origins_are_a_comma_list() -> None:
    settings = Settings.from_env({"GATEWAY_ALLOWED_ORIGINS": "https://a.example, https://b.example"})
    assert settings.allowed_origins == ("https://a.example", "https://b.example")


def test_live_update_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_POLL_INTERVAL": "0.5",
            "GATEWAY_MAX_SUBSCRIPTIONS": "500",
            "GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION": "7",
            "GATEWAY_MAX_SUBSCRIPTIONS_PER_CALLER": "40",
            "GATEWAY_CALLBACK_SECRET": "0123456789abcdef",
        }
    )
    assert settings.poll_interval == 0.5
    assert settings.max_subscriptions == 500
    assert settings.max_subscriptions_per_connection == 7
    assert settings.max_subscriptions_per_caller == 40
    assert Settings.from_env({}).max_subscriptions_per_caller == 500
    assert settings.callback_secret == "0123456789abcdef"
    assert "0123456789abcdef" not in repr(settings)
    assert problems({"GATEWAY_POLL_INTERVAL": "0"}) == ["GATEWAY_POLL_INTERVAL: '0' is not a positive number"]
    assert problems({"GATEWAY_MAX_SUBSCRIPTIONS_PER_CALLER": "0"}) == [
        "GATEWAY_MAX_SUBSCRIPTIONS_PER_CALLER: '0' is not a whole number of at least 1"
    ]


def test_replicas_with_callbacks_must_share_a_callback_secret() -> None:
    found = problems(
        {"GATEWAY_PUBLIC_URL": "https://gw.example.com", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    )
    assert found == [
        "GATEWAY_CALLBACK_SECRET: required with GATEWAY_PUBLIC_URL and REDIS_URL, so that every "
        "replica accepts the callbacks the others signed"
    ]
    assert problems({"GATEWAY_CALLBACK_SECRET": "short"}) == [
        "GATEWAY_CALLBACK_SECRET: must be at least 16 characters"
    ]


def test_rate_limits_are_read_checked_and_may_be_turned_off() -> None:
    defaults = Settings.from_env({})
    assert (defaults.rate_limit_per_second, defaults.rate_limit_burst) == (50.0, 500)
    assert (defaults.create_rate_limit_per_second, defaults.create_rate_limit_burst) == (2.0, 10)
    settings = Settings.from_env(
        {
            "GATEWAY_RATE_LIMIT_PER_SECOND": "2.5",
            "GATEWAY_RATE_LIMIT_BURST": "5",
            "GATEWAY_CREATE_RATE_LIMIT_PER_SECOND": "off",
            "GATEWAY_CREATE_RATE_LIMIT_BURST": "3",
        }
    )
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (2.5, 5)
    assert (settings.create_rate_limit_per_second, settings.create_rate_limit_burst) == (0.0, 3)
    assert Settings.from_env({"GATEWAY_RATE_LIMIT_PER_SECOND": "0"}).rate_limit_per_second == 0.0
    assert problems({"GATEWAY_RATE_LIMIT_PER_SECOND": "-1", "GATEWAY_CREATE_RATE_LIMIT_BURST": "0"}) == [
        "GATEWAY_RATE_LIMIT_PER_SECOND: '-1' is not a positive number, or 0 or off",
        "GATEWAY_CREATE_RATE_LIMIT_BURST: '0' is not a whole number of at least 1",
    ]


def test_read_cache_settings_are_read_checked_and_may_be_turned_off() -> None:
    defaults = Settings.from_env({})
    built = Settings()
    assert (defaults.read_cache_seconds, defaults.read_cache_terminal_seconds) == (1.0, 300.0)
    assert (built.read_cache_seconds, built.read_cache_terminal_seconds) == (1.0, 300.0)
    assert (defaults.read_cache_max_entries, defaults.read_cache_max_bytes) == (10_000, 64 * 1024 * 1024)
    settings = Settings.from_env(
        {
            "GATEWAY_READ_CACHE_SECONDS": "off",
            "GATEWAY_READ_CACHE_TERMINAL_SECONDS": "60",
            "GATEWAY_READ_CACHE_MAX_ENTRIES": "100",
            "GATEWAY_READ_CACHE_MAX_BYTES": "1000000",
        }
    )
    assert (settings.read_cache_seconds, settings.read_cache_terminal_seconds) == (0.0, 60.0)
    assert (settings.read_cache_max_entries, settings.read_cache_max_bytes) == (100, 1_000_000)
    assert problems({"GATEWAY_READ_CACHE_SECONDS": "-1", "GATEWAY_READ_CACHE_MAX_ENTRIES": "0"}) == [
        "GATEWAY_READ_CACHE_SECONDS: '-1' is not a number of seconds, 0 or more (or off)",
        "GATEWAY_READ_CACHE_MAX_ENTRIES: '0' is not a whole number of at least 1",
    ]
    assert problems({"GATEWAY_READ_CACHE_SECONDS": "5", "GATEWAY_READ_CACHE_TERMINAL_SECONDS": "2"}) == [
        "GATEWAY_READ_CACHE_TERMINAL_SECONDS: must not be less than GATEWAY_READ_CACHE_SECONDS"
    ]


def test_execution_is_planned_unless_the_environment_names_another_mode() -> None:
    assert Settings.from_env({}).execution == Settings().execution == "planned"
    assert Settings.from_env({"GATEWAY_EXECUTION": "Standard"}).execution == "standard"
    assert Settings.from_env({"GATEWAY_EXECUTION": "direct"}).execution == "direct"
    assert problems({"GATEWAY_EXECUTION": "fast"}) == [
        "GATEWAY_EXECUTION: 'fast' is not one of planned, direct, standard"
    ]


# One declaration per variable (gateway/variables.toml)

README = Path(__file__).resolve().parents[1] / "README.md"
DECLARED = {name for variable in VARIABLES for name in (variable.name, variable.also) if name}


def test_the_readme_settings_table_is_the_one_the_declarations_make() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| variable | default | meaning |")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    # On a difference: `python -m gateway.variables` prints the table to put in the README.
    assert lines[start:end] == readme_table(VARIABLES, Settings())


def test_every_variable_the_settings_read_is_declared() -> None:
    source = Path(settings_module.__file__).read_text(encoding="utf-8")
    named = set(re.findall(r'"((?:METASTUDIO|GATEWAY|OTEL|REDIS)_[A-Z_]+)', source))
    assert named - DECLARED == set()


@pytest.mark.parametrize(
    "variable", [v for v in VARIABLES if v.read_alone], ids=lambda variable: variable.name
)
def test_each_variable_read_alone_is_refused_by_its_own_rule(variable: Variable) -> None:
    assert variable.kind is not None
    assert problems({variable.name: "not-a-value"}) == [
        f"{variable.name}: 'not-a-value' is not {variable.kind.rule}"
    ]


@pytest.mark.parametrize(
    ("declaration", "problem"),
    [
        ('[A]\nmeaning = "m"\nfield = "port"\nkind = "weekday"', "A: kind 'weekday' is none of"),
        ('[A]\nmeaning = "m"\nfield = "no_such_field"\nkind = "port"', "A: Settings has no field"),
        ('[A]\nmeaning = "m"\nfield = "port"', "A: a field and a kind go together"),
        ('[A]\nfield = "port"\nkind = "port"', "A: no meaning"),
        ('[A]\nmeaning = "m"', "A: read with others, it needs the words for its default"),
        ('[A]\nmeaning = "m"\ndefualt = "x"', "A: unknown keys defualt"),
    ],
)
def test_a_declaration_that_cannot_be_read_is_named(declaration: str, problem: str) -> None:
    fields = {field.name for field in dataclasses.fields(Settings)}
    with pytest.raises(ValueError, match=re.escape(problem)):
        load_declarations(declaration, fields)
