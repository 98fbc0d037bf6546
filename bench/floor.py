"""The floor: a minimal hand-written Starlette + httpx endpoint making the same upstream calls as the
gateway for the benchmarked operations and returning the same JSON, to measure the gateway against."""

from __future__ import annotations

import argparse
import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Json = dict[str, Any]
TERMINAL = {"SUCCEED", "FAILED", "CANCELED"}
KINDS = {"2D_DIGITAL_HUMAN_VIDEO": "DIGITAL_HUMAN_2D", "PHOTO_DIGITAL_HUMAN_VIDEO": "PHOTO_DIGITAL_HUMAN"}
EVER = "2000-01-01T00:00:00Z"


def unpadded_base64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def global_id(type_name: str, value: object) -> str:
    return unpadded_base64(f"{type_name}:{value}")


def page_cursor(create_time: str | None, job_id: str, ties: int) -> str:
    """The gateway's keyset cursor of a row of the newest-first video list (schema/paging.py)."""
    time = "null" if create_time is None else f'"{when(create_time)}"'
    return unpadded_base64(f'[2,"VideoJob","create_time:desc","k",{time},"{job_id}",{ties},"d"]')


def page_cursors(jobs: list[Json]) -> list[str]:
    seen: dict[str | None, int] = {}
    cursors = []
    for job in jobs:
        time = job.get("create_time")
        seen[time] = seen.get(time, 0) + 1
        cursors.append(page_cursor(time, job["job_id"], seen[time]))
    return cursors


def when(value: str | None) -> str | None:
    return value[:-1] + "+00:00" if value and value.endswith("Z") else value


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def pick(source: Json | None, *fields: str, **nested: Any) -> Json | None:
    """The fields (camelCase) of an upstream object (snake_case), null where absent."""
    if source is None:
        return None
    by_camel = {camel(k): v for k, v in source.items()}
    out: Json = {f: by_camel.get(f) for f in fields}
    for field, shape in nested.items():
        value = by_camel.get(field)
        if isinstance(shape, list):
            out[field] = [shape[0](item) for item in value or []]
        else:
            out[field] = shape(value)
    return out


def error_of(job: Json) -> Json | None:
    info = job.get("error_info")
    if not info:
        return None
    return {"code": info.get("error_code"), "message": info.get("error_msg")}


def row(job: Json) -> Json:
    asset = job.get("output_asset_config") or {}
    return {
        "id": global_id("VideoJob", job["job_id"]),
        "jobId": job["job_id"],
        "kind": KINDS.get(job.get("job_type", ""), "DIGITAL_HUMAN_2D"),
        "state": job["state"],
        "rawState": job["state"],
        "terminal": job["state"] in TERMINAL,
        "createTime": when(job.get("create_time")),
        "lastUpdateTime": when(job.get("lastupdate_time")),
        "duration": job.get("duration"),
        "outputAsset": {"assetName": asset.get("asset_name"), "coverUrl": asset.get("cover_url")},
        "error": error_of(job),
    }


def node(job: Json) -> Json:
    asset = job.get("output_asset_config") or {}
    return {
        "id": global_id("VideoJob", job["job_id"]),
        "jobId": job["job_id"],
        "rawState": job["state"],
        "terminal": job["state"] in TERMINAL,
        "error": error_of(job),
        "kind": KINDS.get(job.get("job_type", ""), "DIGITAL_HUMAN_2D"),
        "videoState": job["state"],
        "createTime": when(job.get("create_time")),
        "outputAsset": {"assetName": asset.get("asset_name"), "coverUrl": asset.get("cover_url")},
    }


def subtitle_file(value: Json | None) -> Json | None:
    return pick(value, "subtitleFileState", "subtitleFileDownloadUrl")


def scene(value: Json | None) -> Json | None:
    return pick(
        value,
        "scriptType",
        "audioDuration",
        textConfig=lambda v: pick(v, "text"),
        audioConfig=lambda v: pick(v, "audioId"),
        audioDriveActionConfig=[lambda v: pick(v, "actionTag", "actionName", "actionStartTime")],
        backgroundConfig=[
            lambda v: pick(
                v, "backgroundType", "backgroundConfig", "backgroundColorConfig", "backgroundAssetId"
            )
        ],
        layerConfig=[
            lambda v: pick(
                v,
                "layerType",
                "assetId",
                position=lambda p: pick(p, "dx", "dy", "layerIndex"),
                size=lambda s: pick(s, "width", "height"),
                imageConfig=lambda i: pick(i, "imageUrl"),
                videoConfig=lambda i: pick(i, "videoUrl", "loopCount"),
                textConfig=lambda t: pick(t, "textContext", "fontName", "fontSize", "fontColor"),
            )
        ],
    )


