"""sign_request agrees byte for byte with the official huaweicloudsdkcore signer."""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from gateway.upstream.signer import (
    EMPTY_BODY_HASH,
    UNSIGNED_PAYLOAD,
    SignedRequest,
    _encode,
    canonical_query_string,
    sign_request,
)

AK = "HPUAEXAMPLEAK0000001"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
HOST = "metastudio.cn-north-4.myhuaweicloud.com"
SDK_DATE = "20240315T081530Z"
SIGNED_AT = datetime(2024, 3, 15, 8, 15, 30, tzinfo=UTC)
V1 = f"/v1/{PROJECT}"
MULTIPART = "multipart/form-data; boundary=4f0d6c2b9a8e41d7"


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


CORPUS: dict[str, Case] = {
    "get_without_query": Case("GET", f"{V1}/digital-human-training-manage/user/jobs/7d3c"),
    "get_with_unsorted_query": Case(
        "GET",
        f"{V1}/digital-human-videos",
        [("offset", "0"), ("limit", "10"), ("state", "WAITING,PROCESSING"), ("sort_key", "create_time")],
    ),
    "get_with_repeated_keys": Case(
        "GET",
        f"{V1}/digital-human-videos",
        [("job_ids", "c9"), ("limit", "3"), ("job_ids", "a1"), ("job_ids", "b5")],
    ),
    "get_with_non_ascii_values": Case(
        "GET",
        f"{V1}/digital-human/stylized/picture-modelings",
        [("name", "数字人 形象"), ("asset_name", "café~crème"), ("limit", "1")],
    ),
    "get_with_reserved_characters": Case(
        "GET",
        f"{V1}/digital-human-videos",
        [("asset_name", "a+b=c&d/e?f#g%h"), ("script_id", ""), ("create_since", "2024-03-01T00:00:00Z")],
    ),
    "get_where_raw_and_encoded_order_differ": Case(
        "GET",
        f"{V1}/digital-human-videos",
        [
            ("k", "~"),
            ("k", " "),
            ("k", "é"),
            ("k", "_"),
            ("K", "upper"),
            ("k-1", "x"),
            ("k_", "y"),
            ("kk", "z"),
        ],
    ),
    "get_with_boolean_flag": Case(
        "GET", f"{V1}/2d-digital-human-videos/0a1b2c", [("show_script", "true")], {"X-App-UserId": "user-42"}
    ),
    "path_with_characters_that_need_encoding": Case(
        "GET", f"{V1}/2d-digital-human-videos/{quote('job id/ü~x+y', safe='')}", [("show_script", "false")]
    ),
    "path_with_a_trailing_slash": Case("GET", f"{V1}/digital-human-videos/"),
    "post_json_body": Case(
        "POST",
        f"{V1}/2d-digital-human-videos",
        headers={"Content-Type": "application/json", "X-App-UserId": "user-42"},
        body='{"script_id":"s1","shoot_scripts":[{"sequence_no":0,"text":"你好 世界"}]}'.encode(),
    ),
    "post_json_with_charset": Case(
        "POST",
        f"{V1}/digital-human/stylized/picture-modelings-by-url",
        headers={"Content-Type": "application/json;charset=UTF-8"},
        body=b'{"picture_url":"https://example.com/p.png","style_id":"s"}',
    ),
    "post_with_empty_body": Case(
        "POST", f"{V1}/2d-digital-human-videos/9f8e/cancel", headers={"Content-Type": "application/json"}
    ),
    "put_json_body": Case(
        "PUT",
        f"{V1}/digital-human-training-manage/user/jobs/7d3c",
        headers={"Content-Type": "application/json"},
        body=b'{"name":"renamed","tags":["a","b"]}',
    ),
    "delete_without_body": Case("DELETE", f"{V1}/digital-human-training-manage/user/jobs/7d3c"),
    "multipart_upload_is_unsigned_payload": Case(
        "POST",
        f"{V1}/digital-human/stylized/picture-modelings",
        headers={"Content-Type": MULTIPART},
        body=b'--4f0d6c2b9a8e41d7\r\nContent-Disposition: form-data; name="style_id"\r\n\r\ns1\r\n'
        b"--4f0d6c2b9a8e41d7--\r\n",
    ),
    "multipart_with_empty_body_hashes_nothing": Case(
        "POST", f"{V1}/digital-human/stylized/picture-modelings", headers={"Content-Type": MULTIPART}
    ),
    "header_values_non_ascii_padded_and_unsigned": Case(
        "GET",
        f"{V1}/digital-human-videos",
        [("limit", "1")],
        {"X-App-UserId": "  用户-Zoë  ", "X_Trace_Id": "not-signed", "User-Agent": "metastudio-gateway/0.1"},
    ),
    "lowercase_lookalike_header_names": Case(
        "GET", f"{V1}/digital-human-videos", headers={"x-app-userid": "lower", "Accept": "application/json"}
    ),
}


