"""Uploads through real GraphQL multipart requests: CSRF preflight headers and a body cap while reading."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.file_uploads import Upload

from gateway.uploads import MULTIPART_OVERHEAD, UploadGuard
from tests.support.http import loopback
from tests.support.servers import LoopbackServer, serve

MAX_BYTES = 1000
LIMIT = MAX_BYTES + MULTIPART_OVERHEAD
BOUNDARY = "gateway-test-boundary-7f3a9c"
UPLOAD = "mutation Upload($file: Upload!) { upload(file: $file) { size sha256 } }"


@strawberry.type
class Received:
    size: int
    sha256: str


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def upload(self, info: strawberry.Info, file: Upload) -> Received:
        info.context["resolver_runs"].append("upload")
        received = cast(UploadFile, file)
        data = await received.read()
        await received.close()  # Strawberry's view leaves its spooled file to the collector
        return Received(size=len(data), sha256=hashlib.sha256(data).hexdigest())


class RecordingGraphQL(GraphQL[dict[str, Any], None]):
    def __init__(self, resolver_runs: list[str]) -> None:
        super().__init__(strawberry.Schema(query=Query, mutation=Mutation), multipart_uploads_enabled=True)
        self.resolver_runs = resolver_runs

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> dict[str, Any]:
        return {"resolver_runs": self.resolver_runs}


async def notes(request: Request) -> JSONResponse:
    return JSONResponse({"received": len(await request.body())})


@dataclass
class Guarded:
    server: LoopbackServer
    resolver_runs: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.server.url}/graphql"


def guarded_app(resolver_runs: list[str]) -> Starlette:
    return Starlette(
        routes=[
            Route("/graphql", RecordingGraphQL(resolver_runs), methods=["GET", "POST"]),
            Route("/notes", notes, methods=["POST"]),
        ],
        middleware=[Middleware(UploadGuard, max_bytes=MAX_BYTES, path="/graphql")],
    )


@pytest.fixture
def guarded() -> Iterator[Guarded]:
    resolver_runs: list[str] = []
    with serve(guarded_app(resolver_runs)) as server:
        yield Guarded(server, resolver_runs)


def multipart(file: bytes) -> bytes:
    """A GraphQL multipart request (operations, map, one file) with a fixed boundary, so sizes are exact."""
    operations = json.dumps({"query": UPLOAD, "variables": {"file": None}})
    fields = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.file"]}}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="face.png"\r\n'
        f"Content-Type: image/png\r\n\r\n"
    )
    return fields.encode() + file + f"\r\n--{BOUNDARY}--\r\n".encode()


def file_for_body_of(total: int) -> bytes:
    return random.Random(total).randbytes(total - len(multipart(b"")))


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
PREFLIGHT = {**MULTIPART, "apollo-require-preflight": "true"}


async def in_pieces(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def error_of(response: httpx.Response) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1
    return cast(dict[str, Any], errors[0])


# CSRF preflight


async def test_a_multipart_upload_without_a_preflight_header_is_refused_before_the_resolver_runs(
    guarded: Guarded,
) -> None:
    async with loopback() as client:
        response = await client.post(guarded.url, content=multipart(b"picture"), headers=MULTIPART)

    assert response.status_code == 400
    error = error_of(response)
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "Apollo-Require-Preflight" in error["message"]
    assert "X-Apollo-Operation-Name" in error["message"]
    assert guarded.resolver_runs == []


async def test_a_blank_preflight_header_does_not_count(guarded: Guarded) -> None:
    async with loopback() as client:
        response = await client.post(
            guarded.url,
            content=multipart(b"picture"),
            headers={**MULTIPART, "apollo-require-preflight": "", "x-apollo-operation-name": ""},
        )

    assert response.status_code == 400
    assert guarded.resolver_runs == []


async def test_form_encoded_plain_text_and_untyped_posts_need_the_header_too(guarded: Guarded) -> None:
    mutation = json.dumps({"query": UPLOAD})
    async with loopback() as client:
        refused = [
            await client.post(guarded.url, data={"query": "{ hello }"}),
            await client.post(guarded.url, content=mutation, headers={"content-type": "text/plain"}),
            await client.post(
                guarded.url, content=mutation, headers={"content-type": "Text/Plain; charset=utf-8"}
            ),
            await client.post(guarded.url, content=mutation),
        ]

    assert [response.status_code for response in refused] == [400, 400, 400, 400]
    assert all(error_of(response)["extensions"]["code"] == "BAD_USER_INPUT" for response in refused)
    assert guarded.resolver_runs == []


async def test_a_multipart_upload_with_the_preflight_header_reaches_the_resolver(guarded: Guarded) -> None:
    picture = random.Random(1).randbytes(700)
    async with loopback() as client:
        response = await client.post(guarded.url, content=multipart(picture), headers=PREFLIGHT)

    assert response.status_code == 200
    assert response.json() == {
        "data": {"upload": {"size": 700, "sha256": hashlib.sha256(picture).hexdigest()}}
    }
    assert guarded.resolver_runs == ["upload"]


async def test_an_operation_name_header_lets_an_upload_through_as_well(guarded: Guarded) -> None:
    headers = {**MULTIPART, "x-apollo-operation-name": "Upload"}
    async with loopback() as client:
        response = await client.post(guarded.url, content=multipart(b"picture"), headers=headers)

    assert response.json()["data"]["upload"]["size"] == len(b"picture")


async def test_json_posts_and_gets_need_no_header(guarded: Guarded) -> None:
    async with loopback() as client:
        posted = await client.post(guarded.url, json={"query": "{ hello }"})
        got = await client.get(guarded.url, params={"query": "{ hello }"})

    assert posted.status_code == got.status_code == 200
    assert posted.json() == got.json() == {"data": {"hello": "world"}}


async def test_other_paths_are_left_alone(guarded: Guarded) -> None:
    async with loopback() as client:
        response = await client.post(
            f"{guarded.server.url}/notes", content=bytes(LIMIT + 1), headers={"content-type": "text/plain"}
        )

    assert response.json() == {"received": LIMIT + 1}


# Size limit


async def raw_post(server: LoopbackServer, head: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    """Send a request's head and the first bytes of its body, then read the answer without sending more."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        lines = ["POST /graphql HTTP/1.1", f"host: 127.0.0.1:{server.port}"]
        lines += [f"{name}: {value}" for name, value in head.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        response_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        status_line, *header_lines = response_head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in header_lines if line)
        answer = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), timeout=5)
        # The server hangs up rather than wait for (or read) the rest of the body.
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        return int(status_line.split()[1]), json.loads(answer)
    finally:
        writer.close()


