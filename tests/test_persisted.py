"""Automatic persisted queries through the real gateway over POST and GET, shared through Redis."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from strawberry.http import GraphQLRequestData

from gateway.persisted import PersistedDocuments, PersistedQueryNotFound, RedisRegisteredQueries, resolve
from schema.limits import Limits
from tests.support.gateway import GatewayClient, gateway_client
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer, free_port

QUERIES = Path(__file__).resolve().parents[1] / "queries"
ROOT = Path(__file__).resolve().parents[1]
VIDEO_JOB = "query VideoJobState($jobId: String!) { videoJob(jobId: $jobId) { jobId state } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apq(digest: str, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def fresh(document: str) -> str:
    """The document under a hash no gateway has seen (a comment changes the text, not the operation)."""
    return f"# {uuid.uuid4().hex}\n{document}"


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def get(gateway: GatewayClient, **params: object) -> dict[str, Any]:
    sent = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    response = await gateway.http.get(
        "/graphql",
        params=sent,
        headers={"X-Auth-Token": "alice-token", "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


async def post(gateway: GatewayClient, payload: dict[str, Any]) -> dict[str, Any]:
    response = await gateway.post(payload)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- Apollo's APQ over POST and GET ---


async def test_an_unknown_hash_answers_persisted_query_not_found(gateway: GatewayClient) -> None:
    body = await post(gateway, {"extensions": apq(sha256(fresh(VIDEO_JOB))), "variables": {"jobId": "x"}})
    assert body["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    assert body.get("data") is None


async def test_over_post_a_miss_then_the_query_with_its_hash_registers_it_for_hash_only_requests(
    gateway: GatewayClient,
) -> None:
    job_id = await gateway.create_video()
    document = fresh(VIDEO_JOB)
    digest, variables = sha256(document), {"jobId": job_id}
    await gateway.reset_calls()

    missed = await post(gateway, {"extensions": apq(digest), "variables": variables})
    assert codes(missed) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await gateway.calls() == []

    registered = await post(gateway, {"query": document, "extensions": apq(digest), "variables": variables})
    hit = await post(gateway, {"extensions": apq(digest), "variables": variables})
    assert registered == hit == {"data": {"videoJob": {"jobId": job_id, "state": "WAITING"}}}


async def test_over_get_a_miss_then_the_query_with_its_hash_registers_it_for_hash_only_requests(
    gateway: GatewayClient,
) -> None:
    job_id = await gateway.create_video()
    document = fresh(VIDEO_JOB)
    digest, variables = sha256(document), {"jobId": job_id}

    missed = await get(gateway, extensions=apq(digest), variables=variables, operationName="VideoJobState")
    assert missed["errors"][0]["message"] == "PersistedQueryNotFound"
    assert codes(missed) == ["PERSISTED_QUERY_NOT_FOUND"]

    registered = await get(gateway, query=document, extensions=apq(digest), variables=variables)
    hit = await get(gateway, extensions=apq(digest), variables=variables)
    assert registered == hit == {"data": {"videoJob": {"jobId": job_id, "state": "WAITING"}}}
    # What Apollo's link sends with `useGETForHashedQueries` once registered: a GET, hash only.
    assert (await post(gateway, {"extensions": apq(digest), "variables": variables})) == hit


async def test_a_get_naming_a_persisted_query_is_answered_even_when_it_accepts_anything(
    gateway: GatewayClient,
) -> None:
    document = fresh("{ videoJobs(first: 1) { totalCount } }")
    await post(gateway, {"query": document, "extensions": apq(sha256(document))})
    response = await gateway.http.get(
        "/graphql",
        params={"extensions": json.dumps(apq(sha256(document)))},
        headers={"X-Auth-Token": "alice-token", "Accept": "*/*"},
    )
    assert response.json() == {"data": {"videoJobs": {"totalCount": 0}}}


async def test_a_trusted_mutation_by_hash_over_get_is_refused_as_any_mutation_over_get(
    gateway: GatewayClient,
) -> None:
    text = (QUERIES / "cancel_video_job.graphql").read_text()
    response = await gateway.http.get(
        "/graphql",
        params={"extensions": json.dumps(apq(sha256(text))), "variables": json.dumps({"jobId": "x"})},
        headers={"X-Auth-Token": "alice-token", "Accept": "application/json"},
    )
    assert response.status_code == 405
    assert codes(response.json()) == ["BAD_USER_INPUT"]
    assert await gateway.calls() == []


async def test_a_hash_that_is_not_the_querys_is_refused_and_registers_nothing(gateway: GatewayClient) -> None:
    document, other = fresh(VIDEO_JOB), fresh(VIDEO_JOB)
    refused = await post(
        gateway, {"query": document, "extensions": apq(sha256(other)), "variables": {"jobId": "x"}}
    )
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert "sha256Hash is not the sha256 of the query" in refused["errors"][0]["message"]
    assert refused.get("data") is None
    for digest in (sha256(other), sha256(document)):
        after = await post(gateway, {"extensions": apq(digest), "variables": {"jobId": "x"}})
        assert codes(after) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize("version", [2, 0, "1", True, None])
async def test_an_unsupported_persisted_query_version_is_refused(
    gateway: GatewayClient, version: object
) -> None:
    document = fresh(VIDEO_JOB)
    body = await post(gateway, {"query": document, "extensions": apq(sha256(document), version)})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "is not supported; this gateway speaks version 1" in body["errors"][0]["message"]


async def test_a_hash_that_is_not_sixty_four_hex_digits_is_refused(gateway: GatewayClient) -> None:
    body = await post(gateway, {"extensions": apq("abc123")})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "64 hexadecimal digits" in body["errors"][0]["message"]


async def test_a_registered_document_runs_through_the_operation_limits(emulator: LoopbackServer) -> None:
    deep = fresh("{ videoJobs(first: 1) { edges { node { outputAsset { assetName } } } } }")
    async with gateway_client(emulator.url, max_depth=3) as gateway:
        first = await post(gateway, {"query": deep, "extensions": apq(sha256(deep))})
        again = await post(gateway, {"extensions": apq(sha256(deep))})
    for body in (first, again):
        assert codes(body) == ["OPERATION_LIMIT_EXCEEDED"]
        assert body["errors"][0]["extensions"]["limit"] == {"name": "depth", "max": 3, "actual": 5}


async def test_a_document_over_the_size_limit_is_not_registered(emulator: LoopbackServer) -> None:
    long = fresh("{ videoJobs(first: 1) { totalCount } }") + "#" * 300
    async with gateway_client(emulator.url, max_document_bytes=200) as gateway:
        refused = await post(gateway, {"query": long, "extensions": apq(sha256(long))})
        after = await post(gateway, {"extensions": apq(sha256(long))})
    assert codes(refused) == ["OPERATION_LIMIT_EXCEEDED"]
    assert codes(after) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_subscription_by_hash_over_a_plain_request_says_how_to_stream_it(
    gateway: GatewayClient,
) -> None:
    text = (QUERIES / "video_job_state_changed.graphql").read_text()
    body = await post(gateway, {"extensions": apq(sha256(text)), "variables": {"jobId": "x"}})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "text/event-stream" in body["errors"][0]["message"]


async def test_the_in_process_store_forgets_the_least_recently_used_past_its_bound(
    emulator: LoopbackServer,
) -> None:
    documents = [fresh("{ videoJobs(first: 1) { totalCount } }") for _ in range(3)]
    async with gateway_client(emulator.url, persisted_queries_max=2) as gateway:
        for document in documents:
            await post(gateway, {"query": document, "extensions": apq(sha256(document))})
        answers = [await post(gateway, {"extensions": apq(sha256(d))}) for d in documents]
    assert [codes(a) for a in answers] == [["PERSISTED_QUERY_NOT_FOUND"], [], []]


# --- Registration shared by replicas through Redis ---


async def test_a_hash_registered_through_one_replica_runs_by_hash_on_another(
    emulator: LoopbackServer,
) -> None:
    document = fresh(VIDEO_JOB)
    digest = sha256(document)
    async with (
        gateway_client(emulator.url, redis_url=REDIS_URL) as first,
        gateway_client(emulator.url, redis_url=REDIS_URL) as second,
    ):
        job_id = await first.create_video()
        variables = {"jobId": job_id}
        assert codes(await post(second, {"extensions": apq(digest), "variables": variables})) == [
            "PERSISTED_QUERY_NOT_FOUND"
        ]
        await post(first, {"query": document, "extensions": apq(digest), "variables": variables})
        hit = await post(second, {"extensions": apq(digest), "variables": variables})
    assert hit == {"data": {"videoJob": {"jobId": job_id, "state": "WAITING"}}}


async def test_without_redis_a_hash_is_not_found_and_the_resent_query_still_runs() -> None:
    documents = PersistedDocuments([], RedisRegisteredQueries(f"redis://127.0.0.1:{free_port()}/0"))
    document = fresh(VIDEO_JOB)
    request = GraphQLRequestData(None, None, None, apq(sha256(document)))
    try:
        with pytest.raises(PersistedQueryNotFound):
            await resolve(documents, request, Limits())
        resent = await resolve(
            documents, GraphQLRequestData(document, None, None, apq(sha256(document))), Limits()
        )
    finally:
        await documents.aclose()
    assert resent.query == document
