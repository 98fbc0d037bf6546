"""The JWKS: one fetch for concurrent requests, key rotation and removal, unknown kids, outages."""

from __future__ import annotations

import asyncio
import uuid

from tests.support.client_auth import LIST, Gateway, Issuer, SigningKey, assert_unauthenticated, claims

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
