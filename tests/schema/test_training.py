"""Training jobs through /graphql on the emulator: fields, call counts, errors, pages, filters, callers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from schema.relay import encode_cursor
from tests.support.gateway import GatewayClient

QUERIES = Path(__file__).resolve().parents[2] / "queries"
TRAINING_LIST = (QUERIES / "training_job_list.graphql").read_text(encoding="utf-8")
TRAINING_DETAIL = (QUERIES / "training_job_detail.graphql").read_text(encoding="utf-8")
LIST = "List2dModelTrainingJob"
SHOW = "Show2dModelTrainingJob"


async def upstream_calls(gateway: GatewayClient, operation: str) -> list[dict[str, Any]]:
    return [call for call in await gateway.calls() if call["operation"] == operation]


def sent_query(call: dict[str, Any]) -> dict[str, list[str]]:
    return parse_qs(call["query"], keep_blank_values=True)


def by_ids(job_ids: list[str], fields: str) -> str:
    lookups = "\n".join(
        f'j{i}: trainingJob(jobId: "{job_id}") {{ {fields} }}' for i, job_id in enumerate(job_ids)
    )
    return f"query {{ {lookups} }}"


async def test_a_page_of_jobs_with_its_list_fields_costs_one_upstream_call(gateway: GatewayClient) -> None:
    created = [await gateway.create_training(name=f"Model {n}") for n in range(3)]
    await gateway.reset_calls()

    body = await gateway.query(TRAINING_LIST, {"first": 10})

    assert "errors" not in body, body
    page = body["data"]["trainingJobs"]
    assert page["totalCount"] == 3
    assert [edge["node"]["jobId"] for edge in page["edges"]] == created
    first = page["edges"][0]["node"]
    assert first["name"] == "Model 0"
    assert (first["state"], first["phase"], first["rawState"]) == (
        "WAIT_FILE_UPLOAD",
        "PENDING_UPLOAD",
        "WAIT_FILE_UPLOAD",
    )
    assert first["terminal"] is False
    assert (first["batchName"], first["tags"], first["modelResolution"]) == ("spring", ["demo"], "1080P")
    assert first["createTime"].endswith("Z") or "+00:00" in first["createTime"]
    calls = await gateway.calls()
    assert [call["operation"] for call in calls] == [LIST]


async def test_detail_fields_of_a_page_cost_one_show_call_per_job(gateway: GatewayClient) -> None:
    created = [await gateway.create_training() for _ in range(3)]
    await gateway.reset_calls()

    body = await gateway.query(
        "{ trainingJobs(first: 10) { edges { node { jobId name operationLogs { logType operateUser }"
        " trainingVideoDownloadUrl commentLogs { commentType } } } } }"
    )

    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["trainingJobs"]["edges"]]
    assert all(
        node["operationLogs"] == [{"logType": "USER_CREATE_JOD", "operateUser": "USER"}] for node in nodes
    )
    assert all(node["trainingVideoDownloadUrl"].startswith("http") for node in nodes)
    assert len(await upstream_calls(gateway, LIST)) == 1
    shows = await upstream_calls(gateway, SHOW)
    assert sorted(call["path"].rsplit("/", 1)[1] for call in shows) == sorted(created)


async def test_jobs_by_id_cost_one_show_call_each_and_repeated_ids_cost_nothing(
    gateway: GatewayClient,
) -> None:
    created = [await gateway.create_training(name=f"Model {n}") for n in range(4)]
    await gateway.reset_calls()

    asked = [*created, created[0], created[2], created[0]]
    body = await gateway.query(by_ids(asked, "jobId name state operationLogs { logType }"))

    assert "errors" not in body, body
    assert [body["data"][f"j{i}"]["jobId"] for i in range(len(asked))] == asked
    assert body["data"]["j4"]["name"] == "Model 0"
    calls = await gateway.calls()
    assert [call["operation"] for call in calls] == [SHOW] * 4
    assert sorted(call["path"].rsplit("/", 1)[1] for call in calls) == sorted(created)


async def test_the_detail_page_reads_every_field_with_one_show_call(gateway: GatewayClient) -> None:
    job_id = await gateway.create_training(
        name="Anna",
        tags=["demo", "news"],
        is_flexus=True,
        voice_properties={"job_tag": "NEWS", "sex": "FEMALE", "language": "CN"},
        audio_source_type="AUDIO",
    )
    await gateway.reset_calls()

    body = await gateway.query(TRAINING_DETAIL, {"jobId": job_id})

    assert "errors" not in body, body
    job = body["data"]["trainingJob"]
    assert job["jobId"] == job_id and job["id"] and job["id"] != job_id
    assert (job["name"], job["contact"], job["batchName"], job["tags"]) == (
        "Anna",
        "13800000000",
        "spring",
        ["demo", "news"],
    )
    assert (job["state"], job["phase"], job["terminal"], job["error"]) == (
        "WAIT_FILE_UPLOAD",
        "PENDING_UPLOAD",
        False,
        None,
    )
    assert (job["modelVersion"], job["mattingType"], job["modelResolution"]) == ("V3_2", "AI", "1080P")
    assert (job["isFlexus"], job["isLiveCopy"], job["isBackgroundReplacement"]) == (True, False, True)
    assert job["projectId"] == "demo-project"
    assert job["voiceProperties"] == {"jobTag": "NEWS", "sex": "FEMALE", "language": "CN"}
    assert job["audioSourceType"] == "AUDIO" and job["audioFileDownloadUrl"].startswith("http")
    assert job["supportedService"] == ["VIDEO_2D", "LIVE_2D"]
    assert job["flexusRetryCount"] == 3
    assert job["isMaskFileUploaded"] is False
    assert job["verifyVideoDownloadUrl"] is None  # not made until the job is submitted
    assert job["operationLogs"] == [
        {
            "operateTime": job["createTime"],
            "logType": "USER_CREATE_JOD",
            "logDescription": None,
            "operateUser": "USER",
            "errorCode": None,
            "redoReasons": [],
        }
    ]
    assert job["commentLogs"] == [] and job["samples"] == [] and job["subTrainingJobInfo"] == []
    assert job["trainingVideoMarkInfo"] is None and job["allocatedResource"] is None
    assert [call["operation"] for call in await gateway.calls()] == [SHOW]


async def test_a_missing_job_is_null_with_not_found_on_that_field_only(gateway: GatewayClient) -> None:
    job_id = await gateway.create_training()

    body = await gateway.query(
        f'{{ found: trainingJob(jobId: "{job_id}") {{ jobId name }}'
        ' missing: trainingJob(jobId: "0000000000000000000000000000dead") { jobId name } }'
    )

    assert body["data"] == {"found": {"jobId": job_id, "name": "Anna"}, "missing": None}
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["path"] == ["missing"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "0000000000000000000000000000dead" in error["message"]


async def test_an_empty_job_id_is_not_found_without_an_upstream_call(gateway: GatewayClient) -> None:
    await gateway.reset_calls()

    body = await gateway.query('{ trainingJob(jobId: "") { jobId } }')

    assert body["data"] == {"trainingJob": None}
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await gateway.calls() == []


async def test_a_failing_job_fails_only_its_own_field(gateway: GatewayClient) -> None:
    good, bad = await gateway.create_training(), await gateway.create_training()
    fault = await gateway.emulator.post(
        "/_emulator/faults", json={"method": "GET", "path": f"/jobs/{bad}$", "status": 500, "times": None}
    )
    assert fault.status_code == 200, fault.text

    body = await gateway.query(by_ids([good, bad], "jobId name operationLogs { logType }"))

    assert body["data"]["j0"]["jobId"] == good
    assert body["data"]["j1"] is None
    assert [error["path"] for error in body["errors"]] == [["j1"]]
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"
    assert body["errors"][0]["extensions"]["upstream"]["status"] == 500


async def test_pages_follow_each_other_through_cursors(gateway: GatewayClient) -> None:
    created = [await gateway.create_training(name=f"Model {n}") for n in range(5)]
    await gateway.reset_calls()

    seen: list[str] = []
    after: str | None = None
    pages = []
    calls = []
    while True:
        await gateway.reset_calls()
        body = await gateway.query(TRAINING_LIST, {"first": 2, "after": after})
        assert "errors" not in body, body
        page = body["data"]["trainingJobs"]
        pages.append(page["pageInfo"])
        calls.append([sent_query(call) for call in await upstream_calls(gateway, LIST)])
        seen += [edge["node"]["jobId"] for edge in page["edges"]]
        assert page["totalCount"] == 5
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == created
    assert [info["hasPreviousPage"] for info in pages] == [False, True, True]
    # The first page is one call; a later one asks from its cursor's create time on, plus one count of
    # the whole list for its totalCount.
    assert [len(page_calls) for page_calls in calls] == [1, 2, 2]
    assert "create_since" not in calls[0][0]
    for walk, count in calls[1:]:
        assert walk["offset"] == ["0"] and "create_since" in walk
        assert count["limit"] == ["1"] and "create_since" not in count


async def test_a_bad_cursor_or_page_size_is_bad_user_input_and_calls_nothing(gateway: GatewayClient) -> None:
    await gateway.reset_calls()
    picture_cursor = encode_cursor("PictureModelingJob", 3)

    for variables, named in (
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"after": "not-a-cursor"}, "after"),
        ({"after": picture_cursor}, "after"),
    ):
        body = await gateway.query(TRAINING_LIST, variables)
        assert body["data"] is None, body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert named in error["message"]
    assert await gateway.calls() == []


async def test_filters_reach_the_upstream_as_its_query_parameters(gateway: GatewayClient) -> None:
    await gateway.reset_calls()
    where = {
        "states": ["AUTO_VERIFYING", "WAIT_FILE_UPLOAD"],
        "createdSince": "2024-01-01T00:00:00Z",
        "createdUntil": "2024-12-31T23:59:59+08:00",
        "updatedSince": "2024-02-01T00:00:00Z",
        "updatedUntil": "2025-01-01T00:00:00Z",
        "batchName": "spring",
        "tag": "demo",
        "jobId": "abc",
        "name": "Ann",
        "modelResolution": "4K",
        "isFlexus": True,
        "isLiveCopy": False,
        "isOndemandResource": False,
        "trainLocation": "cn-north-4",
        "sortBy": "UPDATE_TIME",
        "sortDirection": "DESC",
    }

    body = await gateway.query(TRAINING_LIST, {"first": 5, "filter": where})

    assert "errors" not in body, body
    [call] = await upstream_calls(gateway, LIST)
    assert sent_query(call) == {
        "offset": ["0"],
        "limit": ["5"],
        "state": ["WAIT_FILE_UPLOAD,AUTO_VERIFYING"],
        "create_since": ["2024-01-01T00:00:00Z"],
        "create_until": ["2024-12-31T15:59:59Z"],
        "update_since": ["2024-02-01T00:00:00Z"],
        "update_until": ["2025-01-01T00:00:00Z"],
        "batch_name": ["spring"],
        "tag": ["demo"],
        "job_id": ["abc"],
        "name": ["Ann"],
        "model_resolution": ["4K"],
        "is_flexus": ["true"],
        "is_live_copy": ["false"],
        "is_ondemand_resource": ["false"],
        "train_location": ["cn-north-4"],
        "sort_key": ["update_time"],
        "sort_dir": ["desc"],
    }


async def test_filters_narrow_the_list(gateway: GatewayClient) -> None:
    spring = await gateway.create_training(name="Spring model")
    autumn = await gateway.create_training(name="Autumn model", batch_name="autumn", tags=["news"])
    await gateway.set_state(autumn, "TRAIN_FAILED")

    async def listed(where: dict[str, Any]) -> list[str]:
        body = await gateway.query(TRAINING_LIST, {"filter": where})
        assert "errors" not in body, body
        return [edge["node"]["jobId"] for edge in body["data"]["trainingJobs"]["edges"]]

    assert await listed({"batchName": "autumn"}) == [autumn]
    assert await listed({"tag": "news"}) == [autumn]
    assert await listed({"name": "Spring"}) == [spring]
    assert await listed({"states": ["WAIT_FILE_UPLOAD"]}) == [spring]
    assert await listed({"phases": ["TRAINING"]}) == [autumn]
    assert await listed({"sortBy": "CREATE_TIME", "sortDirection": "DESC"}) == [autumn, spring]


async def test_a_phase_filter_asks_for_the_states_it_groups(gateway: GatewayClient) -> None:
    await gateway.reset_calls()

    body = await gateway.query(TRAINING_LIST, {"filter": {"phases": ["VERIFYING", "SUCCEEDED"]}})
    assert "errors" not in body, body
    [call] = await upstream_calls(gateway, LIST)
    assert sent_query(call)["state"] == ["AUTO_VERIFYING,MANUAL_VERIFYING,JOB_SUCCESS,JOB_FINISH"]

    both = {"phases": ["VERIFYING"], "states": ["MANUAL_VERIFYING", "JOB_SUCCESS"]}
    body = await gateway.query(TRAINING_LIST, {"filter": both})
    assert sent_query((await upstream_calls(gateway, LIST))[-1])["state"] == ["MANUAL_VERIFYING"]

    await gateway.reset_calls()
    body = await gateway.query(TRAINING_LIST, {"filter": {"phases": ["REJECTED"], "states": ["TRAINING"]}})
    assert body["data"]["trainingJobs"]["totalCount"] == 0
    assert await upstream_calls(gateway, LIST) == []  # no state can match both: nothing to ask


async def test_unknown_is_no_filter_value(gateway: GatewayClient) -> None:
    for where in ({"states": ["UNKNOWN"]}, {"phases": ["UNKNOWN"]}):
        body = await gateway.query(TRAINING_LIST, {"filter": where})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "UNKNOWN" in body["errors"][0]["message"]


async def test_state_phase_and_terminal_follow_the_upstream_state(gateway: GatewayClient) -> None:
    expected = {
        "AUTO_VERIFYING": ("VERIFYING", False),
        "MANUAL_VERIFY_FAILED": ("VERIFY_FAILED", True),
        "TRAINING": ("TRAINING", False),
        "TRAIN_FAILED": ("TRAINING", True),
        "MANUAL_STOP_TRAIN": ("TRAINING", True),
        "WAIT_USER_CONFIRM": ("AWAITING_USER_CONFIRMATION", False),
        "JOB_REJECT": ("REJECTED", True),
        "JOB_SUCCESS": ("SUCCEEDED", True),
        "JOB_FINISH": ("SUCCEEDED", True),
        "JOB_PENDING": ("SUSPENDED", False),
    }
    jobs = {}
    for state in expected:
        jobs[state] = await gateway.create_training()
        await gateway.set_state(jobs[state], state)

    body = await gateway.query(by_ids(list(jobs.values()), "state rawState phase terminal"))

    assert "errors" not in body, body
    for i, (state, (phase, terminal)) in enumerate(expected.items()):
        assert body["data"][f"j{i}"] == {
            "state": state,
            "rawState": state,
            "phase": phase,
            "terminal": terminal,
        }


async def test_each_caller_sees_only_their_own_jobs(gateway: GatewayClient) -> None:
    alice = [await gateway.create_training(name="Alice's", token="alice-token") for _ in range(2)]
    bob = [await gateway.create_training(name="Bob's", token="bob-token") for _ in range(3)]

    as_alice, as_bob, bob_peeks = await asyncio.gather(
        gateway.query(TRAINING_LIST, token="alice-token"),
        gateway.query(TRAINING_LIST, token="bob-token"),
        gateway.query(by_ids([alice[0], bob[0]], "jobId name"), token="bob-token"),
    )

    assert [e["node"]["jobId"] for e in as_alice["data"]["trainingJobs"]["edges"]] == alice
    assert [e["node"]["jobId"] for e in as_bob["data"]["trainingJobs"]["edges"]] == bob
    assert bob_peeks["data"] == {"j0": None, "j1": {"jobId": bob[0], "name": "Bob's"}}
    assert [error["extensions"]["code"] for error in bob_peeks["errors"]] == ["NOT_FOUND"]


async def test_a_training_job_is_a_node(gateway: GatewayClient) -> None:
    job_id = await gateway.create_training()
    global_id = (await gateway.query(TRAINING_DETAIL, {"jobId": job_id}))["data"]["trainingJob"]["id"]
    await gateway.reset_calls()

    body = await gateway.query(
        "query($id: ID!) { node(id: $id) { id ... on TrainingJob { jobId name phase } } }", {"id": global_id}
    )

    assert body["data"]["node"] == {
        "id": global_id,
        "jobId": job_id,
        "name": "Anna",
        "phase": "PENDING_UPLOAD",
    }
    assert [call["operation"] for call in await gateway.calls()] == [SHOW]
