"""Client authentication with bearer JWTs (GATEWAY_CLIENT_AUTH=jwt), as callers see it over HTTP and
WebSockets: real RSA, EC and HMAC keys, real signed tokens, a real JWKS served over HTTP whose keys the
tests rotate, and the emulator behind the gateway keeping each end user's jobs apart."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import orjson
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.settings import Settings, SettingsError
from tests.schema.test_video_mutations import VIDEO_INPUT
from tests.support.gateway import AK, PROJECT, SK, GatewayClient
from tests.support.servers import LoopbackServer, serve
from tests.test_cli import clean_env

ISSUER = "https://id.example.com/"
AUDIENCE = "metastudio-gateway"
SECRET = "a-shared-hs256-secret-of-forty-bytes-00"
CLOUD = {
    "METASTUDIO_ENDPOINT": "https://metastudio.example.com",
    "METASTUDIO_PROJECT_ID": "p1",
    "METASTUDIO_AK": "AK1",
    "METASTUDIO_SK": "SK1",
}
JWKS_PATH = "/.well-known/jwks.json"
TIMEOUT = 20.0
# So slow that no token comes back during a test: a bucket holds only its burst.
NO_REFILL = 0.001

LIST = "{ videoJobs(first: 20) { edges { node { jobId } } } }"
DETAIL = "query ($jobId: String!) { videoJob(jobId: $jobId) { jobId state } }"
CREATE = """
mutation ($input: CreateVideoJobInput!) {
  createVideoJob(input: $input) { job { jobId } userErrors { code message } }
}
"""
SUBSCRIBE = "subscription ($jobId: String!) { videoJobStateChanged(jobId: $jobId) { jobId state } }"


# --- Keys, tokens and the identity provider ---


@dataclass(frozen=True)
class SigningKey:
    """An identity provider's private key; its public half is what the JWKS publishes."""

    kid: str
    algorithm: str
    private: Any

    @classmethod
    def rsa(cls, kid: str) -> SigningKey:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ec(cls, kid: str) -> SigningKey:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        family: Any = RSAAlgorithm if self.algorithm == "RS256" else ECAlgorithm
        public: dict[str, Any] = family.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> bytes:
        pem: bytes = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid})


