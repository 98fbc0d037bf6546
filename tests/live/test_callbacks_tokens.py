"""Callback tokens and their bindings: only this gateway's signature opens a callback, for one job only,
and replicas sharing a secret and a Redis accept each other's callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.emulator import create_app as create_emulator
from gateway.live.callback_bindings import BINDING_SECONDS, MemoryCallbackBindings, RedisCallbackBindings
from gateway.live.callback_tokens import callback_token, gateway_callback, verified_token
from gateway.live.events import JobKind, JobRef
from gateway.settings import Settings
from tests.support.gateway import PROJECT, emulator_config
from tests.support.http import loopback
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer, free_port, serve

SECRET = "shared-callback-secret-0123456789"
PUBLIC = "https://gateway.example"
NOWHERE = f"http://127.0.0.1:{free_port()}"
VIDEO_INPUT: dict[str, Any] = {
    "modelAssetId": "cda7e9a469ee9cf3ffc1ad62794a12ff",
    "voiceConfig": {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"},
    "videoConfig": {"bitrate": 5000, "width": 1080, "height": 1920},
    "shootScripts": [{"sequenceNo": 0, "shootScript": {"textConfig": {"text": "Hello there."}}}],
    "outputAssetConfig": {"assetName": "Greeting"},
}
CREATE_VIDEO = "mutation($input: CreateVideoJobInput!) { createVideoJob(input: $input) { job { jobId } } }"


def settings(secret: str | None = SECRET, **overrides: Any) -> Settings:
    return Settings(public_url=PUBLIC, callback_secret=secret, **overrides)


def made(kind: JobKind, secret: str | None = SECRET) -> tuple[str, str]:
    """(token, nonce) of a fresh gateway callback."""
    callback = gateway_callback(settings(secret), kind)
    assert callback is not None
    url, nonce = callback
    return url.removeprefix(f"{PUBLIC}/callbacks/"), nonce


def test_a_callback_url_is_the_public_url_with_a_signed_token() -> None:
    token, nonce = made("video")
    assert token == callback_token(settings(), "video", nonce)
    assert token.startswith(nonce + ".")
    # URL-safe as it is: nothing a proxy or the upstream would re-encode.
    assert all(c.isalnum() or c in "-_." for c in token)
    assert verified_token(settings(), token) == (nonce, "video")


def test_each_callback_has_a_nonce_of_its_own() -> None:
    assert len({made("picture")[1] for _ in range(100)}) == 100


def test_without_a_public_url_there_is_no_callback() -> None:
    assert gateway_callback(Settings(callback_secret=SECRET), "video") is None


def test_the_signature_covers_the_kind_and_the_nonce() -> None:
    token, nonce = made("video")
    _, _, signature = token.partition(".")
    _, other_nonce = made("video")
    assert verified_token(settings(), f"{other_nonce}.{signature}") is None
    # A token for a picture job is told apart from a video job's with the same nonce.
    assert verified_token(settings(), callback_token(settings(), "picture", nonce)) == (nonce, "picture")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "no-dot-at-all",
        "." * 66,
        "a.b",
        "AAAAAAAAAAAAAAAAAAAAAA." + "A" * 43,
        # A nonce in a second spelling of the same bytes (unused low bits set) is not the bound nonce.
        "AAAAAAAAAAAAAAAAAAAAAB." + "A" * 43,
        "AAAAAAAAAAAAAAAAAAAAAA." + "!" * 43,
    ],
)
def test_malformed_or_unsigned_tokens_do_not_verify(token: str) -> None:
    assert verified_token(settings(), token) is None


def test_only_the_same_secret_verifies_a_token() -> None:
    token, nonce = made("training")
    assert verified_token(settings(secret="another-secret-0123456789"), token) is None
    assert verified_token(settings(secret=None), token) is None
    assert verified_token(settings(secret=SECRET), token) == (nonce, "training")


def test_without_a_secret_tokens_use_a_key_of_this_process() -> None:
    token, nonce = made("video", secret=None)
    assert verified_token(settings(secret=None), token) == (nonce, "video")
    assert verified_token(settings(), token) is None


def test_a_public_url_too_long_for_the_upstream_gets_no_callback() -> None:
    # The upstream takes callback URLs of at most 2048 characters.
    assert gateway_callback(Settings(public_url="https://g.example/" + "p" * 2000), "video") is None


async def test_a_binding_is_forgotten_once_it_expires() -> None:
    bindings = MemoryCallbackBindings(ttl=0.05)
    ref = JobRef("video", "job-1")
    await bindings.bind("nonce-1", ref)
    assert await bindings.job_of("nonce-1") == ref
    await asyncio.sleep(0.1)
    assert await bindings.job_of("nonce-1") is None
    assert len(bindings) == 0


async def test_a_full_memory_store_drops_its_oldest_bindings() -> None:
    bindings = MemoryCallbackBindings(capacity=3)
    for n in range(5):
        await bindings.bind(f"nonce-{n}", JobRef("picture", f"job-{n}"))
    assert len(bindings) == 3
    assert await bindings.job_of("nonce-0") is None
    assert await bindings.job_of("nonce-4") == JobRef("picture", "job-4")


async def test_redis_remembers_a_binding_for_a_day() -> None:
    bindings = RedisCallbackBindings(REDIS_URL)
    redis = Redis.from_url(REDIS_URL)
    nonce = secrets.token_urlsafe(16)
    try:
        await bindings.bind(nonce, JobRef("training", "t-1"))
        assert await bindings.job_of(nonce) == JobRef("training", "t-1")
        remaining = await redis.pttl(RedisCallbackBindings.PREFIX + nonce)
        assert BINDING_SECONDS * 1000 - 60_000 < remaining <= BINDING_SECONDS * 1000
        assert await bindings.job_of(secrets.token_urlsafe(16)) is None
    finally:
        await redis.delete(RedisCallbackBindings.PREFIX + nonce)
        await redis.aclose()
        await bindings.aclose()


@pytest.fixture
def emulator() -> Iterator[LoopbackServer]:
    with serve(create_emulator(emulator_config())) as server:
        yield server


@contextlib.asynccontextmanager
async def replica(emulator: LoopbackServer, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """One gateway process's app, driven in-process; several may share one Redis."""
    fields: dict[str, Any] = {
        "endpoint": emulator.url,
        "project_id": PROJECT,
        "auth_mode": "token",
        "max_retries": 0,
        # Nothing listens there: the emulator's own POST fails, and the test delivers the callback.
        "public_url": NOWHERE,
        "callback_secret": SECRET,
        "redis_url": REDIS_URL,
    }
    fields.update(overrides)
    app = create_app(Settings(**fields))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        yield client


