"""Client authentication with bearer JWTs: the keys, tokens, identity provider and gateway the tests share."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.settings import Settings
from tests.schema.test_video_mutations import VIDEO_INPUT
from tests.support.clock import ManualTime
from tests.support.gateway import AK, PROJECT, SK, GatewayClient
from tests.support.http import loopback

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
    clock: ManualTime

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
    clock = ManualTime()
    if app.state.client_auth.keys is not None:
        app.state.client_auth.keys.clock = clock
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
        loopback(emulator_url) as emulator,
    ):
        yield Gateway(app, GatewayClient(http, emulator), clock)


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
