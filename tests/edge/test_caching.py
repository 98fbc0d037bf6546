"""HTTP caching of GET answers: ETags per caller, media type and coding, 304s, nothing kept for POST."""

from __future__ import annotations

import gzip
import json
import re

import brotli
import pytest

from tests.edge.support import COUNT, GENERATED_ID, VIDEO_LIST, get_params, listed, raw
from tests.support.gateway import GatewayClient

# HTTP caching


async def test_a_get_query_gets_an_etag_and_a_304_when_the_client_has_it(gateway: GatewayClient) -> None:
    await gateway.create_videos(3)
    params = get_params(VIDEO_LIST, {"first": 100})
    first, body = await raw(
        gateway.http, "GET", "identity", params=params, headers={"X-Auth-Token": "alice-token"}
    )
    assert first.status_code == 200
    assert len(json.loads(body)["data"]["videoJobs"]["edges"]) == 3
    tag = first.headers["etag"]
    assert re.fullmatch(r'"[A-Za-z0-9_-]{24}"', tag)
    assert first.headers["cache-control"] == "private, no-cache"
    assert listed(first.headers["vary"]) >= {
        "accept",
        "accept-encoding",
        "authorization",
        "x-auth-token",
        "x-app-userid",
        "origin",
    }

    again, empty = await raw(
        gateway.http,
        "GET",
        "identity",
        params=params,
        headers={"X-Auth-Token": "alice-token", "If-None-Match": tag},
    )
    assert again.status_code == 304
    assert empty == b""
    assert again.headers["etag"] == tag
    assert again.headers["cache-control"] == "private, no-cache"
    assert "content-type" not in again.headers
    assert GENERATED_ID.fullmatch(again.headers["x-request-id"])

    listed_tags, _ = await raw(
        gateway.http,
        "GET",
        "identity",
        params=params,
        headers={"X-Auth-Token": "alice-token", "If-None-Match": f'"other", W/{tag}'},
    )
    assert listed_tags.status_code == 304


async def test_a_changed_answer_gets_a_new_etag(gateway: GatewayClient) -> None:
    [job_id] = await gateway.create_videos(1)
    params = get_params(VIDEO_LIST, {"first": 100})
    alice = {"X-Auth-Token": "alice-token"}
    first, _ = await raw(gateway.http, "GET", "identity", params=params, headers=alice)
    await gateway.set_state(job_id, "SUCCEED")
    changed, body = await raw(
        gateway.http,
        "GET",
        "identity",
        params=params,
        headers={**alice, "If-None-Match": first.headers["etag"]},
    )
    assert changed.status_code == 200
    assert json.loads(body)["data"]["videoJobs"]["edges"][0]["node"]["state"] == "SUCCEED"
    assert changed.headers["etag"] != first.headers["etag"]


async def test_each_caller_token_gets_its_own_etag(gateway: GatewayClient) -> None:
    params = get_params(COUNT)
    alice, alice_body = await raw(
        gateway.http, "GET", "identity", params=params, headers={"X-Auth-Token": "alice-token"}
    )
    bob, bob_body = await raw(
        gateway.http, "GET", "identity", params=params, headers={"X-Auth-Token": "bob-token"}
    )
    assert alice_body == bob_body
    assert alice.headers["etag"] != bob.headers["etag"]
    bearer, _ = await raw(
        gateway.http, "GET", "identity", params=params, headers={"Authorization": "Bearer alice-token"}
    )
    assert bearer.headers["etag"] not in (alice.headers["etag"], bob.headers["etag"])

    bob_with_alices_tag, body = await raw(
        gateway.http,
        "GET",
        "identity",
        params=params,
        headers={"X-Auth-Token": "bob-token", "If-None-Match": alice.headers["etag"]},
    )
    assert bob_with_alices_tag.status_code == 200
    assert body == bob_body


async def test_each_media_type_gets_its_own_etag(gateway: GatewayClient) -> None:
    params = get_params(COUNT)
    tags = {}
    for accept in ("application/json", "application/graphql-response+json"):
        headers = {"X-Auth-Token": "alice-token", "Accept": accept}
        response, _ = await raw(gateway.http, "GET", "identity", params=params, headers=headers)
        assert response.headers["content-type"].startswith(accept)
        tags[accept] = response.headers["etag"]
        again, _ = await raw(
            gateway.http, "GET", "identity", params=params, headers={**headers, "If-None-Match": tags[accept]}
        )
        assert again.status_code == 304
    assert len(set(tags.values())) == 2


async def test_a_compressed_get_answer_has_an_etag_of_its_own_and_revalidates(gateway: GatewayClient) -> None:
    await gateway.create_videos(100)
    params = get_params(VIDEO_LIST, {"first": 100})
    alice = {"X-Auth-Token": "alice-token"}
    plain, identity = await raw(gateway.http, "GET", "identity", params=params, headers=alice)
    tags = {"identity": plain.headers["etag"]}
    for coding in ("gzip", "br"):
        response, body = await raw(gateway.http, "GET", coding, params=params, headers=alice)
        assert response.headers["content-encoding"] == coding
        assert (gzip.decompress(body) if coding == "gzip" else brotli.decompress(body)) == identity
        tags[coding] = response.headers["etag"]
        revalidated, empty = await raw(
            gateway.http, "GET", coding, params=params, headers={**alice, "If-None-Match": tags[coding]}
        )
        assert revalidated.status_code == 304
        assert empty == b""
        assert "content-encoding" not in revalidated.headers
    assert len(set(tags.values())) == 3


async def test_post_answers_are_not_stored(gateway: GatewayClient) -> None:
    response = await gateway.post({"query": COUNT})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


@pytest.mark.parametrize(
    ("document", "token"),
    [
        ('{ videoJob(jobId: "no-such-job") { state } }', "alice-token"),
        ("{ nope }", "alice-token"),
        (COUNT, None),
        ('mutation { cancelVideoJob(jobId: "x") { userErrors { code } } }', "alice-token"),
    ],
)
async def test_get_answers_with_errors_are_not_stored(
    gateway: GatewayClient, document: str, token: str | None
) -> None:
    headers = {} if token is None else {"X-Auth-Token": token}
    response, body = await raw(gateway.http, "GET", "identity", params=get_params(document), headers=headers)
    assert json.loads(body)["errors"]
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