class RecordingSigner(Signer):  # type: ignore[misc]  # the SDK ships no type hints
    """The official signer, also keeping the canonical request it built."""

    canonical_request = ""

    def _process_string_to_sign(self, canonical_request: str, time: datetime) -> str:
        self.canonical_request = canonical_request
        return str(super()._process_string_to_sign(canonical_request, time))


def official_request(case: Case) -> SdkRequest:
    return SdkRequest(
        method=case.method,
        schema="https",
        host=HOST,
        resource_path=case.path,
        query_params=list(case.query),
        header_params={**case.headers, "X-Sdk-Date": SDK_DATE},
        body=case.body,
    )


def official_signature(case: Case) -> tuple[SdkRequest, str]:
    """The request as the SDK signs it (credentials add X-Project-Id), and its canonical request."""
    signed = BasicCredentials(AK, SK, PROJECT).sign_request(official_request(case))
    recorded = official_request(case)
    recorded.header_params["X-Project-Id"] = PROJECT
    recorder = RecordingSigner(BasicCredentials(AK, SK))
    recorder.sign(recorded)
    assert recorded.header_params["Authorization"] == signed.header_params["Authorization"]
    return signed, recorder.canonical_request


def ours(case: Case, *, body_streamed: bool = False) -> SignedRequest:
    return sign_request(
        case.method,
        HOST,
        case.path,
        case.query,
        {**case.headers, "X-Project-Id": PROJECT},
        b"" if body_streamed else case.body,
        ak=AK,
        sk=SK,
        signed_at=SIGNED_AT,
        body_streamed=body_streamed,
    )


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_signature_matches_the_official_signer(name: str) -> None:
    case = CORPUS[name]
    official, official_canonical = official_signature(case)

    signed = ours(case)

    assert signed.canonical_request == official_canonical
    assert signed.headers["Authorization"].decode() == official.header_params["Authorization"]
    assert signed.target == official.uri
    # The official signer leaves each value as its UTF-8 bytes decoded as ISO-8859-1, which is
    # how `requests` writes them: those bytes are what we must send.
    assert {name.lower(): value for name, value in signed.headers.items()} == {
        name.lower(): value.encode("iso-8859-1") for name, value in official.header_params.items()
    }


def test_streamed_multipart_body_signs_like_the_official_signer_with_the_whole_body() -> None:
    case = CORPUS["multipart_upload_is_unsigned_payload"]
    official, official_canonical = official_signature(case)

    signed = ours(case, body_streamed=True)

    assert signed.canonical_request == official_canonical
    assert signed.canonical_request.endswith("\n" + UNSIGNED_PAYLOAD)
    assert signed.headers["X-Sdk-Content-Sha256"] == UNSIGNED_PAYLOAD.encode()
    assert signed.headers["Authorization"].decode() == official.header_params["Authorization"]


