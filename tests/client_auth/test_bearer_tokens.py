"""Bearer tokens over HTTP: valid, expired, forged or missing JWTs, from the JWKS or an HS256 secret."""

from __future__ import annotations

import logging

import pytest

from tests.support.client_auth import (
    DETAIL,
    LIST,
    REFUSALS,
    SECRET,
    Gateway,
    Issuer,
    SigningKey,
    assert_unauthenticated,
    claims,
    hs256,
    jwt_gateway,
    refused_tokens,
)
from tests.support.gateway import AK
from tests.support.servers import LoopbackServer

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
