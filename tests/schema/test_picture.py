"""Picture modeling jobs through /graphql on the emulator: fields, calls, errors, pages, filters, callers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from schema.picture import PictureModelingJob, PictureModelingJobState, picture_state
from tests.support.gateway import GatewayClient

QUERIES = Path(__file__).resolve().parents[2] / "queries"
PICTURE_LIST = (QUERIES / "picture_modeling_job_list.graphql").read_text(encoding="utf-8")
PICTURE_DETAIL = (QUERIES / "picture_modeling_job_detail.graphql").read_text(encoding="utf-8")
LIST = "ListPictureModelingJobs"
SHOW = "ShowPictureModelingJob"


async def upstream_calls(gateway: GatewayClient, operation: str) -> list[dict[str, Any]]:
    return [call for call in await gateway.calls() if call["operation"] == operation]


def by_ids(job_ids: list[str], fields: str) -> str:
    lookups = "\n".join(
        f'j{i}: pictureModelingJob(jobId: "{job_id}") {{ {fields} }}' for i, job_id in enumerate(job_ids)
    )
    return f"query {{ {lookups} }}"


async def test_a_page_of_jobs_with_every_field_costs_one_upstream_call(gateway: GatewayClient) -> None:
    created = [await gateway.create_picture(name=f"Portrait {n}") for n in range(3)]
    await gateway.set_state(created[1], "SUCCEED")
    await gateway.reset_calls()

    body = await gateway.query(PICTURE_LIST, {"first": 10})

    assert "errors" not in body, body
    page = body["data"]["pictureModelingJobs"]
    assert page["totalCount"] == 3
    nodes = [edge["node"] for edge in page["edges"]]
    assert [node["jobId"] for node in nodes] == created
    assert [(node["state"], node["terminal"]) for node in nodes] == [
        ("WAITING", False),
        ("SUCCEED", True),
        ("WAITING", False),
    ]
    assert (nodes[1]["name"], nodes[1]["styleId"]) == ("Portrait 1", "system_male_001")
    assert nodes[1]["modelCoverUrl"].startswith("http") and nodes[0]["modelCoverUrl"] is None
    assert [call["operation"] for call in await gateway.calls()] == [LIST]


async def test_jobs_by_id_cost_one_show_call_each_and_repeated_ids_cost_nothing(
    gateway: GatewayClient,
) -> None:
    created = [await gateway.create_picture() for _ in range(3)]
    await gateway.reset_calls()

    asked = [*created, created[1], created[1]]
    body = await gateway.query(by_ids(asked, "jobId state name modelAssetId"))

    assert "errors" not in body, body
    assert [body["data"][f"j{i}"]["jobId"] for i in range(len(asked))] == asked
    calls = await gateway.calls()
    assert [call["operation"] for call in calls] == [SHOW] * 3
    assert sorted(call["path"].rsplit("/", 1)[1] for call in calls) == sorted(created)


async def test_the_detail_page_reads_every_field(gateway: GatewayClient) -> None:
    job_id = await gateway.create_picture(name="Portrait")
    await gateway.set_state(job_id, "FAILED", error_code="MSS.00000004", error_msg="No face found")
    await gateway.reset_calls()

    body = await gateway.query(PICTURE_DETAIL, {"jobId": job_id})

    assert "errors" not in body, body
    job = body["data"]["pictureModelingJob"]
    assert job["jobId"] == job_id and job["id"] != job_id
    assert (job["name"], job["styleId"], job["state"], job["rawState"]) == (
        "Portrait",
        "system_male_001",
        "FAILED",
        "FAILED",
    )
    assert job["terminal"] is True
    assert job["error"] == {"code": "MSS.00000004", "message": "No face found"}
    assert len(job["modelAssetId"]) == 32
    assert job["endTime"] is not None and job["modelCoverUrl"] is None
    assert [call["operation"] for call in await gateway.calls()] == [SHOW]


async def test_a_missing_job_is_null_with_not_found_on_that_field_only(gateway: GatewayClient) -> None:
    job_id = await gateway.create_picture()

    body = await gateway.query(by_ids([job_id, "0000000000000000000000000000dead"], "jobId"))

    assert body["data"] == {"j0": {"jobId": job_id}, "j1": None}
    [error] = body["errors"]
    assert error["path"] == ["j1"] and error["extensions"]["code"] == "NOT_FOUND"


async def test_a_failing_job_fails_only_its_own_field(gateway: GatewayClient) -> None:
    good, bad = await gateway.create_picture(), await gateway.create_picture()
    fault = await gateway.emulator.post(
        "/_emulator/faults", json={"method": "GET", "path": f"/picture-modelings/{bad}$", "status": 500}
    )
    assert fault.status_code == 200, fault.text

    body = await gateway.query(by_ids([good, bad], "jobId state"))

    assert body["data"] == {"j0": {"jobId": good, "state": "WAITING"}, "j1": None}
    [error] = body["errors"]
    assert error["path"] == ["j1"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR"


async def test_pages_follow_each_other_and_bad_paging_is_bad_user_input(gateway: GatewayClient) -> None:
    created = [await gateway.create_picture() for _ in range(3)]

    first = (await gateway.query(PICTURE_LIST, {"first": 2}))["data"]["pictureModelingJobs"]
    rest = (await gateway.query(PICTURE_LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["data"][
        "pictureModelingJobs"
    ]

    assert [e["node"]["jobId"] for e in first["edges"] + rest["edges"]] == created
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)
    assert rest["pageInfo"]["hasPreviousPage"] is True
    await gateway.reset_calls()
    for variables in ({"first": 101}, {"first": -1}, {"after": "bm9wZQ"}):
        body = await gateway.query(PICTURE_LIST, variables)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert await gateway.calls() == []


async def test_filters_reach_the_upstream_as_its_query_parameters(gateway: GatewayClient) -> None:
    await gateway.reset_calls()
    where = {
        "states": ["SUCCEED", "PARTIAL_SUCCEED"],
        "createdSince": "2024-01-01T08:00:00+08:00",
        "createdUntil": "2024-06-30T00:00:00Z",
        "sortBy": "UPDATE_TIME",
        "sortDirection": "DESC",
    }

    body = await gateway.query(PICTURE_LIST, {"first": 3, "filter": where})

    assert "errors" not in body, body
    [call] = await upstream_calls(gateway, LIST)
    assert parse_qs(call["query"]) == {
        "offset": ["0"],
        "limit": ["3"],
        "state": ["SUCCEED,PARTIAL_SUCCEED"],
        "create_since": ["2024-01-01T00:00:00Z"],
        "create_until": ["2024-06-30T00:00:00Z"],
        "sort_key": ["update_time"],
        "sort_dir": ["desc"],
    }
    body = await gateway.query(PICTURE_LIST, {"filter": {"states": ["UNKNOWN"]}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_state_filter_narrows_the_list(gateway: GatewayClient) -> None:
    await gateway.create_picture()
    done = await gateway.create_picture()
    await gateway.set_state(done, "PARTIAL_SUCCEED")

    body = await gateway.query(PICTURE_LIST, {"filter": {"states": ["PARTIAL_SUCCEED"]}})

    assert [e["node"]["jobId"] for e in body["data"]["pictureModelingJobs"]["edges"]] == [done]


@pytest.mark.parametrize(
    ("state", "terminal"),
    [
        ("WAITING", False),
        ("PROCESSING", False),
        ("PARTIAL_SUCCEED", True),
        ("SUCCEED", True),
        ("FAILED", True),
        ("CANCELED", True),
    ],
)
async def test_every_state_reads_as_itself(gateway: GatewayClient, state: str, terminal: bool) -> None:
    job_id = await gateway.create_picture()
    await gateway.set_state(job_id, state)

    body = await gateway.query(by_ids([job_id], "state rawState terminal"))

    assert body["data"]["j0"] == {"state": state, "rawState": state, "terminal": terminal}


@pytest.mark.parametrize("raw", ["QUEUED", "succeed", None])
def test_an_unexpected_state_is_unknown_and_never_terminal(raw: object) -> None:
    assert picture_state(raw) is PictureModelingJobState.UNKNOWN
    assert PictureModelingJob.is_terminal(str(raw)) is False


async def test_each_caller_sees_only_their_own_jobs(gateway: GatewayClient) -> None:
    alice = await gateway.create_picture(token="alice-token")
    bob = await gateway.create_picture(token="bob-token")

    as_alice, as_bob = await asyncio.gather(
        gateway.query(PICTURE_LIST, token="alice-token"),
        gateway.query(by_ids([alice, bob], "jobId"), token="bob-token"),
    )

    assert [e["node"]["jobId"] for e in as_alice["data"]["pictureModelingJobs"]["edges"]] == [alice]
    assert as_bob["data"] == {"j0": None, "j1": {"jobId": bob}}
    assert [error["extensions"]["code"] for error in as_bob["errors"]] == ["NOT_FOUND"]
