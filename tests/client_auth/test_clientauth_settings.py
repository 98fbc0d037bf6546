"""Client authentication settings: off by default, required before a real endpoint, named problems."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gateway.settings import Settings, SettingsError
from tests.support.client_auth import AUDIENCE, CLOUD, ISSUER, SECRET
from tests.test_cli import clean_env

# --- Settings ---


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    return refused.value.problems


def test_client_auth_is_off_by_default_and_the_emulator_demo_needs_no_header() -> None:
    demo = Settings.from_env({})
    assert demo.auth_mode == "aksk"
    assert demo.client_auth == "none"
    assert (demo.jwt_secret, demo.jwks_url, demo.jwt_issuer, demo.jwt_audience) == (None, None, None, None)
    assert (demo.jwt_user_claim, demo.jwt_leeway) == ("sub", 30.0)
    # Forwarding each caller's IAM token needs no client authentication of the gateway's own either.
    assert Settings.from_env({**CLOUD, "METASTUDIO_AUTH_MODE": "token"}).client_auth == "none"


def test_a_real_endpoint_in_aksk_mode_refuses_to_start_until_client_auth_is_chosen() -> None:
    [problem] = problems(CLOUD)
    assert problem.startswith("GATEWAY_CLIENT_AUTH: required with METASTUDIO_ENDPOINT in aksk mode")
    assert "set jwt" in problem and "or none" in problem
    assert Settings.from_env({**CLOUD, "GATEWAY_CLIENT_AUTH": "none"}).client_auth == "none"
    settings = Settings.from_env(
        {
            **CLOUD,
            "GATEWAY_CLIENT_AUTH": "JWT",
            "GATEWAY_JWKS_URL": "https://id.example.com/jwks.json",
            "GATEWAY_JWT_ISSUER": ISSUER,
            "GATEWAY_JWT_AUDIENCE": AUDIENCE,
            "GATEWAY_JWT_USER_CLAIM": "uid",
            "GATEWAY_JWT_LEEWAY_SECONDS": "5",
        }
    )
    assert (settings.client_auth, settings.jwks_url, settings.jwt_issuer, settings.jwt_audience) == (
        "jwt",
        "https://id.example.com/jwks.json",
        ISSUER,
        AUDIENCE,
    )
    assert (settings.jwt_user_claim, settings.jwt_leeway) == ("uid", 5.0)


def test_serve_refuses_to_start_in_front_of_a_real_endpoint_in_aksk_mode_without_client_auth() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"],
        env=clean_env(**CLOUD),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "GATEWAY_CLIENT_AUTH: required with METASTUDIO_ENDPOINT in aksk mode" in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"GATEWAY_CLIENT_AUTH": "oauth"},
            ["GATEWAY_CLIENT_AUTH: 'oauth' is not one of none, jwt"],
        ),
        (
            {"GATEWAY_CLIENT_AUTH": "jwt"},
            ["GATEWAY_CLIENT_AUTH: jwt needs GATEWAY_JWT_SECRET (HS256) or GATEWAY_JWKS_URL (RS256, ES256)"],
        ),
        (
            {
                "GATEWAY_CLIENT_AUTH": "jwt",
                "GATEWAY_JWT_SECRET": SECRET,
                "GATEWAY_JWKS_URL": "https://id.example.com/jwks.json",
            },
            ["GATEWAY_JWKS_URL: set either it or GATEWAY_JWT_SECRET, not both"],
        ),
        (
            {"GATEWAY_CLIENT_AUTH": "jwt", "GATEWAY_JWT_SECRET": "short-secret-of-31-bytes-xxxxxx"},
            ["GATEWAY_JWT_SECRET: must be at least 32 bytes for HS256"],
        ),
        (
            {"GATEWAY_CLIENT_AUTH": "jwt", "GATEWAY_JWKS_URL": "http://id.example.com/jwks.json"},
            [
                "GATEWAY_JWKS_URL: must be an https:// URL with a host and no credentials "
                "(http:// only on a loopback host)"
            ],
        ),
        (
            {"GATEWAY_CLIENT_AUTH": "jwt", "GATEWAY_JWKS_URL": "https://user:pw@id.example.com/jwks.json"},
            [
                "GATEWAY_JWKS_URL: must be an https:// URL with a host and no credentials "
                "(http:// only on a loopback host)"
            ],
        ),
        (
            {"GATEWAY_JWT_SECRET": SECRET, "GATEWAY_JWT_AUDIENCE": AUDIENCE},
            [
                "GATEWAY_JWT_SECRET: set, but GATEWAY_CLIENT_AUTH is not jwt",
                "GATEWAY_JWT_AUDIENCE: set, but GATEWAY_CLIENT_AUTH is not jwt",
            ],
        ),
        (
            {"GATEWAY_CLIENT_AUTH": "jwt", "GATEWAY_JWT_SECRET": SECRET, "GATEWAY_JWT_LEEWAY_SECONDS": "900"},
            ["GATEWAY_JWT_LEEWAY_SECONDS: '900' is not a number of seconds from 0 to 300"],
        ),
    ],
    ids=[
        "unknown-mode",
        "no-key",
        "both-keys",
        "short-secret",
        "plain-http-jwks",
        "jwks-credentials",
        "jwt-settings-without-jwt",
        "leeway",
    ],
)
def test_client_auth_settings_problems_name_their_variable(env: dict[str, str], expected: list[str]) -> None:
    assert problems(env) == expected


def test_jwt_in_token_mode_is_refused_since_the_bearer_is_the_callers_iam_token() -> None:
    found = problems(
        {**CLOUD, "METASTUDIO_AUTH_MODE": "token", "GATEWAY_CLIENT_AUTH": "jwt", "GATEWAY_JWT_SECRET": SECRET}
    )
    assert found == [
        "GATEWAY_CLIENT_AUTH: jwt needs METASTUDIO_AUTH_MODE=aksk; in token mode the bearer token is the "
        "caller's IAM token, which the gateway forwards to MetaStudio"
    ]


def test_a_jwks_on_this_machine_may_be_plain_http() -> None:
    settings = Settings.from_env(
        {"GATEWAY_CLIENT_AUTH": "jwt", "GATEWAY_JWKS_URL": "http://127.0.0.1:8080/jwks.json"}
    )
    assert settings.jwks_url == "http://127.0.0.1:8080/jwks.json"


def test_the_jwt_secret_stays_out_of_the_settings_repr_and_errors() -> None:
    settings = Settings.from_env({"GATEWAY_CLIENT_AUTH": "jwt", "GATEWAY_JWT_SECRET": SECRET})
    assert SECRET not in repr(settings)
    short = "a-secret-too-short-to-use"
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"GATEWAY_CLIENT_AUTH": "jwt", "GATEWAY_JWT_SECRET": short})
    assert short not in str(refused.value)
