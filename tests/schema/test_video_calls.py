"""How few upstream calls video job reads cost: batched by id, a list then shows, scripts when asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.schema.test_video import LIST, SHOW_2D, SHOW_PHOTO, aliased, operations, params, video_calls
from tests.support.gateway import GatewayClient, gateway_client
from tests.support.servers import LoopbackServer


@pytest.fixture
async def aliasing_gateway(emulator: LoopbackServer) -> AsyncIterator[GatewayClient]:
    """A gateway allowing 250 aliases and the tokens they take (GATEWAY_MAX_ALIASES, GATEWAY_MAX_TOKENS),
    for lookups of many jobs in one document."""
    async with gateway_client(emulator.url, max_aliases=250, max_tokens=5000) as client:
        yield client


async def test_fifty_jobs_by_id_cost_one_upstream_call(aliasing_gateway: GatewayClient) -> None:
    gateway = aliasing_gateway
    job_ids = await gateway.create_videos(50)
    await gateway.reset_calls()

    body = await gateway.query(aliased(job_ids, "jobId kind state createTime"))

    assert "errors" not in body
    assert [body["data"][f"j{n}"]["jobId"] for n in range(50)] == job_ids
    assert {job["kind"] for job in body["data"].values()} == {"DIGITAL_HUMAN_2D"}
    calls = await video_calls(gateway)
    assert operations(calls) == [LIST]
    sent = params(calls[0])
    assert sorted(sent["job_ids"]) == sorted(job_ids)
    assert sent["limit"] == ["50"]
    assert sent["create_since"] == ["2000-01-01T00:00:00Z"]


async def test_a_connection_filtered_by_fifty_ids_costs_one_call(gateway: GatewayClient) -> None:
    job_ids = await gateway.create_videos(50)
    await gateway.reset_calls()

    body = await gateway.query(
        """query ($ids: [String!]) {
          videoJobs(first: 50, filter: {jobIds: $ids}) { totalCount edges { node { jobId state kind } } }
        }""",
        {"ids": job_ids},
    )

    assert "errors" not in body
    connection = body["data"]["videoJobs"]
    assert connection["totalCount"] == 50
    assert sorted(edge["node"]["jobId"] for edge in connection["edges"]) == sorted(job_ids)
    assert operations(await video_calls(gateway)) == [LIST]


async def test_two_hundred_fifty_jobs_by_id_cost_three_calls_of_at_most_a_hundred(
    aliasing_gateway: GatewayClient,
) -> None:
    gateway = aliasing_gateway
    job_ids = await gateway.create_videos(250)
    await gateway.reset_calls()

    body = await gateway.query(aliased(job_ids))

    assert "errors" not in body
    assert [body["data"][f"j{n}"]["jobId"] for n in range(250)] == job_ids
    calls = await video_calls(gateway)
    assert operations(calls) == [LIST] * 3
    sizes = sorted(len(params(call)["job_ids"]) for call in calls)
    assert sizes == [50, 100, 100]
    assert all(params(call)["limit"] == [str(len(params(call)["job_ids"]))] for call in calls)
    assert sorted(job_id for call in calls for job_id in params(call)["job_ids"]) == sorted(job_ids)


async def test_thirty_aliased_video_job_fields_cost_one_call(gateway: GatewayClient) -> None:
    job_ids = await gateway.create_videos(30)
    await gateway.reset_calls()

    body = await gateway.query(aliased(job_ids, "id jobId state rawState terminal outputAsset { assetName }"))

    assert "errors" not in body
    assert body["data"]["j29"]["outputAsset"] == {"assetName": "Greeting"}
    assert operations(await video_calls(gateway)) == [LIST]


async def test_duplicate_ids_cost_nothing_extra(gateway: GatewayClient) -> None:
    job_ids = await gateway.create_videos(10)
    await gateway.reset_calls()

    body = await gateway.query(aliased(job_ids * 3))

    assert "errors" not in body
    assert [body["data"][f"j{n}"]["jobId"] for n in range(30)] == job_ids * 3
    calls = await video_calls(gateway)
    assert operations(calls) == [LIST]
    assert sorted(params(calls[0])["job_ids"]) == sorted(job_ids)


async def test_video_nodes_by_global_id_batch_into_one_call(gateway: GatewayClient) -> None:
    job_ids = await gateway.create_videos(50)
    listed = await gateway.query("{ videoJobs(first: 50) { edges { node { id jobId } } } }")
    ids = {edge["node"]["jobId"]: edge["node"]["id"] for edge in listed["data"]["videoJobs"]["edges"]}
    await gateway.reset_calls()

    body = await gateway.query(
        "query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on VideoJob { jobId state } } }",
        {"ids": [ids[job_id] for job_id in job_ids]},
    )

    assert "errors" not in body
    assert [node["jobId"] for node in body["data"]["nodes"]] == job_ids
    assert operations(await video_calls(gateway)) == [LIST]


async def test_a_page_of_fifty_jobs_with_every_summary_field_costs_one_call(gateway: GatewayClient) -> None:
    await gateway.create_videos(45)
    photo_ids = [await gateway.create_photo_video() for _ in range(5)]
    await gateway.reset_calls()

    body = await gateway.query(
        """{ videoJobs(first: 50) { totalCount edges { cursor node {
              id jobId kind jobType state rawState terminal error { code message }
              startTime endTime duration createTime lastUpdateTime
              outputAsset { assetId assetName coverUrl previewVideoUrl }
        } } } }"""
    )

    assert "errors" not in body
    nodes = [edge["node"] for edge in body["data"]["videoJobs"]["edges"]]
    assert len(nodes) == 50
    kinds = {node["jobId"]: node["kind"] for node in nodes}
    assert all(kinds[job_id] == "PHOTO_DIGITAL_HUMAN" for job_id in photo_ids)
    assert nodes[0]["jobType"] == "2D_DIGITAL_HUMAN_VIDEO"
    assert nodes[0]["state"] == nodes[0]["rawState"] == "WAITING"
    assert nodes[0]["terminal"] is False
    assert nodes[0]["createTime"].endswith(("Z", "+00:00"))
    assert operations(await video_calls(gateway)) == [LIST]


async def test_detail_fields_of_a_page_s_rows_cost_one_show_call_each_after_the_list(
    gateway: GatewayClient,
) -> None:
    job_ids = await gateway.create_videos(3)
    photo_id = await gateway.create_photo_video()
    await gateway.reset_calls()

    body = await gateway.query(
        "{ videoJobs(first: 4) { edges { node { jobId state scriptId voiceConfig { voiceAssetId } } } } }"
    )

    assert "errors" not in body
    nodes = {edge["node"]["jobId"]: edge["node"] for edge in body["data"]["videoJobs"]["edges"]}
    assert set(nodes) == {*job_ids, photo_id}
    assert nodes[photo_id]["voiceConfig"] == {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"}
    # The rows' kinds come from the list: no list call by id before the show calls.
    assert operations(await video_calls(gateway)) == [LIST, *[SHOW_2D] * 3, SHOW_PHOTO]


async def test_summary_fields_of_a_job_by_id_make_no_show_call(gateway: GatewayClient) -> None:
    job_id = await gateway.create_video()
    await gateway.reset_calls()

    body = await gateway.query(aliased([job_id], "kind state error { code } outputAsset { assetName }"))

    assert body["data"]["j0"]["kind"] == "DIGITAL_HUMAN_2D"
    assert operations(await video_calls(gateway)) == [LIST]


async def test_selected_scripts_ask_the_show_endpoint_for_them(gateway: GatewayClient) -> None:
    job_id = await gateway.create_video()
    photo_id = await gateway.create_photo_video()
    await gateway.reset_calls()

    body = await gateway.query(
        aliased(
            [job_id, photo_id], "shootScripts { sequenceNo shootScript { scriptType textConfig { text } } }"
        )
    )

    assert "errors" not in body
    assert body["data"]["j0"]["shootScripts"] == [
        {"sequenceNo": 0, "shootScript": {"scriptType": "TEXT", "textConfig": {"text": "Hello there."}}}
    ]
    assert body["data"]["j1"]["shootScripts"][0]["shootScript"]["textConfig"] == {"text": "Hi from a photo."}
    shows = [call for call in await video_calls(gateway) if call["operation"] != LIST]
    assert operations(shows) == [SHOW_2D, SHOW_PHOTO]
    assert all(params(call) == {"show_script": ["true"]} for call in shows)


async def test_details_without_scripts_do_not_ask_for_them(gateway: GatewayClient) -> None:
    job_id = await gateway.create_video()
    await gateway.reset_calls()

    body = await gateway.query(aliased([job_id], "modelAssetId voiceConfig { speed }"))

    assert body["data"]["j0"] == {
        "modelAssetId": "cda7e9a469ee9cf3ffc1ad62794a12ff",
        "voiceConfig": {"speed": 100},
    }
    shows = [call for call in await video_calls(gateway) if call["operation"] == SHOW_2D]
    assert len(shows) == 1
    assert "show_script" not in params(shows[0])


async def test_details_and_scripts_together_cost_one_show_call_per_job(gateway: GatewayClient) -> None:
    await gateway.create_videos(4)
    await gateway.create_photo_video()
    await gateway.reset_calls()

    body = await gateway.query(
        """{ videoJobs(first: 10) { edges { node {
              jobId state scriptId modelAssetId humanImage voiceConfig { voiceAssetId }
              videoConfig { codec } backgroundMusicConfig { volume } shootScripts { sequenceNo }
        } } } }"""
    )

    assert "errors" not in body
    calls = await video_calls(gateway)
    assert operations(calls) == [LIST, *[SHOW_2D] * 4, SHOW_PHOTO]
    shows = [call for call in calls if call["operation"] != LIST]
    assert len({call["path"] for call in shows}) == 5
    assert all(params(call) == {"show_script": ["true"]} for call in shows)


async def test_a_known_kind_lets_a_later_request_ask_only_the_show_endpoint(gateway: GatewayClient) -> None:
    job_id = await gateway.create_video()
    photo_id = await gateway.create_photo_video()
    await gateway.query(aliased([job_id, photo_id], "kind"))
    await gateway.reset_calls()

    body = await gateway.query(
        aliased([job_id, photo_id], "jobId state createTime scriptId voiceConfig { voiceAssetId }")
    )

    assert "errors" not in body
    assert body["data"]["j0"]["state"] == "WAITING"
    assert body["data"]["j1"]["voiceConfig"] == {"voiceAssetId": "f5e6a13eab4443fa85421191ad061780"}
    assert operations(await video_calls(gateway)) == [SHOW_2D, SHOW_PHOTO]


async def test_an_unknown_kind_costs_one_batched_list_call_before_the_show_calls(
    gateway: GatewayClient,
) -> None:
    job_ids = await gateway.create_videos(3)
    await gateway.reset_calls()

    body = await gateway.query(aliased(job_ids, "modelAssetId"))

    assert "errors" not in body
    assert operations(await video_calls(gateway)) == [LIST, *[SHOW_2D] * 3]


async def test_what_each_document_selects_decides_its_calls_however_often_it_is_sent(
    gateway: GatewayClient,
) -> None:
    # What a selection needs is worked out once per parsed document: a document read again, or another
    # document selecting more or less of the job, never takes another's answer.
    job_id = await gateway.create_video()
    global_id = (await gateway.query(aliased([job_id], "id")))["data"]["j0"]["id"]
    summary = f'{{ nodes(ids: ["{global_id}"]) {{ ... on VideoJob {{ state }} }} }}'
    scripts = f'{{ nodes(ids: ["{global_id}"]) {{ ... on VideoJob {{ shootScripts {{ sequenceNo }} }} }} }}'
    details = f'{{ nodes(ids: ["{global_id}"]) {{ ... on VideoJob {{ modelAssetId }} }} }}'
    # The show call each needs, and its show_script parameter.
    expected: dict[str, list[list[str] | None]] = {summary: [], scripts: [["true"]], details: [None]}
    for document in [summary, scripts, details, summary, details, scripts, summary]:
        await gateway.reset_calls()
        body = await gateway.query(document)
        assert "errors" not in body, body
        shows = [call for call in await video_calls(gateway) if call["operation"] == SHOW_2D]
        assert [params(call).get("show_script") for call in shows] == expected[document]
