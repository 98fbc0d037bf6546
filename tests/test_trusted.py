"""Trusted documents from queries/ and manifests, documentId, and the manifest command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.settings import Settings, SettingsError
from tests.support.gateway import GatewayClient, gateway_client
from tests.support.servers import LoopbackServer
from tests.test_persisted import QUERIES, ROOT, VIDEO_JOB, apq, codes, fresh, get, post, sha256

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
