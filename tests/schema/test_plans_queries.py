"""Every document in queries/ answers byte for byte alike in every execution mode."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.schema.test_picture_mutations import png
from tests.schema.test_plans import TOKEN, app_client
from tests.support.gateway import GatewayClient
from tests.test_queries import OPERATIONS, QUERIES, operation_files

Handler = Callable[[httpx.Request], httpx.Response]


class Replayed(httpx.AsyncBaseTransport):
    """The upstream each execution mode sees: the first run's answers, recorded from the emulator in the
    order each method and URL was asked, then replayed in that order for the runs after it."""

    def __init__(self, live: httpx.AsyncBaseTransport) -> None:
        self.live: httpx.AsyncBaseTransport | None = live
        self.recorded: dict[tuple[str, str], list[tuple[int, list[tuple[bytes, bytes]], bytes]]] = {}
        self.asked: dict[tuple[str, str], int] = {}

    async def replay(self) -> None:
        """The recorded answers from now on, from the start; the live upstream's connections closed."""
        if self.live is not None:
            await self.live.aclose()
        self.live = None
        self.asked = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, str(request.url))
        if self.live is not None:
            response = await self.live.handle_async_request(request)
            body = await response.aread()
            await response.aclose()
            self.recorded.setdefault(key, []).append((response.status_code, response.headers.raw, body))
            return httpx.Response(response.status_code, headers=response.headers.raw, content=body)
        answers = self.recorded[key]
        asked = self.asked[key] = self.asked.get(key, -1) + 1
        status, headers, body = answers[min(asked, len(answers) - 1)]
        return httpx.Response(status, headers=headers, content=body)


async def send(http: httpx.AsyncClient, name: str, variables: dict[str, Any]) -> bytes:
    """One queries/ document sent as its clients send it; the answer's bytes as they left the gateway."""
    document = (QUERIES / name).read_text(encoding="utf-8")
    operation = OPERATIONS[name]
    if operation.uploads_a_picture:
        response = await http.post(
            "/graphql",
            data={
                "operations": json.dumps({"query": document, "variables": variables}),
                "map": json.dumps({"1": ["variables.input.file"]}),
            },
            files={"1": ("face.png", png(64, 48), "image/png")},
            headers={"Apollo-Require-Preflight": "true", "X-Auth-Token": TOKEN},
        )
    elif operation.streams:
        response = await http.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={
                "Accept": "multipart/mixed;subscriptionSpec=1.0,application/json",
                "X-Auth-Token": TOKEN,
            },
        )
    else:
        response = await http.post(
            "/graphql", json={"query": document, "variables": variables}, headers={"X-Auth-Token": TOKEN}
        )
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("name", operation_files())
async def test_every_document_in_queries_answers_byte_for_byte_alike_in_every_execution_mode(
    name: str, gateway: GatewayClient
) -> None:
    variables = await OPERATIONS[name].variables(gateway)
    upstream = Replayed(httpx.AsyncHTTPTransport())
    # A first run records what the emulator answers; every mode then sees those same answers, so that
    # even a stream's events, which come in the order the upstream answered, come in one order.
    async with app_client("standard", upstream, str(gateway.emulator.base_url)) as http:
        await send(http, name, variables)
    answers = {}
    for execution in ("standard", "direct", "planned"):
        await upstream.replay()
        async with app_client(execution, upstream, str(gateway.emulator.base_url)) as http:
            answers[execution] = await send(http, name, variables)
    assert answers["planned"] == answers["standard"]
    assert answers["direct"] == answers["standard"]
    assert b'"data"' in answers["planned"]
