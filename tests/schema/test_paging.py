"""Pages of job lists through /graphql: anchored on the create time, so that jobs created or deleted
between two pages neither repeat nor hide one; backward pages; PageInfo; cursors of other lists refused."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.emulator import create_app as create_emulator
from schema.paging import DEFAULT_PAGE
from schema.relay import encode_cursor
from tests.support.gateway import V1, GatewayClient, emulator_config, gateway_client
from tests.support.servers import serve

# A whole second, in the emulator's default list window.
START = 1_780_000_000.0


class SteppedClock:
    """The emulator's clock: jobs are created at the times a test says."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
async def gateway(clock: SteppedClock) -> AsyncIterator[GatewayClient]:
    with serve(create_emulator(emulator_config(), clock)) as emulator:
        async with gateway_client(emulator.url) as client:
            yield client


LISTS = {
    "videoJobs": "VideoJobFilter",
    "trainingJobs": "TrainingJobFilter",
}

PAGE = """query ($first: Int, $after: String, $last: Int, $before: String, $filter: %(filter)s) {
  jobs: %(field)s(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { jobId } }
  }
}"""


def page_document(field: str) -> str:
    return PAGE % {"field": field, "filter": LISTS[field]}


async def create(gateway: GatewayClient, field: str, clock: SteppedClock, at: float) -> str:
    clock.now = START + at
    if field == "videoJobs":
        return await gateway.create_video()
    return await gateway.create_training()


async def read_page(gateway: GatewayClient, field: str, **variables: Any) -> dict[str, Any]:
    body = await gateway.query(page_document(field), variables)
    assert "errors" not in body, body["errors"]
    page: dict[str, Any] = body["data"]["jobs"]
    return page


def job_ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["jobId"] for edge in page["edges"]]


def flags(page: dict[str, Any]) -> tuple[bool, bool]:
    return page["pageInfo"]["hasPreviousPage"], page["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize("field", sorted(LISTS))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_a_job_created_between_two_pages_neither_repeats_nor_hides_one(
    gateway: GatewayClient, clock: SteppedClock, field: str, direction: str
) -> None:
    # Three jobs in one second, two in the next: pages end inside a second as well as between seconds.
    created = [await create(gateway, field, clock, at) for at in (0.1, 0.2, 0.3, 1.1, 1.2)]
    where = {"sortDirection": direction}
    first = await read_page(gateway, field, first=2, filter=where)

    # Created while the reader looks at the first page: the newest job of all.
    newest = await create(gateway, field, clock, 1.5)
    rest = await read_page(gateway, field, first=10, after=first["pageInfo"]["endCursor"], filter=where)

    if direction == "ASC":
        assert job_ids(first) + job_ids(rest) == [*created, newest]
    else:
        # The new job sorts ahead of the first page: the pages after it go on where they left off.
        assert job_ids(first) + job_ids(rest) == created[::-1]
    assert flags(first) == (False, True)
    assert flags(rest) == (True, False)
    assert rest["totalCount"] == 6


@pytest.mark.parametrize("field", sorted(LISTS))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_a_job_created_in_the_same_second_as_the_page_end_is_neither_repeated_nor_hidden(
    gateway: GatewayClient, clock: SteppedClock, field: str, direction: str
) -> None:
    created = [await create(gateway, field, clock, at) for at in (0.1, 0.2, 0.3, 0.4)]
    where = {"sortDirection": direction}
    first = await read_page(gateway, field, first=2, filter=where)

    # Same second as every job so far: a tie of the first page's last job.
    tied = await create(gateway, field, clock, 0.5)
    rest = await read_page(gateway, field, first=10, after=first["pageInfo"]["endCursor"], filter=where)

    seen = job_ids(first) + job_ids(rest)
    if direction == "ASC":
        assert seen == [*created, tied]
    else:
        assert seen == created[::-1]
    assert len(set(seen)) == len(seen)


