"""Persisted operations through the real gateway: Apollo's APQ over POST, GET, SSE and WebSocket, trusted
documents from queries/, `documentId`, registration shared through Redis, and the manifest command."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from strawberry.http import GraphQLRequestData

from gateway.persisted import PersistedDocuments, PersistedQueryNotFound, RedisRegisteredQueries, resolve
from gateway.settings import Settings, SettingsError
from schema.limits import Limits
from tests.support.gateway import GatewayClient, gateway_client
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer, free_port
from tests.support.subscriptions import TIMEOUT, LiveGateway, live_gateway

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


# --- Trusted documents and documentId ---


def trusted_documents() -> list[Path]:
    return sorted(QUERIES.glob("*.graphql"))


@pytest.mark.parametrize(
    "text",
    [path.read_bytes().decode("utf-8") for path in trusted_documents()],
    ids=[path.stem for path in trusted_documents()],
)
async def test_every_document_in_queries_runs_by_hash_from_the_first_request(
    gateway: GatewayClient, text: str
) -> None:
    by_hash = await post(gateway, {"extensions": apq(sha256(text))})
    by_text = await post(gateway, {"query": text})
    # Whatever the document needs (variables, a stream), the gateway knows it: the answer is the text's.
    assert "PERSISTED_QUERY_NOT_FOUND" not in codes(by_hash)
    assert by_hash == by_text


async def test_a_trusted_query_by_hash_returns_its_data(gateway: GatewayClient) -> None:
    await gateway.create_videos(2)
    text = (QUERIES / "video_job_counts.graphql").read_text()
    body = await post(gateway, {"extensions": apq(sha256(text))})
    assert body["data"]["all"] == {"totalCount": 2}
    assert body["data"]["waiting"] == {"totalCount": 2}


async def test_a_document_id_names_a_trusted_document_over_post_and_get(gateway: GatewayClient) -> None:
    await gateway.create_videos(3)
    digest = sha256((QUERIES / "video_job_counts.graphql").read_text())
    over_post = await post(gateway, {"documentId": f"sha256:{digest}"})
    over_get = await get(gateway, documentId=digest)
    assert over_post == over_get
    assert over_post["data"]["all"] == {"totalCount": 3}


async def test_a_document_id_names_an_apq_registered_document(gateway: GatewayClient) -> None:
    document = fresh("{ videoJobs(first: 1) { totalCount } }")
    await post(gateway, {"query": document, "extensions": apq(sha256(document))})
    body = await post(gateway, {"documentId": f"sha256:{sha256(document)}"})
    assert body == {"data": {"videoJobs": {"totalCount": 0}}}


async def test_an_unknown_or_malformed_document_id_is_refused(gateway: GatewayClient) -> None:
    unknown = sha256(fresh(VIDEO_JOB))
    body = await post(gateway, {"documentId": f"sha256:{unknown}"})
    assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert f"sha256:{unknown}" in body["errors"][0]["message"]
    malformed = await post(gateway, {"documentId": "md5:1234"})
    assert codes(malformed) == ["BAD_USER_INPUT"]
    both = await post(gateway, {"documentId": unknown, "query": "{ __typename }"})
    assert codes(both) == ["BAD_USER_INPUT"]


async def test_trusted_documents_come_from_the_directory_the_setting_names(
    emulator: LoopbackServer, tmp_path: Path
) -> None:
    # CRLF line ends are part of the text, and so of the hash.
    text = "# a count\r\n{ videoJobs(first: 1) { totalCount } }\r\n"
    (tmp_path / "count.graphql").write_bytes(text.encode("utf-8"))
    shipped = (QUERIES / "video_job_counts.graphql").read_text()
    async with gateway_client(emulator.url, trusted_documents=(str(tmp_path),)) as gateway:
        ours = await post(gateway, {"extensions": apq(sha256(text))})
        not_ours = await post(gateway, {"extensions": apq(sha256(shipped))})
    assert ours == {"data": {"videoJobs": {"totalCount": 0}}}
    assert codes(not_ours) == ["PERSISTED_QUERY_NOT_FOUND"]


APP_COUNT = "query AppCount { videoJobs(first: 1) { totalCount } }"
APP_STATE = "query AppState($jobId: String!) { videoJob(jobId: $jobId) { state } }"


def apollo_manifest_file(path: Path, *bodies: str) -> Path:
    operations = [{"id": sha256(b), "name": None, "type": "query", "body": b} for b in bodies]
    manifest = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
    path.write_bytes(orjson.dumps(manifest))
    return path


async def test_trusted_documents_come_from_every_manifest_and_directory_the_setting_lists(
    emulator: LoopbackServer, tmp_path: Path
) -> None:
    apollo = apollo_manifest_file(tmp_path / "web.json", APP_COUNT)
    relay = tmp_path / "ios.json"
    relay.write_bytes(orjson.dumps({sha256(APP_STATE): APP_STATE}))
    shipped = (QUERIES / "video_job_counts.graphql").read_bytes().decode("utf-8")
    sources = (str(QUERIES), str(apollo), str(relay))
    async with gateway_client(emulator.url, trusted_documents=sources, operations="trusted") as gateway:
        job = await gateway.create_video()
        from_apollo = await post(gateway, {"documentId": f"sha256:{sha256(APP_COUNT)}"})
        from_relay = await post(gateway, {"query": APP_STATE, "variables": {"jobId": job}})
        from_queries = await post(gateway, {"extensions": apq(sha256(shipped))})
        other = await post(gateway, {"query": fresh(APP_COUNT)})
    assert from_apollo == {"data": {"videoJobs": {"totalCount": 1}}}
    assert from_relay["data"]["videoJob"]["state"]
    assert from_queries["data"]["all"] == {"totalCount": 1}
    assert codes(other) == ["PERSISTED_QUERY_NOT_IN_LIST"]


def test_a_manifest_the_gateway_cannot_trust_stops_it_at_start(tmp_path: Path) -> None:
    wrong_id = tmp_path / "wrong-id.json"
    operation = {"id": "md5-0123", "name": "AppCount", "type": "query", "body": APP_COUNT}
    manifest = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [operation]}
    wrong_id.write_bytes(orjson.dumps(manifest))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    unparsable = tmp_path / "relay.json"
    unparsable.write_bytes(orjson.dumps({sha256("query {"): "query {"}))
    listed = ",".join(str(p) for p in (wrong_id, broken, unparsable, tmp_path / "missing.json"))
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"GATEWAY_TRUSTED_DOCUMENTS": listed})
    problems = "\n".join(refused.value.problems)
    assert f"{wrong_id}: operation 'md5-0123': the id is not the sha256 of its body" in problems
    assert f"{broken}: not JSON" in problems
    assert f"{unparsable}: operation" in problems and "not a GraphQL document" in problems
    assert f"{tmp_path / 'missing.json'} is neither a directory nor a manifest file" in problems
    assert len(refused.value.problems) == 4


def test_the_persisted_query_settings_are_read_and_checked(tmp_path: Path) -> None:
    manifest_file = apollo_manifest_file(tmp_path / "app.json", APP_COUNT)
    settings = Settings.from_env(
        {"GATEWAY_PERSISTED_QUERIES_MAX": "50", "GATEWAY_TRUSTED_DOCUMENTS": f"{tmp_path}, {manifest_file}"}
    )
    assert settings.persisted_queries_max == 50
    assert settings.trusted_documents == (str(tmp_path), str(manifest_file))
    assert Settings.from_env({}).persisted_queries_max == 10_000
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(
            {"GATEWAY_PERSISTED_QUERIES_MAX": "0", "GATEWAY_TRUSTED_DOCUMENTS": str(tmp_path / "none")}
        )
    assert any(p.startswith("GATEWAY_PERSISTED_QUERIES_MAX:") for p in refused.value.problems)
    assert any(p.startswith("GATEWAY_TRUSTED_DOCUMENTS:") for p in refused.value.problems)


# --- Streams: SSE and WebSocket ---


@pytest.fixture
async def live(emulator: LoopbackServer) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator.url) as gateway:
        yield gateway


async def sse_events(live: LiveGateway, payload: dict[str, Any]) -> list[dict[str, Any]]:
    headers = {"Accept": "text/event-stream", "X-Auth-Token": "alice-token"}
    events: list[dict[str, Any]] = []
    event = ""
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream("POST", "/graphql", json=payload, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
                if event == "complete":
                    break
            elif line.startswith("data:") and event == "next":
                events.append(json.loads(line.partition(":")[2]))
    return events


async def test_over_sse_a_trusted_subscription_runs_by_hash_and_an_unknown_hash_is_streamed_back(
    live: LiveGateway,
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "SUCCEED")
    text = (QUERIES / "video_job_state_changed.graphql").read_text()
    events = await sse_events(live, {"extensions": apq(sha256(text)), "variables": {"jobId": job_id}})
    assert [e["data"]["videoJobStateChanged"]["state"] for e in events] == ["SUCCEED"]
    missed = await sse_events(live, {"extensions": apq(sha256(fresh(text))), "variables": {"jobId": job_id}})
    assert [codes(e) for e in missed] == [["PERSISTED_QUERY_NOT_FOUND"]]


# Each WebSocket protocol's names for starting an operation and for one of its results.
WS_PROTOCOLS = {"graphql-transport-ws": ("subscribe", "next"), "graphql-ws": ("start", "data")}


async def multipart_payloads(live: LiveGateway, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The payloads of an Apollo multipart subscription stream, heartbeats left out."""
    headers = {
        "Accept": "multipart/mixed;subscriptionSpec=1.0,application/json",
        "X-Auth-Token": "alice-token",
    }
    async with (
        asyncio.timeout(TIMEOUT),
        live.client.http.stream("POST", "/graphql", json=payload, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/mixed")
        body = (await response.aread()).decode()
    parts = [part.partition("\r\n\r\n")[2] for part in body.split("\r\n--graphql")]
    return [json.loads(part)["payload"] for part in parts if part.strip() and "payload" in json.loads(part)]


async def test_over_multipart_a_trusted_subscription_runs_by_hash_and_an_unknown_hash_is_sent_back(
    live: LiveGateway,
) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "CANCELED")
    text = (QUERIES / "video_job_state_changed.graphql").read_text()
    payloads = await multipart_payloads(
        live, {"extensions": apq(sha256(text)), "variables": {"jobId": job_id}}
    )
    assert [p["data"]["videoJobStateChanged"]["state"] for p in payloads] == ["CANCELED"]
    missed = await multipart_payloads(
        live, {"extensions": apq(sha256(fresh(text))), "variables": {"jobId": job_id}}
    )
    assert [codes(p) for p in missed] == [["PERSISTED_QUERY_NOT_FOUND"]]


async def ws_messages(live: LiveGateway, protocol: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """What the server sends one operation over a WebSocket, until it completes or fails: results as
    `next`, errors as a list, whichever protocol."""
    start, result = WS_PROTOCOLS[protocol]
    messages: list[dict[str, Any]] = []
    async with (
        asyncio.timeout(TIMEOUT),
        websockets.connect(live.ws_url, subprotocols=[websockets.Subprotocol(protocol)]) as ws,
    ):
        init = {"type": "connection_init", "payload": {"X-Auth-Token": "alice-token"}}
        await ws.send(orjson.dumps(init).decode())
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(orjson.dumps({"type": start, "id": "1", "payload": payload}).decode())
        while True:
            message = json.loads(await ws.recv())
            if message["type"] in ("ping", "ka"):
                continue
            if message["type"] == result:
                message["type"] = "next"
            if message["type"] == "error" and isinstance(message["payload"], dict):
                message["payload"] = [message["payload"]]
            messages.append(message)
            if message["type"] in ("complete", "error"):
                return messages


@pytest.mark.parametrize("protocol", list(WS_PROTOCOLS))
async def test_over_websocket_apq_misses_registers_and_hits(live: LiveGateway, protocol: str) -> None:
    job_id = await live.client.create_video()
    await live.client.set_state(job_id, "FAILED")
    document = fresh("subscription S($jobId: String!) { videoJobStateChanged(jobId: $jobId) { state } }")
    digest, variables = sha256(document), {"jobId": job_id}

    missed = await ws_messages(live, protocol, {"extensions": apq(digest), "variables": variables})
    assert [m["type"] for m in missed] == ["error"]
    assert missed[0]["payload"][0]["message"] == "PersistedQueryNotFound"
    assert missed[0]["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    for payload in (
        {"query": document, "extensions": apq(digest), "variables": variables},
        {"extensions": apq(digest), "variables": variables},
    ):
        messages = await ws_messages(live, protocol, payload)
        assert [m["type"] for m in messages] == ["next", "complete"]
        assert messages[0]["payload"] == {"data": {"videoJobStateChanged": {"state": "FAILED"}}}


async def test_over_websocket_a_hash_that_is_not_the_querys_is_refused(live: LiveGateway) -> None:
    document = fresh("subscription S($jobId: String!) { videoJobStateChanged(jobId: $jobId) { state } }")
    payload = {"query": document, "extensions": apq(sha256(fresh(document))), "variables": {"jobId": "x"}}
    messages = await ws_messages(live, "graphql-transport-ws", payload)
    assert [(m["type"], m["payload"][0]["extensions"]["code"]) for m in messages] == [
        ("error", "BAD_USER_INPUT")
    ]


# --- The manifest command ---


def manifest(*args: str, **env: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "manifest", *args],
        cwd=ROOT,
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    return json.loads(done.stdout)


def test_the_manifest_lists_every_document_in_queries_under_the_sha256_of_its_text() -> None:
    written = manifest()
    assert written["format"] == "apollo-persisted-query-manifest"
    assert written["version"] == 1
    operations = written["operations"]
    assert all(op["id"] == sha256(op["body"]) for op in operations)
    texts = {path.read_bytes().decode("utf-8") for path in trusted_documents()}
    assert {op["body"] for op in operations} == texts
    assert len(operations) == len(texts)
    by_name = {op["name"]: op for op in operations}
    assert by_name["VideoJobCounts"]["type"] == "query"
    assert by_name["CancelVideoJob"]["type"] == "mutation"
    assert by_name["JobStateChanged"]["type"] == "subscription"
    assert set(operations[0]) == {"id", "name", "type", "body"}


def test_the_manifest_lists_the_directory_the_setting_names(tmp_path: Path) -> None:
    text = "mutation Cancel($jobId: String!) { cancelVideoJob(jobId: $jobId) { userErrors { code } } }"
    (tmp_path / "cancel.graphql").write_text(text)
    written = manifest(GATEWAY_TRUSTED_DOCUMENTS=str(tmp_path))
    assert written["operations"] == [{"id": sha256(text), "name": "Cancel", "type": "mutation", "body": text}]


def test_the_manifest_merges_every_source_the_setting_lists(tmp_path: Path) -> None:
    text = "mutation Cancel($jobId: String!) { cancelVideoJob(jobId: $jobId) { userErrors { code } } }"
    (tmp_path / "cancel.graphql").write_text(text)
    app = apollo_manifest_file(tmp_path / "app.json", APP_COUNT, text)
    written = manifest(GATEWAY_TRUSTED_DOCUMENTS=f"{tmp_path},{app}")
    assert [(op["id"], op["name"], op["type"]) for op in written["operations"]] == [
        (sha256(text), "Cancel", "mutation"),
        (sha256(APP_COUNT), "AppCount", "query"),
    ]


def test_the_relay_manifest_maps_each_id_to_its_text() -> None:
    written = manifest("--relay")
    texts = [path.read_bytes().decode("utf-8") for path in trusted_documents()]
    assert written == {sha256(text): text for text in texts}
