"""The gateway's HTTP edge as browsers and other clients meet it: CORS, request ids, compression and HTTP
caching of GET queries, through HTTP against a real gateway and emulator."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from gateway.app import create_app
from gateway.settings import Settings, SettingsError
from tests.support.gateway import PROJECT, GatewayClient, gateway_client
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import TIMEOUT, VIDEO, LiveGateway, live_gateway

ORIGIN = "https://studio.example.com"
OTHER_ORIGIN = "https://evil.example.net"
QUERIES = Path(__file__).resolve().parent.parent / "queries"
VIDEO_LIST = (QUERIES / "video_job_list.graphql").read_text(encoding="utf-8")
COUNT = "{ videoJobs(first: 1) { totalCount } }"
# Every header the gateway's browser clients send (README, "Browsers and HTTP").
CLIENT_HEADERS = (
    "authorization",
    "x-auth-token",
    "x-app-userid",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
    "x-graphql-event-stream-token",
    "x-request-id",
    "traceparent",
    "tracestate",
    "content-type",
)
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
ACCEPT_MULTIPART = "multipart/mixed;subscriptionSpec=1.0,application/json"


@pytest.fixture
async def gateway(emulator: LoopbackServer) -> AsyncIterator[GatewayClient]:
    async with gateway_client(emulator.url, allowed_origins=(ORIGIN,)) as client:
        yield client


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url, allowed_origins=(ORIGIN,)) as gateway:
        yield gateway


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


def listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",") if item.strip()}


async def raw(
    http: httpx.AsyncClient, method: str, accept_encoding: str, **options: Any
) -> tuple[httpx.Response, bytes]:
    """A response and its body exactly as sent, before any content decoding."""
    headers = {"Accept-Encoding": accept_encoding, **options.pop("headers", {})}
    async with http.stream(method, "/graphql", headers=headers, **options) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


def page_request(token: str = "alice-token") -> dict[str, Any]:
    return {"json": {"query": VIDEO_LIST, "variables": {"first": 100}}, "headers": {"X-Auth-Token": token}}


def get_params(document: str, variables: dict[str, Any] | None = None) -> dict[str, str]:
    return {"query": document, "variables": json.dumps(variables or {})}


# CORS


@pytest.mark.parametrize("method", ["POST", "GET", "PUT", "DELETE"])
async def test_a_preflight_from_an_allowed_origin_allows_every_header_clients_send(
    gateway: GatewayClient, method: str
) -> None:
    response = await gateway.http.options(
        "/graphql",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": ",".join(CLIENT_HEADERS),
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert method in response.headers["access-control-allow-methods"].split(", ")
    assert listed(response.headers["access-control-allow-headers"]) >= set(CLIENT_HEADERS)
    assert response.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in response.headers
    assert {"origin", "access-control-request-method", "access-control-request-headers"} <= listed(
        response.headers["vary"]
    )


async def test_a_preflight_names_an_origin_with_its_default_port_as_browsers_send_it(
    emulator: LoopbackServer,
) -> None:
    async with gateway_client(emulator.url, allowed_origins=("HTTPS://Studio.Example.com:443",)) as gateway:
        response = await gateway.http.options(
            "/graphql", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    ("origin", "method", "request_headers"),
    [
        (OTHER_ORIGIN, "POST", "content-type"),
        ("null", "POST", "content-type"),
        (ORIGIN, "PATCH", "content-type"),
        (ORIGIN, "POST", "content-type,x-secret-header"),
    ],
)
async def test_a_refused_preflight_gets_no_cors_headers(
    gateway: GatewayClient, origin: str, method: str, request_headers: str
) -> None:
    response = await gateway.http.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": request_headers,
        },
    )
    assert response.status_code == 400
    assert cors_headers(response) == {}
    assert response.text.startswith("CORS: ")


async def test_a_post_from_an_allowed_origin_may_read_the_answer_and_its_headers(
    gateway: GatewayClient,
) -> None:
    response = await gateway.post({"query": COUNT}, Origin=ORIGIN)
    assert response.status_code == 200
    assert response.json() == {"data": {"videoJobs": {"totalCount": 0}}}
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert listed(response.headers["access-control-expose-headers"]) == {
        "x-request-id",
        "etag",
        "retry-after",
    }
    assert "access-control-allow-credentials" not in response.headers
    assert "origin" in listed(response.headers["vary"])


async def test_a_post_from_another_origin_gets_no_cors_headers(gateway: GatewayClient) -> None:
    response = await gateway.post({"query": COUNT}, Origin=OTHER_ORIGIN)
    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert "origin" in listed(response.headers["vary"])


async def test_with_no_origins_set_a_preflight_is_refused_without_cors_headers(
    emulator: LoopbackServer,
) -> None:
    async with gateway_client(emulator.url) as gateway:
        response = await gateway.http.options(
            "/graphql", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        answer = await gateway.post({"query": COUNT}, Origin=ORIGIN)
    assert response.status_code == 405
    assert cors_headers(response) == {}
    assert cors_headers(answer) == {}


async def test_the_wildcard_origin_lets_any_page_read_answers(emulator: LoopbackServer) -> None:
    async with gateway_client(emulator.url, allowed_origins=("*",)) as gateway:
        preflight = await gateway.http.options(
            "/graphql", headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        answer = await gateway.post({"query": COUNT}, Origin=OTHER_ORIGIN)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers


# Request ids


async def test_every_response_carries_a_request_id(gateway: GatewayClient) -> None:
    http = gateway.http
    responses = [
        await http.get("/healthz"),
        await http.get("/readyz"),
        await http.get("/graphql", headers={"Accept": "text/html"}),
        await http.get("/no-such-page"),
        await http.patch("/graphql"),
        await gateway.post({"query": COUNT}),
        await gateway.post({"query": "{ nope }"}),
        await http.post("/graphql", content=b"[1]", headers={"Content-Type": "application/json"}),
        await http.options("/graphql", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}),
        await http.options(
            "/graphql", headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"}
        ),
    ]
    ids = [response.headers.get("x-request-id", "") for response in responses]
    assert all(GENERATED_ID.fullmatch(value) for value in ids), ids
    assert len(set(ids)) == len(ids)


async def test_a_refusal_while_draining_carries_a_request_id_and_cors(emulator: LoopbackServer) -> None:
    settings = Settings(
        endpoint=emulator.url, project_id=PROJECT, auth_mode="token", allowed_origins=(ORIGIN,)
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
    ):
        await app.state.drain.run(asyncio.get_running_loop().time() + 5)
        response = await http.post(
            "/graphql", json={"query": COUNT}, headers={"Origin": ORIGIN, "X-Request-Id": "drained-1"}
        )
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "shutting down"}
    assert response.headers["x-request-id"] == "drained-1"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "retry-after" in listed(response.headers["access-control-expose-headers"])


@pytest.mark.parametrize("sent", ["abc-123", "trace.7:span_9", "A" * 128])
async def test_a_well_formed_request_id_is_kept(gateway: GatewayClient, sent: str) -> None:
    response = await gateway.post({"query": COUNT}, **{"X-Request-Id": sent})
    assert response.headers["x-request-id"] == sent


@pytest.mark.parametrize("sent", ["has space", "A" * 129, "<script>", "id;level=ERROR", ""])
async def test_a_malformed_request_id_is_replaced(gateway: GatewayClient, sent: str) -> None:
    response = await gateway.post({"query": COUNT}, **{"X-Request-Id": sent})
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


@pytest.mark.parametrize("sent", [None, "client-chosen-1", "not a good id"])
async def test_the_logs_name_the_request_id_the_client_got(
    gateway: GatewayClient, caplog: pytest.LogCaptureFixture, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-Id": sent}
    with caplog.at_level(logging.INFO):
        response = await gateway.post({"query": '{ videoJob(jobId: "no-such-job") { state } }'}, **headers)
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["NOT_FOUND"]
    logged = [record.getMessage() for record in caplog.records if "NOT_FOUND" in record.getMessage()]
    assert logged
    assert all(response.headers["x-request-id"] in line for line in logged)


async def test_a_websocket_handshake_carries_a_request_id(live: LiveGateway) -> None:
    async with connect(
        live.ws_url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        additional_headers={"X-Request-Id": "ws-1"},
    ) as socket:
        assert socket.response is not None
        assert socket.response.headers["X-Request-Id"] == "ws-1"


# Compression


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("*", "br"),
        ("*;q=0.5, gzip;q=0", "br"),
    ],
)
async def test_a_page_of_jobs_comes_compressed_and_decompresses_to_the_same_json(
    gateway: GatewayClient, accept_encoding: str, coding: str
) -> None:
    await gateway.create_videos(100)
    plain, identity = await raw(gateway.http, "POST", "identity", **page_request())
    response, body = await raw(gateway.http, "POST", accept_encoding, **page_request())
    assert len(json.loads(identity)["data"]["videoJobs"]["edges"]) == 100
    assert "content-encoding" not in plain.headers
    assert response.headers["content-encoding"] == coding
    assert int(response.headers["content-length"]) == len(body) < len(identity) / 4
    assert "accept-encoding" in listed(response.headers["vary"])
    decoded = gzip.decompress(body) if coding == "gzip" else brotli.decompress(body)
    assert decoded == identity


@pytest.mark.parametrize(
    "accept_encoding", ["identity", "", "deflate", "br;q=0, gzip;q=0", "gzip;q=0.5, identity"]
)
async def test_a_page_of_jobs_comes_plain_when_the_client_takes_no_offered_coding(
    gateway: GatewayClient, accept_encoding: str
) -> None:
    await gateway.create_videos(100)
    response, body = await raw(gateway.http, "POST", accept_encoding, **page_request())
    assert "content-encoding" not in response.headers
    assert "accept-encoding" in listed(response.headers["vary"])
    assert len(json.loads(body)["data"]["videoJobs"]["edges"]) == 100


async def test_a_small_answer_comes_plain(gateway: GatewayClient) -> None:
    response, body = await raw(
        gateway.http, "POST", "gzip, br", json={"query": COUNT}, headers={"X-Auth-Token": "alice-token"}
    )
    assert "content-encoding" not in response.headers
    assert json.loads(body) == {"data": {"videoJobs": {"totalCount": 0}}}


async def test_compression_follows_its_settings(emulator: LoopbackServer) -> None:
    async with gateway_client(emulator.url, compression=("gzip",), compression_min_bytes=10) as gateway:
        small, body = await raw(
            gateway.http, "POST", "br, gzip", json={"query": COUNT}, headers={"X-Auth-Token": "alice-token"}
        )
        assert small.headers["content-encoding"] == "gzip"
        assert json.loads(gzip.decompress(body)) == {"data": {"videoJobs": {"totalCount": 0}}}
    async with gateway_client(emulator.url, compression=()) as gateway:
        await gateway.create_videos(100)
        response, _ = await raw(gateway.http, "POST", "br, gzip", **page_request())
        assert "content-encoding" not in response.headers


def test_compression_settings_are_read_and_checked() -> None:
    defaults = Settings.from_env({})
    assert (defaults.compression, defaults.compression_min_bytes) == (("br", "gzip"), 1024)
    chosen = Settings.from_env({"GATEWAY_COMPRESSION": "GZIP, br", "GATEWAY_COMPRESSION_MIN_BYTES": "2048"})
    assert (chosen.compression, chosen.compression_min_bytes) == (("gzip", "br"), 2048)
    assert Settings.from_env({"GATEWAY_COMPRESSION": "off"}).compression == ()
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"GATEWAY_COMPRESSION": "zstd", "GATEWAY_COMPRESSION_MIN_BYTES": "0"})
    assert [problem.split(":")[0] for problem in refused.value.problems] == [
        "GATEWAY_COMPRESSION",
        "GATEWAY_COMPRESSION_MIN_BYTES",
    ]


async def sse_first_then_rest(live: LiveGateway, job_id: str, accept_encoding: str) -> list[str]:
    """The states of a graphql-sse stream: the job is moved on only once the first event has arrived, so
    that event cannot have waited for the stream's end."""
    states: list[str] = []
    event = ""
    headers = {
        "Accept": "text/event-stream",
        "X-Auth-Token": "alice-token",
        "Accept-Encoding": accept_encoding,
    }
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream(
            "POST", "/graphql", json={"query": VIDEO, "variables": {"jobId": job_id}}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
                if event == "complete":
                    break
            elif line.startswith("data:") and event == "next":
                states.append(json.loads(line.partition(":")[2])["data"]["videoJobStateChanged"]["state"])
                if len(states) == 1:
                    await live.client.set_state(job_id, "SUCCEED")
    return states


async def test_an_sse_stream_is_never_compressed_and_streams(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    assert await sse_first_then_rest(live, job_id, "gzip, br") == ["WAITING", "SUCCEED"]


async def test_a_multipart_stream_is_never_compressed_and_streams(live: LiveGateway) -> None:
    job_id = await live.client.create_video()
    headers = {"Accept": ACCEPT_MULTIPART, "X-Auth-Token": "alice-token", "Accept-Encoding": "gzip, br"}
    received = b""
    moved = False
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream(
            "POST", "/graphql", json={"query": VIDEO, "variables": {"jobId": job_id}}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/mixed")
        assert "content-encoding" not in response.headers
        async for chunk in response.aiter_raw():
            received += chunk
            if not moved and b'"WAITING"' in received:
                moved = True
                await live.client.set_state(job_id, "SUCCEED")
    assert moved
    assert received.index(b'"WAITING"') < received.index(b'"SUCCEED"')
    assert received.rstrip().endswith(b"--graphql--")


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
