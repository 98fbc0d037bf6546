"""Bad input gets a clear error that names the problem, never a 500 or INTERNAL, and creates nothing."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.schema.test_picture_mutations import jpeg, payload_of, png, upload
from tests.support.gateway import TRAINING_BODY, GatewayClient, gateway_client
from tests.support.servers import LoopbackServer, free_port


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'"{ videoJobs { totalCount } }"', "a string"),
        (b"42", "a number"),
        (b"null", "null"),
        (b"[1, 2]", "an array of non-objects"),
        (b"[]", "an empty array"),
        (b"true", "a boolean"),
    ],
)
async def test_a_json_body_that_is_no_object_is_a_400_with_a_graphql_error(
    gateway: GatewayClient, body: bytes, kind: str
) -> None:
    response = await gateway.http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json", "X-Auth-Token": "alice-token"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["message"] == f"the request body must be a JSON object with a `query`, not {kind}"
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_body_that_is_no_json_is_a_400_with_a_graphql_error(gateway: GatewayClient) -> None:
    response = await gateway.http.post(
        "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


LONG = "x" * 100_000


@pytest.mark.parametrize(
    ("document", "variables", "field", "argument"),
    [
        ("query($id: String!) { videoJob(jobId: $id) { state } }", {"id": LONG}, "videoJob", "jobId"),
        (f'{{ trainingJob(jobId: "{LONG[:1000]}") {{ name }} }}', {}, "trainingJob", "jobId"),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": LONG}, "node", "id"),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["a", LONG]}, "nodes", "ids"),
        ("query($c: String) { videoJobs(after: $c) { totalCount } }", {"c": LONG}, "videoJobs", "after"),
        (
            "query($f: VideoJobFilter) { videoJobs(filter: $f) { totalCount } }",
            {"f": {"scriptId": LONG}},
            "videoJobs",
            "filter",
        ),
        (
            "mutation($id: String!) { cancelVideoJob(jobId: $id) { job { state } } }",
            {"id": LONG},
            "cancelVideoJob",
            "jobId",
        ),
    ],
    ids=["variable", "literal", "node", "nodes", "cursor", "filter", "mutation"],
)
async def test_an_overlong_id_or_string_argument_is_bad_user_input_naming_it(
    gateway: GatewayClient, document: str, variables: dict[str, Any], field: str, argument: str
) -> None:
    body = await gateway.query(document, variables)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (error["extensions"]["field"], error["extensions"]["argument"]) == (field, argument)
    assert f"{field}({argument}:)" in error["message"]
    assert "got 100000" in error["message"] or "got 1000" in error["message"]
    assert await gateway.calls() == []


async def test_an_id_of_the_longest_allowed_length_still_reaches_the_upstream(gateway: GatewayClient) -> None:
    body = await gateway.query('{ trainingJob(jobId: "%s") { name } }' % ("a" * 64))
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


CREATE_TRAINING = """
mutation($input: CreateTrainingJobInput!) {
  createTrainingJob(input: $input) { job { jobId } userErrors { code message } }
}"""


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A Redis server of this test's own, so that the test can stop it under a running gateway."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout == b"PONG\n":
            break
        time.sleep(0.05)
    yield server, port
    server.kill()
    server.wait()


async def test_a_create_with_a_key_while_redis_is_down_is_retryable_and_creates_nothing(
    emulator: LoopbackServer, own_redis: tuple[subprocess.Popen[bytes], int]
) -> None:
    redis, port = own_redis
    async with gateway_client(emulator.url, redis_url=f"redis://127.0.0.1:{port}/0") as gateway:
        redis.kill()
        redis.wait()
        variables = {
            "input": {
                "name": TRAINING_BODY["name"],
                "contact": TRAINING_BODY["contact"],
                "idempotencyKey": "key-while-redis-is-down",
            }
        }
        body = await gateway.query(CREATE_TRAINING, variables)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        assert error["extensions"]["retryable"] is True
        assert "idempotency store cannot be reached" in error["message"]
        assert "no job was created" in error["message"]
        assert await gateway.calls() == []

        # Without a key there is nothing to remember, so the create goes ahead.
        del variables["input"]["idempotencyKey"]
        created = await gateway.query(CREATE_TRAINING, variables)
        assert created["data"]["createTrainingJob"]["job"]["jobId"]


def _truncated_pngs() -> list[bytes]:
    whole = png(64, 48, noise=48)
    return [whole[:33], whole[:-12], whole[:-1]]


@pytest.mark.parametrize("content", _truncated_pngs(), ids=["33 bytes", "no IEND", "cut IEND"])
async def test_a_truncated_png_is_refused_as_an_invalid_picture(
    gateway: GatewayClient, content: bytes
) -> None:
    payload = payload_of(await upload(gateway, content, "face.png", "image/png"))
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("UNSUPPORTED_FILE", ["input", "file"])
    assert "not a whole PNG picture" in error["message"]
    assert await gateway.calls() == []


async def test_a_truncated_jpeg_is_refused_as_an_invalid_picture(gateway: GatewayClient) -> None:
    whole = jpeg(32, 24)
    # 33 bytes end before the frame header says how large the picture is: no JPEG to recognise.
    payload = payload_of(await upload(gateway, whole[:33], "face.jpg", "image/jpeg"))
    [error] = payload["userErrors"]
    assert error["code"] == "UNSUPPORTED_FILE"
    for content in (whole[:-5], whole[:-2]):
        payload = payload_of(await upload(gateway, content, "face.jpg", "image/jpeg"))
        [error] = payload["userErrors"]
        assert error["code"] == "UNSUPPORTED_FILE"
        assert "not a whole JPEG picture" in error["message"], base64.b64encode(content)
    assert await gateway.calls() == []
