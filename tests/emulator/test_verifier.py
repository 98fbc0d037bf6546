"""The emulator accepts what the official SDK signs, byte for byte, and refuses anything tampered with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.emulator.verifier import (
    SignatureRejected,
    SignedRequest,
    canonical_query,
    canonical_uri,
    verify_signature,
)
from tests.support.servers import LoopbackServer, serve

AK = "HPUAEXAMPLEACCESSKEY"
SK = "example-secret-key-0123456789abcdef"
OTHER_SK = "another-secret-key-fedcba9876543210"
HOST = "metastudio.cn-north-4.myhuaweicloud.com"
BASE = "/v1/demo-project"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
QueryParams = list[tuple[str, object]]


def secrets(access_key: str) -> str | None:
    return {AK: SK}.get(access_key)


def sdk_signed(
    method: str,
    resource_path: str,
    *,
    query: QueryParams | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    host: str = HOST,
    sk: str = SK,
    signed_at: datetime | None = None,
) -> SdkRequest:
    header_params = {"Content-Type": "application/json", "X-Project-Id": "demo-project"}
    header_params.update(headers or {})
    if signed_at is not None:
        header_params["X-Sdk-Date"] = signed_at.strftime(SDK_DATE_FORMAT)
    request = SdkRequest(
        method=method,
        schema="http",
        host=host,
        resource_path=resource_path,
        query_params=list(query or []),
        header_params=header_params,
        body=body,
    )
    return Signer(BasicCredentials(ak=AK, sk=sk)).sign(request)


def as_received(request: SdkRequest) -> SignedRequest:
    """What an HTTP server sees of a request the SDK sends: its uri, headers and body."""
    path, _, query = request.uri.partition("?")
    headers = {name.lower(): value for name, value in request.header_params.items()}
    return SignedRequest(method=request.method, path=path, query=query, headers=headers, body=request.body)


def verify(request: SignedRequest, now: datetime | None = None) -> str:
    return verify_signature(request, secrets, now or datetime.now(UTC))


def with_header(request: SignedRequest, name: str, value: str) -> SignedRequest:
    return replace(request, headers={**request.headers, name: value})


def without_header(request: SignedRequest, name: str) -> SignedRequest:
    return replace(request, headers={k: v for k, v in request.headers.items() if k != name})


def rejected(request: SignedRequest, now: datetime | None = None) -> str:
    with pytest.raises(SignatureRejected) as caught:
        verify(request, now)
    return caught.value.reason


JSON_BODY = json.dumps(
    {"model_asset_id": "a1", "shoot_scripts": [{"sequence_no": 0, "text": "你好 世界"}]},
    ensure_ascii=False,
).encode()
MULTIPART_BODY = (
    b'--boundary\r\nContent-Disposition: form-data; name="style_id"\r\n\r\nsystem_female_001\r\n'
    b'--boundary\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'
    b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\x00\x01\r\n--boundary--\r\n"
)
JOB_WITH_ODD_CHARACTERS = quote("job id/é~+%", safe="")

CORPUS: dict[str, dict[str, object]] = {
    "list without query": {"method": "GET", "resource_path": f"{BASE}/digital-human-videos"},
    "list with unsorted query": {
        "method": "GET",
        "resource_path": f"{BASE}/digital-human-videos",
        "query": [("offset", 0), ("limit", 10), ("sort_key", "create_time"), ("state", "WAITING,PROCESSING")],
    },
    "batched list with repeated keys": {
        "method": "GET",
        "resource_path": f"{BASE}/digital-human-videos",
        "query": [("job_ids", "job-c"), ("job_ids", "job-a"), ("limit", 3), ("job_ids", "job-b")],
    },
    "list value sorted by the signer": {
        "method": "GET",
        "resource_path": f"{BASE}/digital-human-videos",
        "query": [("job_ids", ["z-job", "a-job", "m-job"])],
    },
    "non-ascii and reserved query values": {
        "method": "GET",
        "resource_path": f"{BASE}/digital-human-training-manage/user/jobs",
        "query": [("name", "数字人 主播"), ("tag", "a+b=c&d"), ("batch_name", "café~ü"), ("empty", "")],
    },
    "boolean query value": {
        "method": "GET",
        "resource_path": f"{BASE}/2d-digital-human-videos/job-1",
        "query": [("show_script", True)],
    },
    "path that needs encoding": {
        "method": "GET",
        "resource_path": f"{BASE}/digital-human/stylized/picture-modelings/{JOB_WITH_ODD_CHARACTERS}",
    },
    "json body": {"method": "POST", "resource_path": f"{BASE}/2d-digital-human-videos", "body": JSON_BODY},
    "empty post body": {"method": "POST", "resource_path": f"{BASE}/2d-digital-human-videos/job-1/cancel"},
    "delete": {"method": "DELETE", "resource_path": f"{BASE}/digital-human-training-manage/user/jobs/t-1"},
    "put with body": {
        "method": "PUT",
        "resource_path": f"{BASE}/digital-human-training-manage/user/jobs/t-1",
        "body": b'{"name": "renamed"}',
    },
    "multipart upload with unsigned payload": {
        "method": "POST",
        "resource_path": f"{BASE}/digital-human/stylized/picture-modelings",
        "headers": {"Content-Type": "multipart/form-data; boundary=boundary"},
        "body": MULTIPART_BODY,
    },
    "non-ascii header value": {
        "method": "GET",
        "resource_path": f"{BASE}/digital-human-videos",
        "headers": {"X-App-UserId": "  josé-ñ-用户  "},
    },
}


def corpus_request(name: str) -> SdkRequest:
    spec = CORPUS[name]
    return sdk_signed(
        str(spec["method"]),
        str(spec["resource_path"]),
        query=spec.get("query"),  # type: ignore[arg-type]
        headers=spec.get("headers"),  # type: ignore[arg-type]
        body=spec.get("body", b""),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_requests_signed_by_the_official_sdk_are_accepted(name: str) -> None:
    assert verify(as_received(corpus_request(name))) == AK


def test_multipart_upload_is_signed_with_the_unsigned_payload_literal() -> None:
    received = as_received(corpus_request("multipart upload with unsigned payload"))
    assert received.headers["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
    # The body is not part of the signature, so a different upload still verifies.
    assert verify(replace(received, body=received.body.replace(b"PNG", b"JPG"))) == AK


def test_non_ascii_header_arrives_as_utf8_bytes_read_as_latin1() -> None:
    received = as_received(corpus_request("non-ascii header value"))
    assert received.headers["x-app-userid"] == "josé-ñ-用户".encode().decode("iso-8859-1")
    assert verify(received) == AK


def test_header_value_already_decoded_as_unicode_still_verifies() -> None:
    received = as_received(corpus_request("non-ascii header value"))
    assert verify(with_header(received, "x-app-userid", "josé-ñ-用户")) == AK


def test_canonical_uri_matches_the_sdk_for_encoded_segments() -> None:
    assert canonical_uri("/v1/p/jobs/job%20id%2F%C3%A9~%2B%25") == "/v1/p/jobs/job%20id/%C3%A9~%2B%25/"
    assert canonical_uri("/v1/p/jobs/") == "/v1/p/jobs/"
    assert canonical_uri("") == "/"


def test_canonical_query_sorts_by_key_then_value_and_keeps_repeats() -> None:
    assert canonical_query("b=2&a=z&a=y&a=y&c") == "a=y&a=y&a=z&b=2&c="
    assert canonical_query("name=%E6%95%B0+x%7E") == "name=%E6%95%B0%20x~"


def test_httpx_form_encoding_of_the_same_query_verifies() -> None:
    signed = sdk_signed("GET", f"{BASE}/digital-human-videos", query=[("asset_name", "my video + more")])
    received = as_received(signed)
    httpx_query = httpx.URL("http://x/", params={"asset_name": "my video + more"}).query.decode()
    assert httpx_query == "asset_name=my+video+%2B+more"
    assert verify(replace(received, query=httpx_query)) == AK


def test_changed_body_is_refused() -> None:
    received = as_received(corpus_request("json body"))
    assert rejected(replace(received, body=received.body.replace(b"a1", b"a2"))) == (
        "signature does not match the request"
    )


def test_emptied_body_is_refused() -> None:
    assert rejected(replace(as_received(corpus_request("json body")), body=b""))


def test_changed_path_is_refused() -> None:
    received = as_received(corpus_request("boolean query value"))
    assert rejected(replace(received, path=received.path.replace("job-1", "job-2")))


def test_changed_method_is_refused() -> None:
    assert rejected(replace(as_received(corpus_request("delete")), method="GET"))


@pytest.mark.parametrize(
    "query",
    [
        "job_ids=job-a&job_ids=job-b&limit=3",  # one repeat dropped
        "job_ids=job-a&job_ids=job-b&job_ids=job-c&job_ids=job-d&limit=3",  # one added
        "job_ids=job-a&job_ids=job-b&job_ids=job-c&limit=30",  # a value changed
        "",
    ],
)
def test_changed_query_is_refused(query: str) -> None:
    assert rejected(replace(as_received(corpus_request("batched list with repeated keys")), query=query))


def test_reordered_query_is_still_accepted() -> None:
    received = as_received(corpus_request("batched list with repeated keys"))
    assert verify(replace(received, query="limit=3&job_ids=job-c&job_ids=job-b&job_ids=job-a")) == AK


def test_changed_signed_header_is_refused() -> None:
    received = as_received(corpus_request("non-ascii header value"))
    assert rejected(with_header(received, "x-app-userid", "someone-else"))


def test_changed_date_is_refused() -> None:
    received = as_received(corpus_request("list without query"))
    later = datetime.strptime(received.headers["x-sdk-date"], SDK_DATE_FORMAT) + timedelta(seconds=1)
    assert rejected(with_header(received, "x-sdk-date", later.strftime(SDK_DATE_FORMAT)))


def receiving_app() -> Starlette:
    async def check(request: Request) -> JSONResponse:
        signed = SignedRequest(
            method=request.method,
            path=request.scope["raw_path"].decode("ascii"),
            query=request.scope["query_string"].decode("ascii"),
            headers=dict(request.headers),
            body=await request.body(),
        )
        try:
            access_key = verify_signature(signed, secrets, datetime.now(UTC))
        except SignatureRejected as exc:
            return JSONResponse({"reason": exc.reason}, status_code=401)
        return JSONResponse({"access_key": access_key})

    return Starlette(routes=[Route("/{path:path}", check, methods=["GET", "POST", "PUT", "DELETE"])])


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with serve(receiving_app()) as running:
        yield running


def send(server: LoopbackServer, request: SdkRequest) -> httpx.Response:
    # Like requests (the SDK's transport), send header strings as their ISO-8859-1 bytes.
    headers = [(name, value.encode("iso-8859-1")) for name, value in request.header_params.items()]
    return httpx.request(
        request.method, server.url + request.uri, headers=headers, content=request.body or b""
    )


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_sdk_signed_request_sent_over_http_verifies(server: LoopbackServer, name: str) -> None:
    spec = CORPUS[name]
    signed = sdk_signed(
        str(spec["method"]),
        str(spec["resource_path"]),
        query=spec.get("query"),  # type: ignore[arg-type]
        headers=spec.get("headers"),  # type: ignore[arg-type]
        body=spec.get("body", b""),  # type: ignore[arg-type]
        host=f"127.0.0.1:{server.port}",
    )
    response = send(server, signed)
    assert response.status_code == 200, response.text
    assert response.json() == {"access_key": AK}


def test_sdk_signed_request_tampered_in_flight_is_refused(server: LoopbackServer) -> None:
    signed = sdk_signed(
        "POST", f"{BASE}/2d-digital-human-videos", body=JSON_BODY, host=f"127.0.0.1:{server.port}"
    )
    signed.body = JSON_BODY.replace(b"a1", b"a9")
    response = send(server, signed)
    assert response.status_code == 401
    assert response.json() == {"reason": "signature does not match the request"}


def test_sdk_signed_request_sent_to_another_host_is_refused(server: LoopbackServer) -> None:
    signed = sdk_signed("GET", f"{BASE}/digital-human-videos", host="metastudio.example.com")
    headers = {name: value for name, value in signed.header_params.items() if name != "Host"}
    response = httpx.get(server.url + signed.uri, headers=headers)
    assert response.status_code == 401
