"""The operations both gateways answer in bench/hive.py, checked alike in data and upstream calls first."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from bench import latency
from bench.hive_setup import HIVE, Json

# Each client is a caller of its own, with its own token and jobs: the gateway shares an upstream read
# in flight among identical requests of one caller (which no setting turns off, and Hive does not do
# over REST), so one shared token would spare the gateway upstream calls that Hive makes.
TOKENS = latency.TOKENS


# What the gateway's VideoJobKind values are upstream (Hive shows the upstream value, with a leading
# underscore where GraphQL names cannot start with a digit).
JOB_TYPES = {"DIGITAL_HUMAN_2D": "2D_DIGITAL_HUMAN_VIDEO", "PHOTO_DIGITAL_HUMAN": "PHOTO_DIGITAL_HUMAN_VIDEO"}


def when(value: str | None) -> datetime.datetime | None:
    return None if value is None else datetime.datetime.fromisoformat(value)


def dig(value: Json | None, path: str) -> Any:
    for name in path.split("."):
        if value is None:
            return None
        value = value.get(name)
    return value


def our_row(job: Json) -> tuple[Any, ...]:
    return (
        job["jobId"],
        JOB_TYPES.get(job["kind"], job["kind"]),
        job["state"],
        when(job["createTime"]),
        when(job["lastUpdateTime"]),
        job["duration"],
        dig(job, "outputAsset.assetName"),
        dig(job, "outputAsset.coverUrl"),
        dig(job, "error.code"),
        dig(job, "error.message"),
    )


def hive_row(job: Json) -> tuple[Any, ...]:
    return (
        job["job_id"],
        (job["job_type"] or "").lstrip("_") or None,
        job["state"],
        when(job["create_time"]),
        when(job["lastupdate_time"]),
        job["duration"],
        dig(job, "output_asset_config.asset_name"),
        dig(job, "output_asset_config.cover_url"),
        dig(job, "error_info.error_code"),
        dig(job, "error_info.error_msg"),
    )


@dataclass(frozen=True)
class Operation:
    """One benchmarked operation: the gateway's request (bench/latency.py's payloads), Hive's closest
    equivalent (a document in bench/hive/), and each side's answer reduced to the data both carry."""

    document: str
    variables: Callable[[list[str]], Json]
    ours: Callable[[Json], list[Any]]
    hive: Callable[[Json], list[Any]]

    def hive_payload(self, job_ids: list[str]) -> Json:
        query = (HIVE / self.document).read_text(encoding="utf-8")
        name = re.search(r"^query (\w+)", query, re.MULTILINE)
        if name is None:
            raise ValueError(f"bench/hive/{self.document} has no named query")
        return {"operationName": name[1], "query": query, "variables": self.variables(job_ids)}


OPERATIONS = {
    "one job": Operation(
        document="one_job.graphql",
        variables=lambda ids: {"jobId": ids[0]},
        ours=lambda d: [(d["videoJob"]["jobId"], d["videoJob"]["state"], when(d["videoJob"]["createTime"]))],
        hive=lambda d: [
            (d["videoJob"]["job_id"], d["videoJob"]["state"], when(d["videoJob"]["create_time"]))
        ],
    ),
    "50-job page": Operation(
        document="video_job_list.graphql",
        variables=lambda ids: {"first": 50},
        ours=lambda d: [
            d["videoJobs"]["totalCount"],
            *(our_row(edge["node"]) for edge in d["videoJobs"]["edges"]),
        ],
        hive=lambda d: [
            d["ListDigitalHumanVideo"]["count"],
            *(hive_row(job) for job in d["ListDigitalHumanVideo"]["jobs"]),
        ],
    ),
}


def call_line(call: Json) -> str:
    """An upstream call as method, path and its query parameters in a stable order."""
    query = urlencode(sorted(parse_qsl(call["query"], keep_blank_values=True)))
    return f"{call['method']} {call['path']}" + (f"?{query}" if query else "")


def answer_and_calls(emulator_url: str, server_url: str, payload: Json) -> tuple[Json, list[str]]:
    httpx.delete(f"{emulator_url}/_emulator/calls").raise_for_status()
    headers = {"X-Auth-Token": TOKENS[0]}
    answer: Json = httpx.post(f"{server_url}/graphql", json=payload, headers=headers, timeout=30).json()
    calls = httpx.get(f"{emulator_url}/_emulator/calls").raise_for_status().json()["calls"]
    return answer, sorted(call_line(call) for call in calls)


def check(emulator_url: str, ours: str, hive: str, name: str, payloads: dict[str, list[Json]]) -> Json:
    """One request of an operation (the first caller's) to each gateway: the upstream calls each made
    and whether the data both carry is the same."""
    operation = OPERATIONS[name]
    our_answer, our_calls = answer_and_calls(emulator_url, ours, payloads["ours"][0])
    hive_answer, hive_calls = answer_and_calls(emulator_url, hive, payloads["hive"][0])
    problems = [
        f"{side}: {answer.get('errors')}"
        for side, answer in (("ours", our_answer), ("Hive", hive_answer))
        if "errors" in answer or not answer.get("data")
    ]
    same_data = False
    if not problems:
        try:
            same_data = operation.ours(our_answer["data"]) == operation.hive(hive_answer["data"])
        except (KeyError, TypeError, ValueError) as error:
            problems.append(f"unexpected answer: {error!r}")
    return {
        "operation": name,
        "our_calls": our_calls,
        "hive_calls": hive_calls,
        "same_calls": our_calls == hive_calls,
        "same_data": same_data,
        "problems": problems,
    }


def upstream_calls(emulator_url: str) -> int:
    calls = httpx.get(f"{emulator_url}/_emulator/calls", timeout=30).raise_for_status().json()["calls"]
    httpx.delete(f"{emulator_url}/_emulator/calls").raise_for_status()
    return len(calls)
