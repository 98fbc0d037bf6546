"""A token user's own idempotency keys, rate limits, CORS, GraphiQL and subscriptions over HTTP."""

from __future__ import annotations

import uuid

import pytest

from tests.support.client_auth import (
    LIST,
    NO_REFILL,
    SUBSCRIBE,
    Gateway,
    Issuer,
    SigningKey,
    assert_unauthenticated,
    claims,
    jwt_gateway,
)
from tests.support.gateway import AK
from tests.support.servers import LoopbackServer

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