@pytest.mark.parametrize("field", sorted(LISTS))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_paging_forward_then_backward_returns_the_same_pages(
    gateway: GatewayClient, clock: SteppedClock, field: str, direction: str
) -> None:
    # Seven jobs over three seconds, two of them sharing a second across a page boundary.
    for at in (0.1, 0.2, 1.1, 1.2, 1.3, 2.1, 2.2):
        await create(gateway, field, clock, at)
    where = {"sortDirection": direction}

    forward = [await read_page(gateway, field, first=3, filter=where)]
    while forward[-1]["pageInfo"]["hasNextPage"]:
        forward.append(
            await read_page(gateway, field, first=3, after=forward[-1]["pageInfo"]["endCursor"], filter=where)
        )
    backward = [
        await read_page(gateway, field, last=3, before=forward[-1]["pageInfo"]["startCursor"], filter=where)
    ]
    while backward[-1]["pageInfo"]["hasPreviousPage"]:
        backward.append(
            await read_page(
                gateway, field, last=3, before=backward[-1]["pageInfo"]["startCursor"], filter=where
            )
        )

    assert [len(page["edges"]) for page in forward] == [3, 3, 1]
    assert [job_ids(page) for page in backward] == [job_ids(page) for page in forward[-2::-1]]
    assert [flags(page) for page in forward] == [(False, True), (True, True), (True, False)]
    assert [flags(page) for page in backward] == [(True, True), (False, True)]
    # Every page's edges carry the cursors its pageInfo names.
    for page in forward + backward:
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        assert page["totalCount"] == 7


@pytest.mark.parametrize("field", sorted(LISTS))
async def test_last_alone_is_the_end_of_the_list_in_list_order(
    gateway: GatewayClient, clock: SteppedClock, field: str
) -> None:
    created = [await create(gateway, field, clock, at) for at in (0.1, 0.2, 1.1, 2.1, 2.2)]

    tail = await read_page(gateway, field, last=2)
    desc_tail = await read_page(gateway, field, last=2, filter={"sortDirection": "DESC"})

    assert job_ids(tail) == created[-2:]
    assert job_ids(desc_tail) == created[1::-1]
    assert flags(tail) == flags(desc_tail) == (True, False)
    assert tail["totalCount"] == 5


async def test_a_page_after_a_deleted_job_goes_on_from_where_it_stood(
    gateway: GatewayClient, clock: SteppedClock
) -> None:
    created = [await create(gateway, "trainingJobs", clock, at) for at in (0.1, 0.2, 0.3, 1.1, 1.2)]
    first = await read_page(gateway, "trainingJobs", first=2)

    # The job the cursor points at is deleted before the next page is read.
    deleted = await gateway.emulator.delete(
        f"{V1}/digital-human-training-manage/user/jobs/{created[1]}", headers={"X-Auth-Token": "alice-token"}
    )
    assert deleted.status_code in (200, 204), deleted.text
    rest = await read_page(gateway, "trainingJobs", first=10, after=first["pageInfo"]["endCursor"])

    assert job_ids(rest) == created[2:]
    assert flags(rest) == (True, False)


async def test_lists_without_a_first_or_last_get_the_same_default_page(gateway: GatewayClient) -> None:
    await gateway.create_videos(DEFAULT_PAGE + 2)
    for _ in range(DEFAULT_PAGE + 2):
        await gateway.create_training()
        await gateway.create_picture()

    body = await gateway.query(
        "{ videoJobs { edges { cursor } } trainingJobs { edges { cursor } } "
        "pictureModelingJobs { edges { cursor } } }"
    )

    assert {name: len(connection["edges"]) for name, connection in body["data"].items()} == {
        "videoJobs": DEFAULT_PAGE,
        "trainingJobs": DEFAULT_PAGE,
        "pictureModelingJobs": DEFAULT_PAGE,
    }