def claims(sub: object = "alice", *, expires_in: float = 300, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    found: dict[str, Any] = {
        "sub": sub,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + int(expires_in),
    }
    found.update(extra)
    return {k: v for k, v in found.items() if v is not None}


def hs256(sub: str = "alice", secret: str = SECRET, **extra: Any) -> str:
    return jwt.encode(claims(sub, **extra), secret, algorithm="HS256")


def unsigned(claims_set: dict[str, Any]) -> str:
    return jwt.encode(claims_set, "", algorithm="none")


def hmac_keyed_with(public_key: bytes, claims_set: dict[str, Any], kid: str) -> str:
    """The algorithm confusion attack: HS256 keyed with the issuer's public key, which anyone can read
    (PyJWT refuses to make one, so it is put together by hand)."""

    def part(value: bytes) -> bytes:
        return base64.urlsafe_b64encode(value).rstrip(b"=")

    signing_input = (
        part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        + b"."
        + part(json.dumps(claims_set).encode())
    )
    signature = hmac.new(public_key, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + part(signature)).decode()


@pytest.fixture(scope="module")
def key1() -> SigningKey:
    return SigningKey.rsa("rsa-2024")


@pytest.fixture(scope="module")
def key2() -> SigningKey:
    return SigningKey.rsa("rsa-2025")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.ec("ec-2025")


class IdentityProvider:
    """A JWKS over HTTP whose published keys a test swaps; it counts the times it was fetched."""

    def __init__(self) -> None:
        self.keys: list[SigningKey] = []
        self.fetches = 0
        self.status = 200
        self.delay = 0.0

    def publish(self, *keys: SigningKey) -> None:
        self.keys = list(keys)

    def app(self) -> Starlette:
        async def jwks(request: Request) -> JSONResponse:
            self.fetches += 1
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.status != 200:
                return JSONResponse({"error": "unavailable"}, status_code=self.status)
            return JSONResponse({"keys": [key.jwk() for key in self.keys]})

        return Starlette(routes=[Route(JWKS_PATH, jwks)])


@dataclass
class Issuer:
    provider: IdentityProvider
    url: str

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH


@pytest.fixture
def idp(key1: SigningKey, ec_key: SigningKey) -> Iterator[Issuer]:
    provider = IdentityProvider()
    provider.publish(key1, ec_key)
    with serve(provider.app()) as server:
        yield Issuer(provider, server.url)


class Clock:
    """The JWKS cache's clock, moved by the test instead of waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- The gateway ---


def jwt_settings(emulator_url: str, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "endpoint": emulator_url,
        "project_id": PROJECT,
        "auth_mode": "aksk",
        "ak": AK,
        "sk": SK,
        "max_retries": 0,
        "client_auth": "jwt",
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "poll_interval": 0.1,
        "fast_poll_interval": 0.1,
        # Jobs are moved behind the gateway's back and read at once (tests/test_read_cache.py keeps answers).
        "read_cache_seconds": 0.0,
    }
    fields.update(overrides)
    return Settings(**fields)


@dataclass
class Gateway:
    app: Starlette
    client: GatewayClient
    clock: Clock

    async def ask(
        self,
        document: str,
        bearer: str | None,
        variables: dict[str, Any] | None = None,
        **headers: str,
    ) -> httpx.Response:
        sent = {**headers, **({"Authorization": f"Bearer {bearer}"} if bearer is not None else {})}
        return await self.client.post({"query": document, "variables": variables or {}}, None, **sent)

    async def data(self, document: str, bearer: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.ask(document, bearer, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def create_video(self, bearer: str, idempotency_key: str | None = None) -> str:
        job_input = {**VIDEO_INPUT, **({"idempotencyKey": idempotency_key} if idempotency_key else {})}
        created = (await self.data(CREATE, bearer, {"input": job_input}))["createVideoJob"]
        assert created["userErrors"] == [], created
        job_id: str = created["job"]["jobId"]
        return job_id

    async def job_ids(self, bearer: str) -> set[str]:
        edges = (await self.data(LIST, bearer))["videoJobs"]["edges"]
        return {edge["node"]["jobId"] for edge in edges}

    async def metrics(self) -> str:
        return (await self.client.http.get("/metrics")).text


@contextlib.asynccontextmanager
async def jwt_gateway(emulator_url: str, **overrides: Any) -> AsyncIterator[Gateway]:
    """The gateway in front of the emulator in aksk mode, checking bearer JWTs, driven in-process."""
    app = create_app(jwt_settings(emulator_url, **overrides))
    clock = Clock()
    if app.state.client_auth.keys is not None:
        app.state.client_auth.keys.clock = clock
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
        httpx.AsyncClient(base_url=emulator_url) as emulator,
    ):
        yield Gateway(app, GatewayClient(http, emulator), clock)


@pytest.fixture
async def gateway(emulator: LoopbackServer, idp: Issuer) -> AsyncIterator[Gateway]:
    async with jwt_gateway(emulator.url, jwks_url=idp.jwks_url) as gateway:
        yield gateway


@pytest.fixture
async def hs_gateway(emulator: LoopbackServer) -> AsyncIterator[Gateway]:
    async with jwt_gateway(emulator.url, jwt_secret=SECRET) as gateway:
        yield gateway


def assert_unauthenticated(response: httpx.Response, reason: str, words: str) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    body: dict[str, Any] = response.json()
    assert "data" not in body
    errors: list[dict[str, Any]] = body["errors"]
    [error] = errors
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}
    assert words in error["message"]
    challenge = response.headers["WWW-Authenticate"]
    if reason == "missing":
        assert challenge == "Bearer"
    else:
        assert challenge.startswith('Bearer error="invalid_token", error_description="')
    return error


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


# --- Who the caller is ---


async def test_a_valid_token_reads_its_users_jobs_and_not_another_users(
    gateway: Gateway, key1: SigningKey, ec_key: SigningKey
) -> None:
    alice, bob = key1.sign(claims("alice")), ec_key.sign(claims("bob"))
    mine = await gateway.create_video(alice)
    theirs = await gateway.create_video(bob)

    assert await gateway.job_ids(alice) == {mine}
    assert await gateway.job_ids(bob) == {theirs}
    hidden = (await gateway.ask(DETAIL, bob, {"jobId": mine})).json()
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Each upstream call went out signed by the gateway, for the end user the token names.
    principals = {call["principal"] for call in await gateway.client.calls()}
    assert principals == {f"ak:{AK}/user:alice", f"ak:{AK}/user:bob"}


async def test_the_user_claim_can_be_another_claim(
    emulator: LoopbackServer, idp: Issuer, key1: SigningKey
) -> None:
    async with jwt_gateway(emulator.url, jwks_url=idp.jwks_url, jwt_user_claim="uid") as gateway:
        await gateway.data(LIST, key1.sign(claims("ignored", uid="carol")))
        [call] = await gateway.client.calls()
    assert call["principal"] == f"ak:{AK}/user:carol"


async def test_a_token_expired_within_the_leeway_is_still_accepted(
    gateway: Gateway, key1: SigningKey
) -> None:
    assert await gateway.job_ids(key1.sign(claims("alice", expires_in=-10))) == set()


def refused_tokens(key1: SigningKey, impostor: SigningKey) -> dict[str, tuple[str | None, str, str]]:
    """Each refused token: what it is, the reason the gateway names, and words of its message."""
    now = int(time.time())
    return {
        "missing": (None, "missing", "send a bearer JWT as Authorization: Bearer <token>"),
        "not-a-jwt": ("not.a.jwt", "malformed", "not a well-formed JWT"),
        "expired": (key1.sign(claims(expires_in=-120)), "expired", "the token has expired"),
        "forged": (impostor.sign(claims(), kid=key1.kid), "bad_signature", "signature does not verify"),
        "wrong-audience": (key1.sign(claims(aud="another-api")), "wrong_audience", "another audience (aud)"),
        "no-audience": (key1.sign(claims(aud=None)), "wrong_audience", "names no audience (aud)"),
        "wrong-issuer": (key1.sign(claims(iss="https://evil.example/")), "wrong_issuer", "another issuer"),
        "alg-none": (unsigned(claims()), "bad_algorithm", "accepts (RS256, ES256)"),
        "hmac-with-public-key": (
            hmac_keyed_with(key1.public_pem(), claims(), key1.kid),
            "bad_algorithm",
            "algorithm (alg)",
        ),
        "alg-does-not-fit-key": (
            SigningKey.ec(key1.kid).sign(claims()),
            "bad_algorithm",
            "algorithm (alg) does not fit its key",
        ),
        "unknown-kid": (
            key1.sign(claims(), kid="nobody-knows"),
            "unknown_key",
            "not among the issuer's keys",
        ),
        "no-kid": (
            jwt.encode(claims(), key1.private, algorithm="RS256"),
            "unknown_key",
            "names no signing key (kid)",
        ),
        "no-expiry": (key1.sign(claims(exp=None)), "bad_claims", "has no exp claim"),
        "not-yet-valid": (key1.sign(claims(nbf=now + 3_600)), "not_yet_valid", "not valid yet"),
        "no-user": (key1.sign(claims(sub=None)), "bad_claims", "sub claim must be a non-empty string"),
        "user-not-a-string": (
            key1.sign(claims(sub=42)),
            "bad_claims",
            "sub claim must be a non-empty string",
        ),
    }


REFUSALS = [
    "missing",
    "not-a-jwt",
    "expired",
    "forged",
    "wrong-audience",
    "no-audience",
    "wrong-issuer",
    "alg-none",
    "hmac-with-public-key",
    "alg-does-not-fit-key",
    "unknown-kid",
    "no-kid",
    "no-expiry",
    "not-yet-valid",
    "no-user",
    "user-not-a-string",
]


@pytest.mark.parametrize("case", REFUSALS)
async def test_a_bad_or_missing_token_is_unauthenticated_and_costs_no_upstream_call(
    gateway: Gateway, key1: SigningKey, case: str
) -> None:
    token, reason, words = refused_tokens(key1, SigningKey.rsa(key1.kid))[case]
    await gateway.client.reset_calls()

    response = await gateway.ask(LIST, token, Accept="application/graphql-response+json")

    assert_unauthenticated(response, reason, words)
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    if token is not None:
        assert token not in response.text
        assert token not in response.headers["WWW-Authenticate"]
    assert await gateway.client.calls() == []
    assert f'metastudio_gateway_unauthenticated_total{{reason="{reason}"}} 1.0' in await gateway.metrics()


async def test_another_scheme_than_bearer_counts_as_no_token(gateway: Gateway) -> None:
    response = await gateway.client.post({"query": LIST}, None, Authorization="Basic YWxpY2U6c2VjcmV0")
    assert_unauthenticated(response, "missing", "Authorization: Bearer <token>")


async def test_a_client_sent_app_user_id_is_refused_even_with_a_valid_token(
    gateway: Gateway, key1: SigningKey
) -> None:
    response = await gateway.ask(LIST, key1.sign(claims("alice")), None, **{"X-App-UserId": "bob"})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"] == (
        "X-App-UserId is not accepted: the end user comes from the bearer token's sub claim"
    )
    assert await gateway.client.calls() == []


# --- Secret (HS256) ---


async def test_an_hs256_token_signed_with_the_shared_secret_is_accepted(hs_gateway: Gateway) -> None:
    mine = await hs_gateway.create_video(hs256("dora"))
    assert await hs_gateway.job_ids(hs256("dora")) == {mine}
    assert await hs_gateway.job_ids(hs256("erin")) == set()


async def test_with_a_secret_only_hs256_signed_with_it_passes(hs_gateway: Gateway, key1: SigningKey) -> None:
    forged = await hs_gateway.ask(LIST, hs256(secret="another-secret-that-is-long-enough-to-use"))
    assert_unauthenticated(forged, "bad_signature", "signature does not verify")
    rsa_signed = await hs_gateway.ask(LIST, key1.sign(claims()))
    assert_unauthenticated(rsa_signed, "bad_algorithm", "accepts (HS256)")
    assert await hs_gateway.client.calls() == []


async def test_no_token_nor_secret_reaches_the_logs_or_answers(
    hs_gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    forged = hs256(secret="another-secret-that-is-long-enough-to-use")
    expired = hs256(expires_in=-3_600)
    answers = [await hs_gateway.ask(LIST, token) for token in (forged, expired, "garbage." + SECRET)]
    answers.append(await hs_gateway.ask(LIST, hs256("alice")))
    assert [answer.status_code for answer in answers] == [401, 401, 401, 200]
    seen = caplog.text + "".join(answer.text + str(answer.headers) for answer in answers)
    for secret in (SECRET, forged, expired, hs256("alice")):
        assert secret not in seen


# --- Keys from the JWKS ---


async def test_concurrent_first_requests_share_one_jwks_fetch(
    gateway: Gateway, idp: Issuer, key1: SigningKey
) -> None:
    idp.provider.delay = 0.2
    tokens = [key1.sign(claims(f"user-{n}")) for n in range(20)]

    answers = await asyncio.gather(*(gateway.ask(LIST, token) for token in tokens))

    assert [answer.status_code for answer in answers] == [200] * 20
    assert idp.provider.fetches == 1


async def test_a_rotated_in_key_is_accepted_after_one_refetch(
    gateway: Gateway, idp: Issuer, key1: SigningKey, key2: SigningKey
) -> None:
    assert await gateway.job_ids(key1.sign(claims())) == set()
    assert idp.provider.fetches == 1
    idp.provider.publish(key1, key2)
    new = key2.sign(claims())

    # Right after a fetch the gateway does not ask again: a kid it does not know is refused meanwhile.
    assert_unauthenticated(await gateway.ask(LIST, new), "unknown_key", "not among the issuer's keys")
    assert idp.provider.fetches == 1

    gateway.clock.advance(31)
    assert (await gateway.ask(LIST, new)).status_code == 200
    assert (await gateway.ask(LIST, key1.sign(claims()))).status_code == 200
    assert idp.provider.fetches == 2


async def test_a_removed_key_is_refused_once_the_keys_are_refreshed(
    gateway: Gateway, idp: Issuer, key1: SigningKey, key2: SigningKey
) -> None:
    idp.provider.publish(key1, key2)
    old = key1.sign(claims())
    assert (await gateway.ask(LIST, old)).status_code == 200
    idp.provider.publish(key2)

    gateway.clock.advance(299)
    assert (await gateway.ask(LIST, old)).status_code == 200
    assert idp.provider.fetches == 1

    gateway.clock.advance(2)
    assert_unauthenticated(await gateway.ask(LIST, old), "unknown_key", "not among the issuer's keys")
    assert (await gateway.ask(LIST, key2.sign(claims()))).status_code == 200
    assert idp.provider.fetches == 2


async def test_tokens_naming_unknown_kids_cannot_make_the_gateway_hammer_the_jwks(
    gateway: Gateway, idp: Issuer, key1: SigningKey
) -> None:
    assert (await gateway.ask(LIST, key1.sign(claims()))).status_code == 200
    await gateway.client.reset_calls()
    gateway.clock.advance(31)
    idp.provider.delay = 0.1
    forged = [key1.sign(claims(), kid=uuid.uuid4().hex) for _ in range(50)]

    answers = await asyncio.gather(*(gateway.ask(LIST, token) for token in forged))
    answers += await asyncio.gather(*(gateway.ask(LIST, token) for token in forged))

    assert {answer.status_code for answer in answers} == {401}
    assert {answer.json()["errors"][0]["extensions"]["reason"] for answer in answers} == {"unknown_key"}
    # One refetch, shared by the first wave; the second wave came within the minimum interval.
    assert idp.provider.fetches == 2
    assert await gateway.client.calls() == []


async def test_an_unreachable_jwks_is_a_retryable_503_and_the_gateway_recovers(
    gateway: Gateway, idp: Issuer, key1: SigningKey
) -> None:
    idp.provider.status = 503
    token = key1.sign(claims())

    response = await gateway.ask(LIST, token)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "retryable": True, "dependency": "jwks"}
    assert "GATEWAY_JWKS_URL" in error["message"]
    # Within the minimum interval the JWKS is not asked again, and nothing went upstream.
    assert (await gateway.ask(LIST, token)).status_code == 503
    assert idp.provider.fetches == 1
    assert await gateway.client.calls() == []

    idp.provider.status = 200
    gateway.clock.advance(31)
    assert (await gateway.ask(LIST, token)).status_code == 200


# --- What a caller may do with its identity ---


async def test_idempotency_keys_belong_to_the_token_user(gateway: Gateway, key1: SigningKey) -> None:
    alice, bob = key1.sign(claims("alice")), key1.sign(claims("bob"))
    first = await gateway.create_video(alice, idempotency_key="order-1")
    again = await gateway.create_video(alice, idempotency_key="order-1")
    bobs = await gateway.create_video(bob, idempotency_key="order-1")

    assert again == first
    assert bobs != first
    assert await gateway.job_ids(bob) == {bobs}


async def test_rate_limits_give_each_token_user_a_bucket_of_their_own(
    emulator: LoopbackServer, idp: Issuer, key1: SigningKey
) -> None:
    limits = {"rate_limit_per_second": NO_REFILL, "rate_limit_burst": 2}
    async with jwt_gateway(emulator.url, jwks_url=idp.jwks_url, **limits) as gateway:
        # A fresh token per request: the bucket follows the user it names, not the token.
        for _ in range(2):
            assert (
                await gateway.ask(LIST, key1.sign(claims("alice", jti=uuid.uuid4().hex)))
            ).status_code == 200
        refused = await gateway.ask(LIST, key1.sign(claims("alice")))
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"

        assert (await gateway.ask(LIST, key1.sign(claims("bob")))).status_code == 200
        # Refusing bad tokens costs no one's bucket.
        assert_unauthenticated(await gateway.ask(LIST, "garbage"), "malformed", "well-formed")
        assert (await gateway.ask(LIST, key1.sign(claims("bob")))).status_code == 200


async def test_preflights_pass_and_refusals_are_readable_by_an_allowed_origin(
    emulator: LoopbackServer, idp: Issuer
) -> None:
    origin = "https://studio.example.com"
    async with jwt_gateway(emulator.url, jwks_url=idp.jwks_url, allowed_origins=(origin,)) as gateway:
        preflight = await gateway.client.http.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        refused = await gateway.ask(LIST, None, Origin=origin)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert_unauthenticated(refused, "missing", "Bearer")
    assert refused.headers["access-control-allow-origin"] == origin


async def test_the_graphiql_page_loads_without_a_token_but_its_queries_need_one(
    emulator: LoopbackServer, idp: Issuer, key1: SigningKey
) -> None:
    async with jwt_gateway(emulator.url, jwks_url=idp.jwks_url, graphiql=True) as gateway:
        page = await gateway.client.http.get("/graphql", headers={"Accept": "text/html"})
        query = await gateway.client.http.get(
            "/graphql", params={"query": LIST}, headers={"Accept": "text/html"}
        )
        allowed = await gateway.client.http.get(
            "/graphql",
            params={"query": LIST},
            headers={"Accept": "application/json", "Authorization": f"Bearer {key1.sign(claims())}"},
        )
    assert page.status_code == 200
    assert 'id="graphiql"' in page.text
    assert_unauthenticated(query, "missing", "Bearer")
    assert allowed.status_code == 200
    assert allowed.json() == {"data": {"videoJobs": {"edges": []}}}


@pytest.mark.parametrize(
    "accept", ["text/event-stream", 'multipart/mixed;subscriptionSpec="1.0", application/json']
)
async def test_subscriptions_over_plain_http_need_a_token_too(
    gateway: Gateway, key1: SigningKey, accept: str
) -> None:
    alice = key1.sign(claims("alice"))
    job_id = await gateway.create_video(alice)
    await gateway.client.set_state(job_id, "SUCCEED")
    await gateway.client.reset_calls()
    subscription = {"query": SUBSCRIBE, "variables": {"jobId": job_id}}

    refused = await gateway.client.post(subscription, None, Accept=accept)
    assert_unauthenticated(refused, "missing", "Bearer")
    assert await gateway.client.calls() == []

    streamed = await gateway.client.post(subscription, None, Accept=accept, Authorization=f"Bearer {alice}")
    assert streamed.status_code == 200
    assert '"state":"SUCCEED"' in streamed.text.replace(" ", "")
    principals = {call["principal"] for call in await gateway.client.calls()}
    assert principals == {f"ak:{AK}/user:alice"}


# --- WebSockets ---


@dataclass
class LiveGateway:
    app: Starlette
    url: str
    client: GatewayClient

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/graphql"

    async def create_video(self, bearer: str) -> str:
        response = await self.client.post(
            {"query": CREATE, "variables": {"input": VIDEO_INPUT}}, None, Authorization=f"Bearer {bearer}"
        )
        job_id: str = response.json()["data"]["createVideoJob"]["job"]["jobId"]
        return job_id


@contextlib.asynccontextmanager
async def live_gateway(emulator_url: str, **overrides: Any) -> AsyncIterator[LiveGateway]:
    app = create_app(jwt_settings(emulator_url, **overrides))
    with serve(app) as server:
        async with (
            httpx.AsyncClient(base_url=server.url) as http,
            httpx.AsyncClient(base_url=emulator_url) as emulator,
        ):
            yield LiveGateway(app, server.url, GatewayClient(http, emulator))


@pytest.fixture
async def live(emulator: LoopbackServer, idp: Issuer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url, jwks_url=idp.jwks_url) as gateway:
        yield gateway


@contextlib.asynccontextmanager
async def connected(
    live: LiveGateway,
    payload: dict[str, Any] | None,
    protocol: str = "graphql-transport-ws",
    headers: dict[str, str] | None = None,
) -> AsyncIterator[websockets.ClientConnection]:
    async with websockets.connect(
        live.ws_url, subprotocols=[websockets.Subprotocol(protocol)], additional_headers=headers
    ) as socket:
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await socket.send(json.dumps(init))
        yield socket


async def receive(socket: websockets.ClientConnection) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = orjson.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        if message["type"] != "ka":
            return message


async def closed_with(socket: websockets.ClientConnection) -> tuple[int, str]:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), TIMEOUT)
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


async def run(socket: websockets.ClientConnection, document: str, **variables: Any) -> dict[str, Any]:
    """One operation over graphql-transport-ws: its first answer (`next` or `error`)."""
    payload = {"query": document, "variables": variables}
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return await receive(socket)


@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        ({"Authorization": "Bearer {token}"}, None),
        ({"authorization": "bearer {token}"}, None),
        ({"headers": {"AUTHORIZATION": "Bearer {token}"}}, None),
        (None, {"Authorization": "Bearer {token}"}),
    ],
    ids=["payload", "any-case", "nested-headers", "handshake"],
)
async def test_a_websocket_with_a_valid_token_runs_as_its_user(
    live: LiveGateway,
    key1: SigningKey,
    payload: dict[str, Any] | None,
    headers: dict[str, str] | None,
) -> None:
    token = key1.sign(claims("alice"))
    job_id = await live.create_video(token)
    await live.client.set_state(job_id, "SUCCEED")
    filled = json.loads(json.dumps(payload or {}).replace("{token}", token))
    sent_headers = {k: v.replace("{token}", token) for k, v in (headers or {}).items()}

    async with connected(live, filled, headers=sent_headers) as socket:
        assert await receive(socket) == {"type": "connection_ack"}
        event = await run(socket, SUBSCRIBE, jobId=job_id)

    assert event["type"] == "next"
    assert event["payload"]["data"] == {"videoJobStateChanged": {"jobId": job_id, "state": "SUCCEED"}}


async def test_the_legacy_protocol_runs_with_a_valid_token_too(live: LiveGateway, key1: SigningKey) -> None:
    token = key1.sign(claims("alice"))
    job_id = await live.create_video(token)
    await live.client.set_state(job_id, "SUCCEED")
    async with connected(live, {"Authorization": f"Bearer {token}"}, "graphql-ws") as socket:
        assert await receive(socket) == {"type": "connection_ack"}
        payload = {"query": SUBSCRIBE, "variables": {"jobId": job_id}}
        await socket.send(json.dumps({"id": "1", "type": "start", "payload": payload}))
        data = await receive(socket)
    assert data["type"] == "data"
    assert data["payload"]["data"] == {"videoJobStateChanged": {"jobId": job_id, "state": "SUCCEED"}}


async def test_another_users_job_is_not_found_over_a_websocket(live: LiveGateway, key1: SigningKey) -> None:
    job_id = await live.create_video(key1.sign(claims("alice")))
    async with connected(live, {"Authorization": f"Bearer {key1.sign(claims('bob'))}"}) as socket:
        assert await receive(socket) == {"type": "connection_ack"}
        answer = await run(socket, DETAIL, jobId=job_id)
    assert answer["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("case", ["missing", "expired", "forged", "wrong-audience"])
@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_websocket_with_a_bad_token_is_closed_4403_at_connection_init(
    live: LiveGateway, key1: SigningKey, case: str, protocol: str
) -> None:
    token, _, words = refused_tokens(key1, SigningKey.rsa(key1.kid))[case]
    payload = {} if token is None else {"Authorization": f"Bearer {token}"}
    await live.client.reset_calls()

    async with connected(live, payload, protocol) as socket:
        if protocol == "graphql-ws":
            error = await receive(socket)
            assert error["type"] == "connection_error"
            assert error["payload"]["extensions"] == {"code": "UNAUTHENTICATED"}
            assert words in error["payload"]["message"]
        code, reason = await closed_with(socket)

    assert code == 4403
    assert words in reason
    if token is not None:
        assert token not in reason
    assert await live.client.calls() == []


async def test_a_websocket_naming_its_own_app_user_id_is_closed_4400(
    live: LiveGateway, key1: SigningKey
) -> None:
    payload = {"Authorization": f"Bearer {key1.sign(claims('alice'))}", "X-App-UserId": "bob"}
    async with connected(live, payload) as socket:
        code, reason = await closed_with(socket)
    assert code == 4400
    assert reason == "X-App-UserId is not accepted: the end user comes from the bearer token's sub claim"


async def test_a_websocket_is_closed_when_its_token_expires(
    emulator: LoopbackServer, idp: Issuer, key1: SigningKey
) -> None:
    async with live_gateway(emulator.url, jwks_url=idp.jwks_url, jwt_leeway=0.0) as live:
        token = key1.sign(claims("alice", expires_in=2))
        async with connected(live, {"Authorization": f"Bearer {token}"}) as socket:
            assert await receive(socket) == {"type": "connection_ack"}
            started = time.monotonic()
            code, reason = await closed_with(socket)
    assert (code, reason) == (4403, "the token has expired")
    assert time.monotonic() - started < 4


async def test_subscription_quotas_count_per_token_user(
    emulator: LoopbackServer, idp: Issuer, key1: SigningKey
) -> None:
    async with live_gateway(emulator.url, jwks_url=idp.jwks_url, max_subscriptions_per_caller=1) as live:
        alice, bob = key1.sign(claims("alice")), key1.sign(claims("bob"))
        first, second = await live.create_video(alice), await live.create_video(alice)
        theirs = await live.create_video(bob)
        async with (
            connected(live, {"Authorization": f"Bearer {alice}"}) as one,
            connected(live, {"Authorization": f"Bearer {key1.sign(claims('alice', jti='other'))}"}) as two,
            connected(live, {"Authorization": f"Bearer {bob}"}) as three,
        ):
            for socket in (one, two, three):
                assert await receive(socket) == {"type": "connection_ack"}
            assert (await run(one, SUBSCRIBE, jobId=first))["type"] == "next"
            # Another connection with another token of the same user gets no second slot.
            refused = await run(two, SUBSCRIBE, jobId=second)
            [error] = refused["payload"]["errors"]
            assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 1, "scope": "caller"}
            assert (await run(three, SUBSCRIBE, jobId=theirs))["type"] == "next"
