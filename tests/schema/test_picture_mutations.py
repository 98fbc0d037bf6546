"""Picture modeling uploads through /graphql on the emulator: multipart bytes, checks and idempotency."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
import starlette.formparsers

from schema.relay import encode_global_id
from tests.support.gateway import AK, SK, GatewayClient, gateway_client
from tests.support.servers import LoopbackServer

QUERIES = Path(__file__).resolve().parents[2] / "queries"
UPLOAD = (QUERIES / "create_picture_modeling_job.graphql").read_text(encoding="utf-8")
FROM_URL = (QUERIES / "create_picture_modeling_job_from_url.graphql").read_text(encoding="utf-8")
CREATE = "CreatePictureModelingJob"
CREATE_BY_URL = "CreatePictureModelingByUrlJob"
SHOW = "ShowPictureModelingJob"


def png(width: int, height: int, *, noise: int = 0) -> bytes:
    """A valid 8-bit greyscale PNG; `noise` random bytes in the first row make each one different."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    first = os.urandom(min(noise, width)).ljust(width, b"\x00")
    rows = b"\x00" + first + (b"\x00" + bytes(width)) * (height - 1)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def random_png(width: int, height: int) -> bytes:
    """A valid greyscale PNG of random pixels, which compression cannot shrink: about width x height bytes."""
    rows = b"".join(b"\x00" + os.urandom(width) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in ((b"IHDR", header), (b"IDAT", zlib.compress(rows)), (b"IEND", b""))
    )


def jpeg(width: int, height: int) -> bytes:
    """A baseline greyscale JPEG: every 8x8 block mid-grey, with a random comment to tell files apart."""

    def segment(marker: int, data: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data

    one_code = bytes([1] + [0] * 15)  # one Huffman code of length 1 ...
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = "00" * blocks  # ... per block: DC difference 0, then end of block
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xFE, os.urandom(8).hex().encode())
        + segment(0xDB, b"\x00" + bytes([1] * 64))
        + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code + b"\x00")
        + segment(0xC4, b"\x10" + one_code + b"\x00")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + scan
        + b"\xff\xd9"
    )


# A 1x1 GIF: a picture, but not one of the kinds MetaStudio takes.
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