async def test_a_callback_made_by_one_replica_is_accepted_by_another_sharing_redis_and_the_secret(
    emulator: LoopbackServer,
) -> None:
    async with (
        loopback(emulator.url) as admin,
        replica(emulator) as a,
        replica(emulator) as b,
    ):
        response = await a.post(
            "/graphql",
            json={"query": CREATE_VIDEO, "variables": {"input": VIDEO_INPUT}},
            headers={"X-Auth-Token": "alice-token"},
        )
        job_id = response.json()["data"]["createVideoJob"]["job"]["jobId"]
        await admin.put(f"/_emulator/jobs/{job_id}/state", json={"state": "SUCCEED"})
        # The emulator tried the public URL, where nothing listens; what it sent is in its callbacks log.
        for _ in range(100):
            sent = (await admin.get("/_emulator/callbacks")).json()["callbacks"]
            if sent:
                break
            await asyncio.sleep(0.02)
        [callback] = sent
        assert callback["status"] is None
        path = callback["url"].removeprefix(NOWHERE)
        assert path.startswith("/callbacks/")
        answer = await b.post(path, json=callback["body"])
        assert answer.status_code == 204
        # A and B could have been given different secrets by mistake: then B refuses.
        async with replica(emulator, callback_secret="another-secret-0123456789") as c:
            assert (await c.post(path, json=callback["body"])).status_code == 401
        # Same secret, but bindings only in its own memory: B cannot know the job.
        async with replica(emulator, redis_url=None) as d:
            assert (await d.post(path, json=callback["body"])).status_code == 404
    redis = Redis.from_url(REDIS_URL)
    try:
        nonce = path.removeprefix("/callbacks/").partition(".")[0]
        assert await redis.delete(RedisCallbackBindings.PREFIX + nonce) == 1
    finally:
        await redis.aclose()
