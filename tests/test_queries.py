"""Every operation in queries/ is valid against the schema, runs against the emulator, and makes
exactly the upstream calls the API needs for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import parse, validate

from schema import schema
from schema.relay import encode_global_id
from tests.support.gateway import GatewayClient

QUERIES = Path(__file__).resolve().parents[1] / "queries"
Variables = Callable[[GatewayClient], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Operation:
    """How to run one operation file, and the upstream calls it must cost (the API's minimum)."""

    variables: Variables
    upstream_calls: int


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


# The minimum for each: a list is one call; a video by id needs the batched list (its kind) and
# then its kind's show call; training and picture jobs have no batch lookup, so one show call each;
# a dashboard of counts per state needs one list call per state.
OPERATIONS: dict[str, Operation] = {
    "video_job_list.graphql": Operation(no_variables, 1),
    "video_job_detail.graphql": Operation(a_video, 2),
    "video_job_counts.graphql": Operation(no_variables, 7),
    "training_job_list.graphql": Operation(no_variables, 1),
    "training_job_detail.graphql": Operation(a_training_job, 1),
    "picture_modeling_job_list.graphql": Operation(no_variables, 1),
    "picture_modeling_job_detail.graphql": Operation(a_picture_job, 1),
    "jobs_by_id.graphql": Operation(a_mix_of_jobs, 1 + 2 + 1),
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
    variables = await operation.variables(gateway)
    await gateway.reset_calls()
    body = await gateway.query((QUERIES / name).read_text(encoding="utf-8"), variables)
    assert "errors" not in body, body["errors"]
    assert all(value is not None for value in body["data"].values())
    calls = await gateway.calls()
    assert len(calls) == operation.upstream_calls, [(c["method"], c["path"], c["query"]) for c in calls]