async def upload(
    gateway: GatewayClient,
    content: bytes,
    filename: str = "face.png",
    content_type: str = "image/png",
    *,
    token: str | None = "alice-token",
    **input: Any,
) -> dict[str, Any]:
    """One GraphQL multipart request, as Apollo's upload link sends it: operations, map, then the file."""
    variables = {"input": {"file": None, "styleId": "system_female_001", "name": "Portrait", **input}}
    operations = {"query": UPLOAD, "operationName": "CreatePictureModelingJob", "variables": variables}
    headers = {"Apollo-Require-Preflight": "true"}
    if token is not None:
        headers["X-Auth-Token"] = token
    response = await gateway.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"1": ["variables.input.file"]})},
        files={"1": (filename, content, content_type)},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def payload_of(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createPictureModelingJob"]
    return payload


async def received(gateway: GatewayClient, job_id: str) -> dict[str, Any]:
    response = await gateway.emulator.get(f"/_emulator/uploads/{job_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def operations(calls: list[dict[str, Any]]) -> list[str]:
    return [call["operation"] for call in calls]


@pytest.mark.parametrize(
    ("content", "filename", "content_type", "upstream_filename"),
    [
        (png(64, 48, noise=48), "face.png", "image/png", "face.png"),
        (jpeg(32, 24), "selfie.jpeg", "image/jpeg", "selfie.jpg"),
        (jpeg(16, 16), "selfie.jpg", "image/jpeg", "selfie.jpg"),
    ],
    ids=["png", "jpeg", "jpg"],
)
async def test_an_uploaded_picture_reaches_the_upstream_byte_for_byte(
    gateway: GatewayClient, content: bytes, filename: str, content_type: str, upstream_filename: str
) -> None:
    payload = payload_of(await upload(gateway, content, filename, content_type, name="Portrait"))

    assert payload["userErrors"] == []
    job = payload["job"]
    assert (job["state"], job["rawState"], job["terminal"]) == ("WAITING", "WAITING", False)
    assert (job["name"], job["styleId"]) == ("Portrait", "system_female_001")
    assert job["id"] == encode_global_id("PictureModelingJob", job["jobId"])
    assert payload["modelAssetId"] == job["modelAssetId"]
    assert payload["modelAssetId"]
    sent = await received(gateway, job["jobId"])
    assert sent == {
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "filename": upstream_filename,
        "content_type": content_type,
    }
    assert operations(await gateway.calls()) == [CREATE, SHOW]


class RecordedSpool(tempfile.SpooledTemporaryFile[bytes]):
    """The form parser's temporary file for each uploaded part, each one kept in `made`."""

    made: list[RecordedSpool] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_disk = False
        self.made.append(self)

    def rollover(self) -> None:
        super().rollover()
        self.on_disk = True


@pytest.mark.parametrize("size", ["in memory", "on disk"])
async def test_an_uploaded_files_temporary_file_is_closed_once_its_request_is_answered(
    gateway: GatewayClient, monkeypatch: pytest.MonkeyPatch, size: str
) -> None:
    # Beyond the parser's spool limit (1 MiB) a part goes to a file on disk: an open descriptor each.
    content = png(64, 64) if size == "in memory" else random_png(1024, 1100)
    assert (len(content) > 1024 * 1024) == (size == "on disk")
    RecordedSpool.made = []
    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", RecordedSpool)

    payload = payload_of(await upload(gateway, content))

    assert payload["userErrors"] == []
    # The gateway's, and the emulator's (in this process) for the part it received.
    spools = RecordedSpool.made
    assert len(spools) == 2
    assert [spool.closed for spool in spools] == [True, True]  # at once, not when the collector comes
    assert [spool.on_disk for spool in spools] == [size == "on disk"] * 2


async def test_a_signed_upload_reaches_the_upstream_byte_for_byte(emulator: LoopbackServer) -> None:
    content = png(320, 240, noise=200)
    async with gateway_client(emulator.url, auth_mode="aksk", ak=AK, sk=SK) as gateway:
        payload = payload_of(await upload(gateway, content, token=None))

        assert payload["userErrors"] == []
        sent = await received(gateway, payload["job"]["jobId"])
        assert (sent["sha256"], sent["size"]) == (hashlib.sha256(content).hexdigest(), len(content))
        calls = await gateway.calls()
        assert operations(calls) == [CREATE, SHOW]
        assert all(call["status"] == 200 for call in calls)
        assert AK in calls[0]["principal"]


async def test_the_upstream_gets_a_name_and_type_that_match_the_bytes(gateway: GatewayClient) -> None:
    content = jpeg(24, 24)
    payload = payload_of(await upload(gateway, content, "photo.png", "image/png"))

    assert payload["userErrors"] == []
    sent = await received(gateway, payload["job"]["jobId"])
    assert (sent["filename"], sent["content_type"]) == ("photo.jpg", "image/jpeg")
    assert sent["sha256"] == hashlib.sha256(content).hexdigest()


async def test_a_portrait_picture_of_the_largest_size_is_accepted(gateway: GatewayClient) -> None:
    payload = payload_of(await upload(gateway, png(2160, 3840)))

    assert payload["userErrors"] == []
    assert payload["job"]["state"] == "WAITING"


async def test_a_gif_named_png_is_refused_by_its_bytes_before_the_upstream(gateway: GatewayClient) -> None:
    payload = payload_of(await upload(gateway, GIF, "face.png", "image/png"))

    assert (payload["job"], payload["modelAssetId"]) == (None, None)
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("UNSUPPORTED_FILE", ["input", "file"])
    assert "jpg, jpeg or png" in error["message"]
    assert await gateway.calls() == []


async def test_an_empty_file_is_refused_before_the_upstream(gateway: GatewayClient) -> None:
    payload = payload_of(await upload(gateway, b"", "face.png", "image/png"))

    [error] = payload["userErrors"]
    assert error["code"] == "UNSUPPORTED_FILE"
    assert await gateway.calls() == []


@pytest.mark.parametrize(
    "content", [png(4000, 3000), png(3841, 2160), jpeg(2400, 2400)], ids=["4000x3000", "3841x2160", "jpeg"]
)
async def test_a_picture_beyond_3840x2160_is_refused_before_the_upstream(
    gateway: GatewayClient, content: bytes
) -> None:
    payload = payload_of(await upload(gateway, content))

    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("FILE_TOO_LARGE", ["input", "file"])
    assert "3840x2160" in error["message"]
    assert await gateway.calls() == []


async def test_a_file_larger_than_the_upload_limit_is_refused_before_the_upstream(
    emulator: LoopbackServer,
) -> None:
    content = png(64, 64, noise=64) + os.urandom(2000)  # trailing bytes after IEND: still a PNG
    async with gateway_client(emulator.url, upload_max_bytes=1024) as gateway:
        payload = payload_of(await upload(gateway, content))

        [error] = payload["userErrors"]
        assert (error["code"], error["field"]) == ("FILE_TOO_LARGE", ["input", "file"])
        assert "1024 bytes" in error["message"]
        assert await gateway.calls() == []


@pytest.mark.parametrize(
    ("input", "code", "field", "words"),
    [
        ({"styleId": "system_robot_001"}, "INVALID_INPUT", "styleId", "system_male_001"),
        ({"styleId": ""}, "REQUIRED", "styleId", "styleId is required"),
        ({"name": ""}, "REQUIRED", "name", "name is required"),
        ({"name": "  "}, "REQUIRED", "name", "must not be blank"),
        ({"notifyUrl": "ftp://example.com/done"}, "INVALID_INPUT", "notifyUrl", "http:// or https://"),
        (
            {"notifyUrl": "https://example.com/" + "a" * 2030},
            "INVALID_INPUT",
            "notifyUrl",
            "at most 2048 characters",
        ),
    ],
)
async def test_upload_field_rules_are_user_errors_and_nothing_goes_upstream(
    gateway: GatewayClient, input: dict[str, Any], code: str, field: str, words: str
) -> None:
    payload = payload_of(await upload(gateway, png(8, 8), **input))

    assert payload["job"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == (code, ["input", field])
    assert words in error["message"]
    assert await gateway.calls() == []


async def test_a_file_variable_sent_as_json_is_refused(gateway: GatewayClient) -> None:
    body = await gateway.query(
        UPLOAD, {"input": {"file": "aGVsbG8=", "styleId": "system_male_001", "name": "Portrait"}}
    )

    [error] = payload_of(body)["userErrors"]
    assert (error["code"], error["field"]) == ("REQUIRED", ["input", "file"])
    assert await gateway.calls() == []


async def test_the_same_key_uploads_once_and_a_different_file_with_it_is_refused(
    gateway: GatewayClient,
) -> None:
    key = uuid.uuid4().hex
    content = png(40, 30, noise=40)
    first = payload_of(await upload(gateway, content, idempotencyKey=key))
    again = payload_of(await upload(gateway, content, idempotencyKey=key))

    assert again["job"]["jobId"] == first["job"]["jobId"]
    assert again["modelAssetId"] == first["modelAssetId"]
    assert operations(await gateway.calls()).count(CREATE) == 1
    await gateway.reset_calls()

    other = payload_of(await upload(gateway, png(40, 30, noise=40), idempotencyKey=key))

    [error] = other["userErrors"]
    assert (error["code"], error["field"]) == ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    assert await gateway.calls() == []


async def test_an_upstream_503_on_upload_is_an_error_and_the_upload_is_sent_once(
    gateway: GatewayClient,
) -> None:
    fault = {"method": "POST", "path": "/picture-modelings$", "status": 503}
    assert (await gateway.emulator.post("/_emulator/faults", json=fault)).status_code == 200

    body = await upload(gateway, png(16, 16))

    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    calls = await gateway.calls()
    assert [(call["method"], call["status"]) for call in calls] == [("POST", 503)]
