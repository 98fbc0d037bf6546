"""Video jobs over GraphQL: what a client reads, pages, filters and errors, each caller apart."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from tests.support.gateway import GatewayClient

LIST = "ListDigitalHumanVideo"
SHOW_2D = "Show2DDigitalHumanVideo"
SHOW_PHOTO = "ShowPhotoDigitalHumanVideo"
VIDEO_OPERATIONS = {LIST, SHOW_2D, SHOW_PHOTO}


async def video_calls(gateway: GatewayClient) -> list[dict[str, Any]]:
    return [call for call in await gateway.calls() if call["operation"] in VIDEO_OPERATIONS]


def operations(calls: list[dict[str, Any]]) -> list[str]:
    return sorted(call["operation"] for call in calls)


def params(call: dict[str, Any]) -> dict[str, list[str]]:
    return parse_qs(call["query"], keep_blank_values=True)


def aliased(job_ids: list[str], selection: str = "jobId state") -> str:
    fields = "\n".join(
        f'j{n}: videoJob(jobId: "{job_id}") {{ {selection} }}' for n, job_id in enumerate(job_ids)
    )
    return f"{{\n{fields}\n}}"


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_nested_configs_are_typed_objects_for_each_kind(gateway: GatewayClient) -> None:
    job_id = await gateway.create_video(
        video_config={
            "codec": "H264",
            "bitrate": 5000,
            "width": 1080,
            "height": 1920,
            "frame_rate": "25",
            "clip_mode": "RESIZE",
            "is_subtitle_enable": True,
            "subtitle_config": {"font_name": "HarmonyOS_Sans_SC_Black", "font_size": 54},
        },
        background_music_config={"music_asset_id": "music-1", "volume": 60},
    )
    photo_id = await gateway.create_photo_video()
    selection = """kind humanImage modelAssetId backgroundMusicConfig { musicAssetId volume }
        videoConfig { __typename codec bitrate frameRate ... on VideoConfig {
            clipMode width height isSubtitleEnable subtitleConfig { fontName fontSize }
        } }"""

    body = await gateway.query(
        f'{{ model: videoJob(jobId: "{job_id}") {{ {selection} }}'
        f' photo: videoJob(jobId: "{photo_id}") {{ {selection} }} }}'
    )

    assert "errors" not in body
    model, photo = body["data"]["model"], body["data"]["photo"]
    assert model["videoConfig"] == {
        "__typename": "VideoConfig",
        "codec": "H264",
        "bitrate": 5000,
        "frameRate": "25",
        "clipMode": "RESIZE",
        "width": 1080,
        "height": 1920,
        "isSubtitleEnable": True,
        "subtitleConfig": {"fontName": "HarmonyOS_Sans_SC_Black", "fontSize": 54},
    }
    assert model["backgroundMusicConfig"] == {"musicAssetId": "music-1", "volume": 60}
    assert model["humanImage"] is None
    assert photo["kind"] == "PHOTO_DIGITAL_HUMAN"
    assert photo["videoConfig"] == {
        "__typename": "PhotoVideoConfig",
        "codec": "H264",
        "bitrate": 4000,
        "frameRate": "25",
    }
    assert photo["humanImage"] == "aGVsbG8="
    assert photo["modelAssetId"] is None


async def test_a_missing_job_is_null_with_not_found_while_its_siblings_resolve(
    gateway: GatewayClient,
) -> None:
    job_id = await gateway.create_video()
    await gateway.reset_calls()

    body = await gateway.query(
        f'{{ found: videoJob(jobId: "{job_id}") {{ jobId state }}'
        ' missing: videoJob(jobId: "no-such-job") { jobId } }'
    )

    assert body["data"] == {"found": {"jobId": job_id, "state": "WAITING"}, "missing": None}
    assert len(body["errors"]) == 1
    assert body["errors"][0]["path"] == ["missing"]
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "no-such-job" in body["errors"][0]["message"]
    assert operations(await video_calls(gateway)) == [LIST]


async def test_a_failing_show_call_fails_only_its_own_job(gateway: GatewayClient) -> None:
    job_ids = await gateway.create_videos(3)
    await gateway.query(aliased(job_ids, "kind"))
    fault = {"method": "GET", "path": f"/2d-digital-human-videos/{job_ids[1]}$", "status": 500, "times": None}
    assert (await gateway.emulator.post("/_emulator/faults", json=fault)).status_code == 200

    body = await gateway.query(aliased(job_ids, "jobId modelAssetId"))

    assert (
        body["data"]["j0"]["modelAssetId"]
        == body["data"]["j2"]["modelAssetId"]
        == "cda7e9a469ee9cf3ffc1ad62794a12ff"
    )
    assert body["data"]["j1"] is None
    assert [error["path"] for error in body["errors"]] == [["j1"]]
    assert codes(body) == ["UPSTREAM_ERROR"]
    assert body["errors"][0]["extensions"]["upstream"]["status"] == 500


async def test_two_callers_at_once_each_see_only_their_own_jobs(gateway: GatewayClient) -> None:
    alice = set(await gateway.create_videos(3, "alice-token"))
    bob = set(await gateway.create_videos(2, "bob-token"))
    page = "{ videoJobs(first: 100) { totalCount edges { node { jobId state } } } }"

    alice_body, bob_body, crossed = await asyncio.gather(
        gateway.query(page, token="alice-token"),
        gateway.query(page, token="bob-token"),
        gateway.query(aliased(sorted(bob), "jobId"), token="alice-token"),
    )

    def seen(body: dict[str, Any]) -> set[str]:
        return {edge["node"]["jobId"] for edge in body["data"]["videoJobs"]["edges"]}

    assert seen(alice_body) == alice
    assert alice_body["data"]["videoJobs"]["totalCount"] == 3
    assert seen(bob_body) == bob
    assert crossed["data"] == {"j0": None, "j1": None}
    assert codes(crossed) == ["NOT_FOUND", "NOT_FOUND"]


async def test_pages_follow_each_other_through_cursors(gateway: GatewayClient) -> None:
    job_ids = await gateway.create_videos(7)
    page = """query ($after: String) { videoJobs(first: 3, after: $after) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { jobId } }
    } }"""

    seen: list[str] = []
    infos: list[dict[str, Any]] = []
    after = None
    for _ in range(3):
        connection = (await gateway.query(page, {"after": after}))["data"]["videoJobs"]
        assert connection["totalCount"] == 7
        infos.append(connection["pageInfo"])
        seen += [edge["node"]["jobId"] for edge in connection["edges"]]
        assert connection["pageInfo"]["endCursor"] == connection["edges"][-1]["cursor"]
        after = connection["pageInfo"]["endCursor"]

    assert sorted(seen) == sorted(job_ids)
    assert len(seen) == 7
    assert [(info["hasPreviousPage"], info["hasNextPage"]) for info in infos] == [
        (False, True),
        (True, True),
        (True, False),
    ]


async def test_bad_pages_are_refused_before_any_upstream_call(gateway: GatewayClient) -> None:
    await gateway.reset_calls()

    for arguments in ("first: 0", "first: 101", 'after: "not-a-cursor"', 'after: "dHJhaW5pbmc6Mw"'):
        body = await gateway.query(f"{{ videoJobs({arguments}) {{ totalCount }} }}")
        assert body["data"] is None, arguments
        assert codes(body) == ["BAD_USER_INPUT"], arguments
        assert "first" in body["errors"][0]["message"] or "cursor" in body["errors"][0]["message"]

    assert await video_calls(gateway) == []


async def test_filters_reach_the_upstream_as_its_query_parameters(gateway: GatewayClient) -> None:
    await gateway.reset_calls()

    body = await gateway.query(
        """{ videoJobs(first: 5, filter: {
              states: [SUCCEED, FAILED], kind: PHOTO_DIGITAL_HUMAN,
              createdSince: "2024-05-01T00:00:00Z", createdUntil: "2024-05-31T12:30:00+02:00",
              scriptId: "script-1", assetName: "Greeting", sortBy: UPDATE_TIME, sortDirection: DESC
        }) { totalCount } }"""
    )

    assert body["data"] == {"videoJobs": {"totalCount": 0}}
    [call] = await video_calls(gateway)
    assert params(call) == {
        "offset": ["0"],
        "limit": ["5"],
        "state": ["SUCCEED,FAILED"],
        "job_type": ["PHOTO_DIGITAL_HUMAN_VIDEO"],
        "create_since": ["2024-05-01T00:00:00Z"],
        "create_until": ["2024-05-31T10:30:00Z"],
        "script_id": ["script-1"],
        "asset_name": ["Greeting"],
        "sort_key": ["update_time"],
        "sort_dir": ["desc"],
    }


async def test_filters_narrow_the_list(gateway: GatewayClient) -> None:
    plain = await gateway.create_video()
    failed = await gateway.create_video(script_id="script-7")
    await gateway.set_state(failed, "FAILED", error_code="MSS.00000004", error_msg="render crashed")
    named = await gateway.create_video(output_asset_config={"asset_name": "Quarterly report"})
    photo = await gateway.create_photo_video()

    async def listed(filter_text: str) -> set[str]:
        body = await gateway.query(
            f"{{ videoJobs(first: 100, filter: {{{filter_text}}}) {{ edges {{ node {{ jobId }} }} }} }}"
        )
        assert "errors" not in body, body
        return {edge["node"]["jobId"] for edge in body["data"]["videoJobs"]["edges"]}

    assert await listed("states: [FAILED]") == {failed}
    assert await listed("states: [WAITING, FAILED]") == {plain, failed, named, photo}
    assert await listed("kind: PHOTO_DIGITAL_HUMAN") == {photo}
    assert await listed("kind: DIGITAL_HUMAN_2D") == {plain, failed, named}
    assert await listed('scriptId: "script-7"') == {failed}
    assert await listed('assetName: "Quarterly report"') == {named}
    assert await listed('createdSince: "2000-01-01T00:00:00Z", createdUntil: "2001-01-01T00:00:00Z"') == set()
    assert await listed('createdSince: "2000-01-01T00:00:00Z"') == {plain, failed, named, photo}
    assert await listed(f'jobIds: ["{photo}", "{plain}", "no-such-job"]') == {photo, plain}


async def test_a_failed_job_reports_its_error_and_is_terminal(gateway: GatewayClient) -> None:
    job_id = await gateway.create_video()
    await gateway.set_state(job_id, "FAILED", error_code="MSS.00000004", error_msg="render crashed")

    body = await gateway.query(aliased([job_id], "state terminal error { code message }"))

    assert body["data"]["j0"] == {
        "state": "FAILED",
        "terminal": True,
        "error": {"code": "MSS.00000004", "message": "render crashed"},
    }


async def test_filters_the_upstream_cannot_take_are_bad_user_input(gateway: GatewayClient) -> None:
    too_many = [f"job-{n}" for n in range(101)]
    await gateway.reset_calls()

    for filter_text, variables in (
        ("{jobIds: $ids}", {"ids": too_many}),
        ("{states: [UNKNOWN]}", {}),
        ("{kind: UNKNOWN}", {}),
        ('{createdSince: "2024-06-01T00:00:00Z", createdUntil: "2024-05-01T00:00:00Z"}', {}),
    ):
        # Declared only where used: an unused variable would fail validation instead.
        declared = "($ids: [String!])" if variables else ""
        body = await gateway.query(
            f"query {declared} {{ videoJobs(filter: {filter_text}) {{ totalCount }} }}", variables
        )
        assert codes(body) == ["BAD_USER_INPUT"], filter_text

    assert await video_calls(gateway) == []