def detail(job: Json) -> Json:
    asset = job.get("output_asset_config") or {}
    video = pick(
        job.get("video_config"),
        "codec",
        "bitrate",
        "frameRate",
        "clipMode",
        "width",
        "height",
        "dx",
        "dy",
        "isSubtitleEnable",
        "isEnableSuperResolution",
        "isEndAtFirstFrame",
        subtitleConfig=lambda v: pick(v, "fontName", "fontSize", "fontColor"),
    )
    return {
        "id": global_id("VideoJob", job["job_id"]),
        "jobId": job["job_id"],
        "kind": KINDS.get(job.get("job_type", ""), "DIGITAL_HUMAN_2D"),
        "jobType": job.get("job_type"),
        "state": job["state"],
        "rawState": job["state"],
        "terminal": job["state"] in TERMINAL,
        "error": error_of(job),
        "createTime": when(job.get("create_time")),
        "lastUpdateTime": when(job.get("lastupdate_time")),
        "startTime": when(job.get("start_time")),
        "endTime": when(job.get("end_time")),
        "duration": job.get("duration"),
        "outputAsset": {
            "assetId": asset.get("asset_id"),
            "assetName": asset.get("asset_name"),
            "coverUrl": asset.get("cover_url"),
            "previewVideoUrl": asset.get("preview_video_url"),
        },
        "scriptId": job.get("script_id"),
        "modelAssetId": job.get("model_asset_id"),
        "humanImage": job.get("human_image"),
        "voiceConfig": pick(job.get("voice_config"), "voiceAssetId", "speed", "pitch", "volume"),
        "videoConfig": None if video is None else {"__typename": "VideoConfig", **video},
        "backgroundMusicConfig": pick(job.get("background_music_config"), "musicAssetId", "volume"),
        "shootScripts": [
            pick(
                script,
                "sequenceNo",
                shootScript=scene,
                subtitleFileInfo=lambda v: pick(
                    v, textSubtitleFile=subtitle_file, audioSubtitleFile=subtitle_file
                ),
            )
            for script in job.get("shoot_scripts") or []
        ],
    }


async def one_job(upstream: httpx.AsyncClient, variables: Json, headers: dict[str, str]) -> Json:
    params = {"create_since": EVER, "job_ids": variables["jobId"], "limit": 1, "offset": 0}
    jobs = (await get(upstream, "/digital-human-videos", params, headers))["jobs"]
    job = jobs[0]
    return {
        "videoJob": {
            "id": global_id("VideoJob", job["job_id"]),
            "jobId": job["job_id"],
            "state": job["state"],
            "rawState": job["state"],
            "terminal": job["state"] in TERMINAL,
            "createTime": when(job.get("create_time")),
        }
    }


async def job_page(upstream: httpx.AsyncClient, variables: Json, headers: dict[str, str]) -> Json:
    first = variables.get("first", 20)
    params = {"limit": first, "offset": 0, "sort_dir": "desc", "sort_key": "create_time"}
    page = await get(upstream, "/digital-human-videos", params, headers)
    jobs, count = page["jobs"], page["count"]
    cursors = page_cursors(jobs)
    return {
        "videoJobs": {
            "totalCount": count,
            "pageInfo": {
                "hasNextPage": len(jobs) < count,
                "hasPreviousPage": False,
                "startCursor": cursors[0] if jobs else None,
                "endCursor": cursors[-1] if jobs else None,
            },
            "edges": [{"cursor": c, "node": row(j)} for c, j in zip(cursors, jobs, strict=True)],
        }
    }


async def detail_page(upstream: httpx.AsyncClient, variables: Json, headers: dict[str, str]) -> Json:
    path = f"/2d-digital-human-videos/{variables['jobId']}"
    job = await get(upstream, path, {"show_script": "true"}, headers)
    return {"videoJob": detail(job)}


async def nodes(upstream: httpx.AsyncClient, variables: Json, headers: dict[str, str]) -> Json:
    wanted = [
        base64.urlsafe_b64decode(g + "=" * (-len(g) % 4)).decode().split(":", 1)[1] for g in variables["ids"]
    ]
    params = [("create_since", EVER), *(("job_ids", i) for i in sorted(wanted))]
    params += [("limit", str(len(wanted))), ("offset", "0")]
    jobs = {j["job_id"]: j for j in (await get(upstream, "/digital-human-videos", params, headers))["jobs"]}
    return {"nodes": [node(jobs[i]) if i in jobs else None for i in wanted]}


async def get(upstream: httpx.AsyncClient, path: str, params: Any, headers: dict[str, str]) -> Json:
    response = await upstream.get(path, params=params, headers=headers)
    response.raise_for_status()
    body: Json = orjson.loads(response.content)
    return body


OPERATIONS = {"OneJob": one_job, "VideoJobList": job_page, "VideoJobDetail": detail_page, "JobsById": nodes}


def create_app(upstream_url: str, project: str) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # httpx's default pool (100 connections, 20 kept alive): the gateway's upstream pool too.
        async with httpx.AsyncClient(base_url=f"{upstream_url}/v1/{project}") as client:
            app.state.upstream = client
            yield

    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        headers = {"X-Auth-Token": request.headers.get("x-auth-token", "")}
        operation = OPERATIONS[body["operationName"]]
        data = await operation(request.app.state.upstream, body.get("variables") or {}, headers)
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def readyz(request: Request) -> Response:
        return Response(b'{"status":"ready"}', media_type="application/json")

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/readyz", readyz)], lifespan=lifespan
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--project", default="demo-project")
    args = parser.parse_args()
    app = create_app(args.upstream, args.project)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
