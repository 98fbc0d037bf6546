"""What the HTTP edge tests share: origins, the documents they send and ways to read raw answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

ORIGIN = "https://studio.example.com"
OTHER_ORIGIN = "https://evil.example.net"


QUERIES = Path(__file__).resolve().parents[2] / "queries"


VIDEO_LIST = (QUERIES / "video_job_list.graphql").read_text(encoding="utf-8")
COUNT = "{ videoJobs(first: 1) { totalCount } }"
# Every header the gateway's browser clients send (README, "Browsers and HTTP").
CLIENT_HEADERS = (
    "authorization",
    "x-auth-token",
    "x-app-userid",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
    "x-graphql-event-stream-token",
    "x-request-id",
    "traceparent",
    "tracestate",
    "content-type",
)
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
ACCEPT_MULTIPART = "multipart/mixed;subscriptionSpec=1.0,application/json"


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


def listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",") if item.strip()}


async def raw(
    http: httpx.AsyncClient, method: str, accept_encoding: str, **options: Any
) -> tuple[httpx.Response, bytes]:
    """A response and its body exactly as sent, before any content decoding."""
    headers = {"Accept-Encoding": accept_encoding, **options.pop("headers", {})}
    async with http.stream(method, "/graphql", headers=headers, **options) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


def page_request(token: str = "alice-token") -> dict[str, Any]:
    return {"json": {"query": VIDEO_LIST, "variables": {"first": 100}}, "headers": {"X-Auth-Token": token}}


def get_params(document: str, variables: dict[str, Any] | None = None) -> dict[str, str]:
    return {"query": document, "variables": json.dumps(variables or {})}
