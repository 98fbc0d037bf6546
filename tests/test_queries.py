"""Every operation in queries/ is valid against the schema, runs against the emulator, and makes
exactly the upstream calls the API needs for it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import parse, validate

from schema import schema
from schema.relay import decode_global_id, encode_global_id
from tests.schema.test_picture_mutations import png
from tests.schema.test_video_mutations import PHOTO_INPUT, VIDEO_INPUT
from tests.support.gateway import GatewayClient

QUERIES = Path(__file__).resolve().parents[1] / "queries"
Variables = Callable[[GatewayClient], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Operation:
    """How to run one operation file, and the upstream calls it must cost (the API's minimum)."""

    variables: Variables
    upstream_calls: int
    # Sent as a GraphQL multipart request with a PNG at variables.input.file.
    uploads_a_picture: bool = False
    # A subscription: read over multipart HTTP until it completes.
    streams: bool = False


async def no_variables(gateway: GatewayClient) -> dict[str, Any]:
    await gateway.create_videos(3)
    await gateway.create_training()
    await gateway.create_picture()
    return {}


async def a_video(gateway: GatewayClient) -> dict[str, Any]:
    return {"jobId": await gateway.create_video()}


async def a_training_job(gateway: GatewayClient) -> dict[str, Any]:
    return {"jobId": await gateway.create_training()}


async def a_picture_job(gateway: GatewayClient) -> dict[str, Any]:
    return {"jobId": await gateway.create_picture()}


async def a_mix_of_jobs(gateway: GatewayClient) -> dict[str, Any]:
    videos = [await gateway.create_video(), await gateway.create_photo_video()]
    training = [await gateway.create_training(), await gateway.create_training()]
    pictures = [await gateway.create_picture()]
    ids = [encode_global_id("VideoJob", v) for v in videos]
    ids += [encode_global_id("TrainingJob", t) for t in training]
    ids += [encode_global_id("PictureModelingJob", p) for p in pictures]
    return {"ids": ids}


async def a_new_video(gateway: GatewayClient) -> dict[str, Any]:
    return {"input": VIDEO_INPUT}


async def a_new_photo_video(gateway: GatewayClient) -> dict[str, Any]:
    return {"input": PHOTO_INPUT}


async def an_ended_video(gateway: GatewayClient) -> dict[str, Any]:
    job_id = await gateway.create_video()
    await gateway.set_state(job_id, "SUCCEED")
    return {"jobId": job_id}


async def an_ended_training_job(gateway: GatewayClient) -> dict[str, Any]:
    job_id = await gateway.create_training()
    await gateway.set_state(job_id, "JOB_SUCCESS")
    return {"jobId": job_id}


async def an_ended_picture_job(gateway: GatewayClient) -> dict[str, Any]:
    job_id = await gateway.create_picture()
    await gateway.set_state(job_id, "SUCCEED")
    return {"jobId": job_id}


async def a_mix_of_ended_jobs(gateway: GatewayClient) -> dict[str, Any]:
    variables = await a_mix_of_jobs(gateway)
    ended = ["SUCCEED", "FAILED", "JOB_SUCCESS", "JOB_SUCCESS", "SUCCEED"]
    for global_id, state in zip(variables["ids"], ended, strict=True):
        await gateway.set_state(decode_global_id(global_id)[1], state)
    return variables


async def a_training_input(gateway: GatewayClient) -> dict[str, Any]:
    return {"input": {"name": "Anna"}}


async def a_picture_url_input(gateway: GatewayClient) -> dict[str, Any]:
    return {
        "input": {
            "pictureUrl": "https://example.com/face.png",
            "styleId": "system_male_001",
            "name": "Portrait",
        }
    }


async def a_picture_upload_input(gateway: GatewayClient) -> dict[str, Any]:
    return {"input": {"file": None, "styleId": "system_female_001", "name": "Portrait"}}


# The minimum for each: a list is one call; a video by id needs the batched list (its kind) and
# then its kind's show call; training and picture jobs have no batch lookup, so one show call each;
# a dashboard of counts per state needs one list call per state; a write is its own call, plus one
# read so the payload shows the job as the upstream now sees it (a delete returns no job).
OPERATIONS: dict[str, Operation] = {
    "video_job_list.graphql": Operation(no_variables, 1),
    "video_job_detail.graphql": Operation(a_video, 2),
    "video_job_counts.graphql": Operation(no_variables, 7),
    "training_job_list.graphql": Operation(no_variables, 1),
    "training_job_detail.graphql": Operation(a_training_job, 1),
    "picture_modeling_job_list.graphql": Operation(no_variables, 1),
    "picture_modeling_job_detail.graphql": Operation(a_picture_job, 1),
    "jobs_by_id.graphql": Operation(a_mix_of_jobs, 1 + 2 + 1),
    "create_video_job.graphql": Operation(a_new_video, 2),
    "create_photo_video_job.graphql": Operation(a_new_photo_video, 2),
    # The kind and state first (one list call), the cancel, then the job as it now is.
    "cancel_video_job.graphql": Operation(a_video, 3),
    "create_training_job.graphql": Operation(a_training_input, 2),
    "submit_training_job.graphql": Operation(a_training_job, 2),
    "delete_training_job.graphql": Operation(a_training_job, 1),
    "create_picture_modeling_job_from_url.graphql": Operation(a_picture_url_input, 2),
    "create_picture_modeling_job.graphql": Operation(a_picture_upload_input, 2, uploads_a_picture=True),
    # A job that already ended: the stream's one event is its first read, then it completes; a mix
    # of kinds reads its first events together, like jobs_by_id.
    "video_job_state_changed.graphql": Operation(an_ended_video, 1, streams=True),
    "training_job_state_changed.graphql": Operation(an_ended_training_job, 1, streams=True),
    "picture_modeling_job_state_changed.graphql": Operation(an_ended_picture_job, 1, streams=True),
    "job_state_changed.graphql": Operation(a_mix_of_ended_jobs, 1 + 2 + 1, streams=True),
}


def operation_files() -> list[str]:
    return sorted(p.name for p in QUERIES.glob("*.graphql"))


def test_every_operation_file_has_a_run_and_a_call_count() -> None:
    assert operation_files() == sorted(OPERATIONS), (
        "add new queries/ files to OPERATIONS with their call count"
    )


@pytest.mark.parametrize("name", operation_files())
def test_operation_is_valid_against_the_schema(name: str) -> None:
    document = parse((QUERIES / name).read_text(encoding="utf-8"))
    assert validate(schema._schema, document) == []
    assert len([d for d in document.definitions if d.kind == "operation_definition"]) == 1


@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_operation_runs_against_the_emulator_with_the_minimum_upstream_calls(
    gateway: GatewayClient, name: str
) -> None:
    operation = OPERATIONS[name]
    body = await run_operation(gateway, name)
    assert "errors" not in body, body["errors"]
    assert all(value is not None for value in body["data"].values())
    for value in body["data"].values():
        if isinstance(value, dict):
            assert value.get("userErrors", []) == [], value["userErrors"]
    calls = await gateway.calls()
    assert len(calls) == operation.upstream_calls, [(c["method"], c["path"], c["query"]) for c in calls]


async def run_operation(gateway: GatewayClient, name: str) -> dict[str, Any]:
    """One operation file run as a client would send it, its variables made first and the emulator's
    call log cleared just before, so the log then holds exactly the operation's upstream calls."""
    operation = OPERATIONS[name]
    variables = await operation.variables(gateway)
    await gateway.reset_calls()
    document = (QUERIES / name).read_text(encoding="utf-8")
    if operation.uploads_a_picture:
        return await send_with_picture(gateway, document, variables)
    if operation.streams:
        return await stream_to_the_end(gateway, document, variables)
    return await gateway.query(document, variables)


async def send_with_picture(
    gateway: GatewayClient, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    operations = {"query": document, "variables": variables}
    response = await gateway.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"1": ["variables.input.file"]})},
        files={"1": ("face.png", png(64, 48), "image/png")},
        headers={"Apollo-Require-Preflight": "true", "X-Auth-Token": "alice-token"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def stream_to_the_end(
    gateway: GatewayClient, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """A subscription over multipart HTTP, read until it completes; its events merged as one body."""
    response = await gateway.http.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={
            "Accept": "multipart/mixed;subscriptionSpec=1.0,application/json",
            "X-Auth-Token": "alice-token",
        },
    )
    assert response.status_code == 200, response.text
    assert response.text.rstrip().endswith("--graphql--"), "the stream did not complete"
    events = []
    for part in response.text.split("\r\n--graphql"):
        _, _, payload = part.partition("\r\n\r\n")
        message = json.loads(payload) if payload.strip() else {}
        if "payload" in message:
            events.append(message["payload"])
    assert events, "the stream sent no event"
    errors = [error for event in events for error in event.get("errors", [])]
    data = {key: value for event in events for key, value in (event.get("data") or {}).items()}
    return {"data": data, **({"errors": errors} if errors else {})}
