"""A generated corpus over odd upstream data answers byte for byte alike in every execution mode."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
)

from gateway.settings import EXECUTION_MODES
from schema import schema_for
from schema.relay import encode_global_id
from tests.schema.test_plans import TOKEN, app_client, planned_selections
from tests.support.gateway import PROJECT

# A MetaStudio answering with every oddity the gateway reads leniently: unknown states and kinds,
# numbers and booleans where text is expected, times in every form, ids that need escaping, jobs that
# are missing or whose show call fails.
V2D, VPHOTO = "2D_DIGITAL_HUMAN_VIDEO", "PHOTO_DIGITAL_HUMAN_VIDEO"
VIDEOS: list[dict[str, Any]] = [
    {
        "job_id": "v-plain",
        "job_type": V2D,
        "state": "WAITING",
        "create_time": "2024-05-10T09:02:37Z",
        "lastupdate_time": "2024-05-10T09:02:37Z",
        "output_asset_config": {"asset_name": "Greeting", "asset_id": "a1"},
    },
    {
        "job_id": "v-photo",
        "job_type": VPHOTO,
        "state": "SUCCESS",
        "start_time": "2024-05-10T09:03:00.250Z",
        "end_time": "2024-05-10T09:04:00+08:00",
        "duration": "12.5",
        "create_time": "2024-05-10T09:02:37Z",
        "lastupdate_time": 1715331757000,
        "output_asset_config": {
            "asset_name": 42,
            "cover_url": "https://x/c.png",
            "preview_video_url": "null",
        },
    },
    {
        "job_id": "v-odd",
        "job_type": "NEW_KIND",
        "state": "WEIRD",
        "create_time": "not a time",
        "duration": True,
        "output_asset_config": [],
        "error_info": {"error_code": "MSS.1", "error_msg": "boom"},
    },
    {"job_id": "v-bare"},
    {
        "job_id": 'v é "q"',
        "job_type": V2D,
        "state": "FAILED",
        "create_time": " 2024-05-10T09:02:37z",
        "error_info": {"error_code": "", "error_msg": ""},
        "duration": 7,
    },
    {"job_id": "v-fail", "job_type": V2D, "state": "PROCESSING", "create_time": "2024-05-10T09:02:37Z"},
    *(
        {
            "job_id": f"v-row-{n:02}",
            "job_type": (V2D, VPHOTO)[n % 2],
            "state": ("WAITING", "PROCESSING", "SUCCEED", "BLOCK")[n % 4],
            "create_time": f"2024-05-10T09:{n:02}:00Z",
            "lastupdate_time": f"2024-05-10T10:{n:02}:00.5Z",
            "duration": n * 1.5,
            "output_asset_config": {"asset_name": f"row {n}"} if n % 3 else None,
        }
        for n in range(20)
    ),
]
VIDEO_DETAILS: dict[str, dict[str, Any]] = {
    "v-plain": {
        "script_id": "s1",
        "model_asset_id": "m1",
        "voice_config": {"voice_asset_id": "voice", "speed": "fast", "pitch": 100, "volume": 140.0},
        "video_config": {"codec": "H264", "bitrate": 5000, "width": 1080, "height": "1920", "frame_rate": 25},
        "background_music_config": {"music_asset_id": "bgm", "volume": 50},
        "shoot_scripts": [
            {"sequence_no": 0, "shoot_script": {"script_type": "TEXT", "text_config": {"text": "Hi"}}},
            {"sequence_no": "x", "shoot_script": None},
            "not an object",
        ],
    },
    "v-photo": {"human_image": "aGVsbG8=", "video_config": {"codec": "VP9", "bitrate": "many"}},
    "v-bare": {"job_type": VPHOTO, "state": "PROCESSING"},
}
TRAINING: list[dict[str, Any]] = [
    {
        "job_id": "t-1",
        "name": "Anna",
        "state": "JOB_SUCCESS",
        "create_time": "2024-05-10T09:02:37Z",
        "tags": ["a", 1, None],
        "is_flexus": "true",
        "model_version": "V3.2",
    },
    {"job_id": "t-2", "state": "SOMETHING_NEW", "model_version": "V9", "is_live_copy": "maybe", "tags": "x"},
    {"job_id": "t-3", "create_time": 1715331757},
    {"job_id": "t-fail", "state": "WAIT_FILE_UPLOAD"},
]
TRAINING_DETAILS: dict[str, dict[str, Any]] = {
    "t-1": {"training_video_download_url": "https://x/v.mp4", "comment_logs": [{"comment": "ok"}, 3]},
    "t-2": {},
    "t-3": {"name": "Third"},
}
PICTURES: list[dict[str, Any]] = [
    {
        "job_id": "p-1",
        "state": "SUCCEED",
        "name": "P",
        "style_id": "s",
        "model_cover_url": "null",
        "create_time": "2024-05-10T09:02:37Z",
    },
    {"job_id": "p-2", "state": "WHAT", "start_time": "yesterday", "name": ["not", "text"]},
]
NOT_FOUND = {"error_code": "MSS.00000003", "error_msg": "the job does not exist"}


def odd_upstream(request: httpx.Request) -> httpx.Response:
    """The MetaStudio described above, for reads."""
    path = unquote(urlsplit(str(request.url)).path).removeprefix(f"/v1/{PROJECT}")
    query = parse_qs(request.url.query.decode(), keep_blank_values=True)
    if path == "/digital-human-videos":
        asked = [i for value in query.get("job_ids", []) for i in value.split(",")]
        found = [job for job in VIDEOS if not asked or job["job_id"] in asked]
        return page_of(found, query, "jobs")
    for prefix, kind in (("/2d-digital-human-videos/", V2D), ("/photo-digital-human-videos/", VPHOTO)):
        if path.startswith(prefix):
            job_id = path.removeprefix(prefix)
            if job_id == "v-fail":
                return httpx.Response(500, json={"error_code": "MSS.500", "error_msg": "try later"})
            summary = next((job for job in VIDEOS if job["job_id"] == job_id), None)
            if summary is None or summary.get("job_type", kind) != kind or job_id not in VIDEO_DETAILS:
                return httpx.Response(404, json=NOT_FOUND)
            return httpx.Response(200, json={**summary, **VIDEO_DETAILS[job_id]})
    if path == "/digital-human-training-manage/user/jobs":
        return page_of(TRAINING, query, "jobs")
    if path.startswith("/digital-human-training-manage/user/jobs/"):
        return shown(path.rsplit("/", 1)[1], TRAINING, TRAINING_DETAILS, "t-fail")
    if path == "/digital-human/stylized/picture-modelings":
        return page_of(PICTURES, query, "picture_modeling_jobs")
    if path.startswith("/digital-human/stylized/picture-modelings/"):
        return shown(path.rsplit("/", 1)[1], PICTURES, {job["job_id"]: {} for job in PICTURES}, "")
    return httpx.Response(404, json=NOT_FOUND)


def page_of(jobs: list[dict[str, Any]], query: dict[str, list[str]], key: str) -> httpx.Response:
    offset, limit = int(query.get("offset", ["0"])[0]), int(query.get("limit", ["10"])[0])
    return httpx.Response(200, json={"count": len(jobs), key: jobs[offset : offset + limit]})


def shown(
    job_id: str, jobs: list[dict[str, Any]], details: dict[str, dict[str, Any]], failing: str
) -> httpx.Response:
    if job_id == failing:
        return httpx.Response(500, json={"error_code": "MSS.500", "error_msg": "try later"})
    summary = next((job for job in jobs if job["job_id"] == job_id), None)
    if summary is None or job_id not in details:
        return httpx.Response(404, json=NOT_FOUND)
    return httpx.Response(200, json={**summary, **details[job_id]})


class Corpus:
    """Documents made from the schema itself: random selections of each type's fields, with aliases,
    repeated fields, `__typename`, inline fragments and named ones, and now and then a directive."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.graphql_schema = schema_for("planned")._schema
        self.fragments: list[str] = []
        self.aliases = 0
        self.directives = False

    def selection(self, parent: Any, depth: int) -> str:
        rng = self.rng
        named = get_named_type(parent)
        if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
            kinds = self.graphql_schema.get_possible_types(named)
            own = self.fields(named, depth) if isinstance(named, GraphQLInterfaceType) else []
            inline = [
                f"... on {kind.name} {{ {self.selection(kind, depth)} }}"
                for kind in kinds
                if rng.random() < 0.7
            ]
            return " ".join([*own, *inline, "__typename"])
        assert isinstance(named, GraphQLObjectType)
        chosen = self.fields(named, depth)
        if rng.random() < 0.2 and len(chosen) > 1:
            name = f"F{len(self.fragments)}"
            self.fragments.append(f"fragment {name} on {named.name} {{ {' '.join(chosen[1:])} }}")
            chosen = [chosen[0], f"...{name}"]
        if rng.random() < 0.2:
            chosen.append(f"... on {named.name} {{ {self.selection(named, depth + 1)} }}")
        if rng.random() < 0.3:
            chosen.append("__typename")
        return " ".join(chosen) or "__typename"

    def fields(self, parent: GraphQLObjectType | GraphQLInterfaceType, depth: int) -> list[str]:
        rng = self.rng
        usable = [
            (name, field)
            for name, field in parent.fields.items()
            if not any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values())
        ]
        picked = rng.sample(usable, k=max(1, int(len(usable) * rng.uniform(0.3, 1.0))))
        chosen = []
        for name, field in picked:
            chosen.append(self.field(name, field, depth))
            if rng.random() < 0.1:
                chosen.append(self.field(name, field, depth))
        return chosen

    def field(self, name: str, field: GraphQLField, depth: int) -> str:
        rng = self.rng
        text = name
        if rng.random() < 0.15 and self.aliases < 20:
            self.aliases += 1
            text = f"a{self.aliases}: {name}"
        if self.directives and rng.random() < 0.1:
            text += f" @include(if: {rng.choice(['true', 'false'])})"
        named = get_named_type(field.type)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            if depth > 4:
                return f"{text} {{ __typename }}"
            return f"{text} {{ {self.selection(field.type, depth + 1)} }}"
        return text

    def document(self) -> str:
        rng = self.rng
        self.fragments, self.aliases = [], 0
        # Some documents carry directives, which keep their selections off plans.
        self.directives = rng.random() < 0.15
        video_ids = [job["job_id"] for job in VIDEOS] + ["v-missing"]
        job_ids = [encode_global_id("VideoJob", i) for i in video_ids]
        job_ids += [encode_global_id("TrainingJob", i) for i in ("t-1", "t-2", "t-3", "t-fail", "t-missing")]
        job_ids += [encode_global_id("PictureModelingJob", i) for i in ("p-1", "p-2", "p-missing")]
        job_ids += ["not a global id", encode_global_id("Nothing", "x")]
        query = self.graphql_schema.query_type
        assert query is not None
        roots = {
            "videoJobs": f"(first: {rng.choice([2, 6, 17, 26])})",
            "trainingJobs": f"(first: {rng.choice([1, 4])})",
            "pictureModelingJobs": "(first: 2)",
            "videoJob": f"(jobId: {json.dumps(rng.choice(video_ids))})",
            "trainingJob": f'(jobId: "{rng.choice(["t-1", "t-2", "t-fail", "t-missing"])}")',
            "pictureModelingJob": f'(jobId: "{rng.choice(["p-1", "p-2", "p-missing"])}")',
            "nodes": f"(ids: {json.dumps(rng.sample(job_ids, k=rng.randint(1, 8)))})",
            "node": f"(id: {json.dumps(rng.choice(job_ids))})",
        }
        picked = rng.sample(sorted(roots), k=rng.randint(1, 2))
        parts = [f"{root}{roots[root]} {{ {self.selection(query.fields[root].type, 1)} }}" for root in picked]
        return " ".join([f"query Generated {{ {' '.join(parts)} }}", *self.fragments])