def test_a_streamed_json_body_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="UNSIGNED-PAYLOAD"):
        sign_request(
            "POST",
            HOST,
            f"{V1}/2d-digital-human-videos",
            [],
            {"Content-Type": "application/json"},
            b"",
            ak=AK,
            sk=SK,
            body_streamed=True,
        )


def test_empty_body_is_hashed_as_nothing() -> None:
    signed = sign_request(
        "DELETE",
        HOST,
        f"{V1}/digital-human-training-manage/user/jobs/1",
        [],
        {},
        b"",
        ak=AK,
        sk=SK,
        signed_at=SIGNED_AT,
    )
    assert signed.canonical_request.endswith("\n" + EMPTY_BODY_HASH)


def test_signing_time_in_any_zone_is_written_in_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    signed = sign_request(
        "GET",
        HOST,
        V1,
        [],
        {},
        b"",
        ak=AK,
        sk=SK,
        signed_at=datetime(2024, 3, 15, 16, 15, 30, tzinfo=beijing),
    )
    naive = sign_request(
        "GET", HOST, V1, [], {}, b"", ak=AK, sk=SK, signed_at=datetime(2024, 3, 15, 8, 15, 30)
    )
    assert signed.headers["X-Sdk-Date"] == naive.headers["X-Sdk-Date"] == SDK_DATE.encode()
    assert signed.headers["Authorization"] == naive.headers["Authorization"]


def test_signing_without_a_time_uses_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    signed = sign_request("GET", HOST, V1, [], {}, b"", ak=AK, sk=SK)
    stamped = datetime.strptime(signed.headers["X-Sdk-Date"].decode(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= stamped <= datetime.now(UTC)


def test_headers_the_signer_owns_cannot_be_smuggled_in() -> None:
    signed = sign_request(
        "GET",
        HOST,
        V1,
        [],
        {"host": "evil.example", "x-sdk-date": "19990101T000000Z", "authorization": "x"},
        b"",
        ak=AK,
        sk=SK,
        signed_at=SIGNED_AT,
    )
    assert {name.lower() for name in signed.headers} == {"host", "x-sdk-date", "authorization"}
    assert signed.headers["Host"] == HOST.encode()


def test_signing_needs_both_keys() -> None:
    with pytest.raises(ValueError, match="access key and a secret key"):
        sign_request("GET", HOST, V1, [], {}, b"", ak=AK, sk="")


def test_repr_shows_neither_secret_nor_signature() -> None:
    signed = sign_request("GET", HOST, V1, [("limit", "1")], {}, b"", ak=AK, sk=SK, signed_at=SIGNED_AT)
    signature = signed.headers["Authorization"].decode().rpartition("Signature=")[2]
    assert SK not in repr(signed)
    assert signature not in repr(signed)
    assert "Authorization" not in repr(signed)


def test_the_client_runs_without_the_official_sdk() -> None:
    script = "import sys, gateway.upstream; print(any(m.startswith('huaweicloudsdk') for m in sys.modules))"
    # A fresh interpreter, since this module itself imports the SDK to compare against it.
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert result.stdout.strip() == "False"


def test_each_part_is_encoded_as_urllib_quotes_it() -> None:
    rng = random.Random(7)
    texts = [
        "",
        "~-._",
        "100%",
        "a%2Fb",
        "a b+c/d?e=f&g%h",
        "".join(map(chr, range(128))),
        "ünïcødé ✓",
        "日本語,jobs",
    ]
    alphabet = [chr(code) for code in range(128)] + ["é", "✓", "\U0001f600"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(500)]
    for text in texts:
        assert _encode(text) == quote(text, safe="~"), text
    query = [("job_ids", "b94a5fcd-5409-4eb8-b75d-4a421befed65"), ("create_since", "2000-01-01T00:00:00Z")]
    assert canonical_query_string(query) == (
        "create_since=2000-01-01T00%3A00%3A00Z&job_ids=b94a5fcd-5409-4eb8-b75d-4a421befed65"
    )