async def test_picture_modeling_jobs_page_backward_by_offset(
    gateway: GatewayClient, clock: SteppedClock
) -> None:
    created = []
    for second in range(5):
        clock.now = START + second
        created.append(await gateway.create_picture())
    document = """query ($first: Int, $after: String, $last: Int, $before: String) {
      pictureModelingJobs(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { jobId } }
      } }"""

    async def page(**variables: Any) -> dict[str, Any]:
        body = await gateway.query(document, variables)
        assert "errors" not in body, body
        connection: dict[str, Any] = body["data"]["pictureModelingJobs"]
        return connection

    tail = await page(last=2)
    before = await page(last=2, before=tail["pageInfo"]["startCursor"])
    front = await page(last=2, before=before["pageInfo"]["startCursor"])

    assert [job_ids(p) for p in (front, before, tail)] == [created[:1], created[1:3], created[3:]]
    assert [flags(p) for p in (front, before, tail)] == [(False, True), (True, True), (True, False)]


async def test_an_offset_cursor_of_an_earlier_version_still_reads(
    gateway: GatewayClient, clock: SteppedClock
) -> None:
    created = [await create(gateway, "videoJobs", clock, at) for at in (0.1, 1.1, 2.1, 3.1)]

    rest = await read_page(gateway, "videoJobs", first=10, after=encode_cursor("VideoJob", 1))

    assert job_ids(rest) == created[2:]
    assert flags(rest) == (True, False)
    # Its jobs carry cursors of this version, which go on from them.
    again = await read_page(gateway, "videoJobs", first=10, after=rest["edges"][0]["cursor"])
    assert job_ids(again) == created[3:]


def forged(fields: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


async def test_cursors_of_another_list_another_order_or_forged_are_bad_user_input(
    gateway: GatewayClient, clock: SteppedClock
) -> None:
    await create(gateway, "videoJobs", clock, 0.1)
    await create(gateway, "trainingJobs", clock, 0.2)
    video_cursor = (await read_page(gateway, "videoJobs", first=1))["pageInfo"]["endCursor"]
    training_cursor = (await read_page(gateway, "trainingJobs", first=1))["pageInfo"]["endCursor"]
    await gateway.reset_calls()

    refused: list[tuple[str, dict[str, Any]]] = [
        ("videoJobs", {"after": training_cursor}),
        ("trainingJobs", {"before": video_cursor}),
        ("videoJobs", {"after": video_cursor, "filter": {"sortDirection": "DESC"}}),
        ("videoJobs", {"after": video_cursor, "filter": {"sortBy": "UPDATE_TIME"}}),
        ("videoJobs", {"after": "not-a-cursor"}),
        ("videoJobs", {"after": forged([2, "VideoJob", "create_time:asc", "k", "yesterday", "x", 1, "a"])}),
        ("videoJobs", {"after": forged([2, "VideoJob", "create_time:asc", "k", None, "", 1, "a"])}),
        ("videoJobs", {"after": forged([2, "VideoJob", "create_time:asc", "o", -1])}),
        ("videoJobs", {"after": forged({"offset": 3})}),
        ("videoJobs", {"after": encode_cursor("TrainingJob", 3)}),
        ("videoJobs", {"first": 2, "last": 2}),
        ("videoJobs", {"after": video_cursor, "before": video_cursor}),
        ("videoJobs", {"first": 2, "before": video_cursor}),
        ("trainingJobs", {"last": 0}),
        ("trainingJobs", {"last": 101}),
    ]
    for field, variables in refused:
        body = await gateway.query(page_document(field), variables)
        assert body["data"] is None, (field, variables)
        assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"], variables
    assert await gateway.calls() == []


async def test_a_page_from_a_cursor_is_estimated_at_two_calls_before_it_runs(clock: SteppedClock) -> None:
    with serve(create_emulator(emulator_config(), clock)) as emulator:
        async with gateway_client(emulator.url, call_budget=1) as gateway:
            await create(gateway, "videoJobs", clock, 0.1)
            first = await read_page(gateway, "videoJobs", first=1)
            await gateway.reset_calls()

            body = await gateway.query(page_document("videoJobs"), {"after": first["pageInfo"]["endCursor"]})

            [error] = body["errors"]
            assert error["extensions"]["code"] == "OPERATION_LIMIT_EXCEEDED"
            assert error["extensions"]["limit"] == {"name": "cost", "max": 1, "actual": 2}
            assert await gateway.calls() == []