def corpus(count: int) -> Iterator[str]:
    made = Corpus(seed=20261201)
    for _ in range(count):
        yield made.document()


async def test_a_generated_corpus_answers_byte_for_byte_alike_in_every_execution_mode() -> None:
    transport = httpx.MockTransport(odd_upstream)
    endpoint = "http://metastudio.test"
    documents = list(corpus(120))
    limits = {"max_aliases": 100, "max_tokens": 10_000, "max_depth": 20}
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            execution: await stack.enter_async_context(app_client(execution, transport, endpoint, **limits))
            for execution in EXECUTION_MODES
        }
        errors = nulls = planned = 0
        for document in documents:
            answers = {}
            for execution, http in clients.items():
                response = await http.post(
                    "/graphql", json={"query": document}, headers={"X-Auth-Token": TOKEN}
                )
                answers[execution] = (response.status_code, response.content)
            assert answers["planned"] == answers["standard"], document
            assert answers["direct"] == answers["standard"], document
            body = json.loads(answers["planned"][1])
            errors += bool(body.get("errors"))
            nulls += b":null" in answers["planned"][1]
            planned += "@include" not in document
    # The corpus does reach the paths it is there for, and plans were made for it.
    assert errors >= 30 and nulls >= 60 and planned >= 60
    assert planned_selections() >= 20
