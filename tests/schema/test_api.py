"""What every client meets whatever the job kind: global ids, auth, error codes, the call budget."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLError

from schema.errors import INTERNAL_MESSAGE, ErrorMapping, client_error
from schema.relay import encode_global_id
from tests.support.gateway import GatewayClient, gateway_client
from tests.support.servers import LoopbackServer, free_port

NODES = """
query ($ids: [ID!]!) {
  nodes(ids: $ids) { id ... on Job { jobId rawState } }
}
"""


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_node_resolves_each_kind_by_its_global_id(gateway: GatewayClient) -> None:
    ids = {
        "VideoJob": await gateway.create_video(),
        "TrainingJob": await gateway.create_training(),
        "PictureModelingJob": await gateway.create_picture(),
    }
    for type_name, job_id in ids.items():
        global_id = encode_global_id(type_name, job_id)
        body = await gateway.query(
            "query ($id: ID!) { node(id: $id) { __typename id ... on Job { jobId } } }", {"id": global_id}
        )
        assert body["data"]["node"] == {"__typename": type_name, "id": global_id, "jobId": job_id}


async def test_nodes_mix_kinds_in_as_few_calls_as_single_lookups_need(gateway: GatewayClient) -> None:
    videos = [await gateway.create_video() for _ in range(3)] + [await gateway.create_photo_video()]
    training = [await gateway.create_training() for _ in range(2)]
    picture = await gateway.create_picture()
    ids = [encode_global_id("VideoJob", v) for v in videos]
    ids += [encode_global_id("TrainingJob", t) for t in training]
    ids += [encode_global_id("PictureModelingJob", picture)]
    ids += [ids[0], ids[4]]  # repeats cost nothing
    await gateway.reset_calls()

    body = await gateway.query(NODES, {"ids": ids})

    assert "errors" not in body
    assert [n["jobId"] for n in body["data"]["nodes"]] == [
        *videos,
        *training,
        picture,
        videos[0],
        training[0],
    ]
    calls = await gateway.calls()
    operations = sorted(c["operation"] for c in calls)
    # Four videos in one batched list call; two training and one picture job, one show call each.
    assert operations == [
        "ListDigitalHumanVideo",
        "Show2dModelTrainingJob",
        "Show2dModelTrainingJob",
        "ShowPictureModelingJob",
    ]


async def test_a_missing_or_malformed_node_fails_alone(gateway: GatewayClient) -> None:
    video = await gateway.create_video()
    ids = [
        encode_global_id("VideoJob", video),
        encode_global_id("TrainingJob", "no-such-job"),
        "not-an-id",
        "Zm9vOmJhcg",
    ]

    body = await gateway.query(NODES, {"ids": ids})

    nodes = body["data"]["nodes"]
    assert nodes[0]["jobId"] == video
    assert nodes[1:] == [None, None, None]
    errors = {tuple(e["path"]): e for e in body["errors"]}
    assert errors[("nodes", 1)]["extensions"]["code"] == "NOT_FOUND"
    assert "no-such-job" in errors[("nodes", 1)]["message"]
    assert errors[("nodes", 2)]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[("nodes", 3)]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_token_mode_without_a_token_is_unauthenticated_and_calls_nothing(
    gateway: GatewayClient,
) -> None:
    await gateway.reset_calls()
    body = await gateway.query("{ videoJobs { totalCount } }", token=None)
    assert body["data"] is None
    assert codes(body) == ["UNAUTHENTICATED"]
    assert "X-Auth-Token" in body["errors"][0]["message"]
    assert await gateway.calls() == []


async def test_a_bearer_token_works_like_x_auth_token(gateway: GatewayClient) -> None:
    await gateway.create_video("bob-token")
    body = await gateway.query("{ videoJobs { totalCount } }", token=None, Authorization="Bearer bob-token")
    assert body == {"data": {"videoJobs": {"totalCount": 1}}}


async def test_a_token_the_upstream_refuses_is_unauthenticated_with_upstream_details(
    gateway: GatewayClient,
) -> None:
    body = await gateway.query("{ videoJobs { totalCount } }", token="stolen-token")
    assert codes(body) == ["UNAUTHENTICATED"]
    upstream = body["errors"][0]["extensions"]["upstream"]
    assert upstream["status"] == 401
    assert upstream["errorCode"] == "MSS.00000001"
    assert upstream["requestId"]
    assert "stolen-token" not in str(body)


async def test_upstream_failures_keep_the_http_status_200_and_carry_the_upstream_details(
    gateway: GatewayClient,
) -> None:
    await gateway.emulator.post("/_emulator/faults", json={"path": "digital-human-videos$", "status": 503})
    response = await gateway.post({"query": "{ videoJobs { totalCount } }"})
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["upstream"]["status"] == 503
    assert error["extensions"]["upstream"]["requestId"]
    assert error["path"] == ["videoJobs"]


async def test_a_slow_upstream_is_an_upstream_timeout(emulator: LoopbackServer) -> None:
    async with gateway_client(emulator.url, read_timeout=0.2, total_timeout=1.0) as gateway:
        await gateway.emulator.post(
            "/_emulator/faults", json={"path": "digital-human-videos$", "delay": 1.0, "status": 200}
        )
        body = await gateway.query("{ videoJobs { totalCount } }")
    assert codes(body) == ["UPSTREAM_TIMEOUT"]


async def test_an_unreachable_upstream_is_upstream_unavailable() -> None:
    async with gateway_client(f"http://127.0.0.1:{free_port()}") as gateway:
        body = await gateway.query("{ trainingJobs { totalCount } }")
    assert codes(body) == ["UPSTREAM_UNAVAILABLE"]
    assert "upstream" in body["errors"][0]["extensions"]


async def test_a_request_over_its_call_budget_fails_clearly_without_hammering(
    emulator: LoopbackServer,
) -> None:
    async with gateway_client(emulator.url, call_budget=3) as gateway:
        jobs = [await gateway.create_training() for _ in range(6)]
        await gateway.reset_calls()
        fields = " ".join(f'j{i}: trainingJob(jobId: "{job}") {{ name }}' for i, job in enumerate(jobs))
        body = await gateway.query(f"{{ {fields} }}")
        calls = await gateway.calls()
    # The static estimate (six lookups) refuses it before the first call.
    assert calls == []
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "OPERATION_LIMIT_EXCEEDED",
        "limit": {"name": "cost", "max": 3, "actual": 6},
    }
    assert "too many upstream calls" in error["message"]


async def test_queries_also_work_over_get(gateway: GatewayClient) -> None:
    await gateway.create_video()
    response = await gateway.http.get(
        "/graphql", params={"query": "{ videoJobs { totalCount } }"}, headers={"X-Auth-Token": "alice-token"}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"videoJobs": {"totalCount": 1}}}


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        ("{ videoJobs {", {}, "GRAPHQL_PARSE_FAILED"),
        ("{ videoJobs { nope } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        ("query ($id: String!) { videoJob(jobId: $id) { jobId } }", {"id": 7}, "BAD_USER_INPUT"),
    ],
)
async def test_parse_validation_and_variable_errors_carry_their_codes(
    gateway: GatewayClient, document: str, variables: dict[str, Any], code: str
) -> None:
    response = await gateway.post({"query": document, "variables": variables})
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == [code]


def test_unexpected_exceptions_are_masked_as_internal() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def broken(self) -> str:
            raise RuntimeError("database password is hunter2")

    result = strawberry.Schema(query=Query, extensions=[ErrorMapping]).execute_sync("{ broken }")
    assert result.errors is not None
    error = result.errors[0].formatted
    assert error["message"] == INTERNAL_MESSAGE
    assert error["extensions"] == {"code": "INTERNAL"}
    assert "hunter2" not in str(error)


def test_client_errors_keep_their_own_code() -> None:
    error = GraphQLError("first must be between 1 and 100", extensions={"code": "BAD_USER_INPUT"})
    assert client_error(error).extensions == {"code": "BAD_USER_INPUT"}


async def test_graphiql_is_served_to_browsers_from_the_gateway_itself(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "unpkg.com" not in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_a_direct_http_client_sees_json_not_the_ide(gateway: GatewayClient) -> None:
    response = await gateway.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Accept": "application/json"}
    )
    assert response.json() == {"data": {"__typename": "Query"}}
    assert isinstance(response, httpx.Response)