@pytest.mark.parametrize("declared", [LIMIT + 1, 10**12])
async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
    guarded: Guarded, declared: int
) -> None:
    started = time.monotonic()
    status, answer = await raw_post(
        guarded.server, {**PREFLIGHT, "content-length": str(declared)}, multipart(b"")[:100]
    )

    assert status == 413
    assert time.monotonic() - started < 2
    [error] = answer["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert f"{MAX_BYTES} bytes" in error["message"]
    assert f"{LIMIT} bytes" in error["message"]
    assert guarded.resolver_runs == []


async def test_a_chunked_body_over_the_limit_is_cut_off_with_413(guarded: Guarded) -> None:
    body = multipart(file_for_body_of(LIMIT + 1))
    async with loopback() as client:
        response = await client.post(guarded.url, content=in_pieces(body), headers=PREFLIGHT)

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "upload limit" in error_of(response)["message"]
    assert guarded.resolver_runs == []


async def test_a_body_exactly_at_the_limit_passes_declared_or_chunked(guarded: Guarded) -> None:
    picture = file_for_body_of(LIMIT)
    body = multipart(picture)
    assert len(body) == LIMIT
    expected = {"data": {"upload": {"size": len(picture), "sha256": hashlib.sha256(picture).hexdigest()}}}
    async with loopback() as client:
        declared = await client.post(guarded.url, content=body, headers=PREFLIGHT)
        chunked = await client.post(guarded.url, content=in_pieces(body), headers=PREFLIGHT)

    assert declared.request.headers["content-length"] == str(LIMIT)
    assert declared.json() == chunked.json() == expected
    assert guarded.resolver_runs == ["upload", "upload"]


async def test_a_body_longer_than_its_declared_length_is_cut_off_at_the_limit() -> None:
    # HTTP servers stop at Content-Length themselves; the count does not rely on it.
    resolver_runs: list[str] = []
    transport = httpx.ASGITransport(app=guarded_app(resolver_runs))
    body = multipart(file_for_body_of(LIMIT + 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.post(
            "/graphql", content=in_pieces(body), headers={**PREFLIGHT, "content-length": "100"}
        )

    assert response.status_code == 413
    assert resolver_runs == []


async def test_the_default_limit_is_named_in_mib_with_its_multipart_overhead() -> None:
    guard = UploadGuard(RecordingGraphQL([]), max_bytes=10 * 1024 * 1024, path=None)
    assert guard.limit == 10 * 1024 * 1024 + 64 * 1024
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=guard), base_url="http://gateway"
    ) as client:
        response = await client.post(
            "/anywhere", content=b"--", headers={**PREFLIGHT, "content-length": str(guard.limit + 1)}
        )

    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert "10 MiB (10485760 bytes) plus 64 KiB" in error_of(response)["message"]
    assert "10551296 bytes in all" in error_of(response)["message"]


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        UploadGuard(Starlette(), max_bytes=-1)
