"""The emulator's signature checks refuse wrong keys, stale or future dates and unsigned headers."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from gateway.emulator.verifier import (
    SignatureRejected,
    SignedRequest,
    verify_signature,
)
from tests.emulator.test_verifier import (
    AK,
    BASE,
    HOST,
    OTHER_SK,
    SDK_DATE_FORMAT,
    SK,
    as_received,
    corpus_request,
    rejected,
    sdk_signed,
    secrets,
    verify,
    with_header,
    without_header,
)


def test_unknown_access_key_is_refused() -> None:
    received = as_received(corpus_request("list without query"))
    forged = received.headers["authorization"].replace(f"Access={AK}", "Access=SOMEONEELSE")
    assert rejected(with_header(received, "authorization", forged)) == "unknown access key"


def test_wrong_secret_key_is_refused() -> None:
    received = as_received(sdk_signed("GET", f"{BASE}/digital-human-videos", sk=OTHER_SK))
    assert rejected(received) == "signature does not match the request"


def test_other_access_key_with_its_own_secret_is_refused_for_this_signature() -> None:
    received = as_received(corpus_request("list without query"))
    forged = received.headers["authorization"].replace(f"Access={AK}", "Access=OTHERAK")
    with pytest.raises(SignatureRejected):
        verify_signature(
            with_header(received, "authorization", forged), {"OTHERAK": OTHER_SK}.get, datetime.now(UTC)
        )


def test_signature_older_than_fifteen_minutes_is_refused() -> None:
    signed_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=15, seconds=5)
    received = as_received(sdk_signed("GET", f"{BASE}/digital-human-videos", signed_at=signed_at))
    assert "x-sdk-date" in rejected(received)


def test_signature_from_the_future_beyond_the_skew_is_refused() -> None:
    signed_at = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=16)
    assert rejected(as_received(sdk_signed("GET", f"{BASE}/digital-human-videos", signed_at=signed_at)))


def test_signature_within_the_skew_is_accepted() -> None:
    signed_at = datetime(2024, 5, 1, 12, 0, 0)
    received = as_received(sdk_signed("GET", f"{BASE}/digital-human-videos", signed_at=signed_at))
    assert verify(received, now=datetime(2024, 5, 1, 12, 14, 59, tzinfo=UTC)) == AK
    assert verify(received, now=datetime(2024, 5, 1, 11, 46, 0)) == AK
    assert rejected(received, now=datetime(2024, 5, 1, 12, 15, 1, tzinfo=UTC))


def test_skew_is_configurable() -> None:
    signed_at = datetime(2024, 5, 1, 12, 0, 0)
    received = as_received(sdk_signed("GET", f"{BASE}/digital-human-videos", signed_at=signed_at))
    now = datetime(2024, 5, 1, 12, 1, 0, tzinfo=UTC)
    with pytest.raises(SignatureRejected):
        verify_signature(received, secrets, now, max_skew_seconds=30)


def test_malformed_date_is_refused() -> None:
    received = as_received(corpus_request("list without query"))
    assert "x-sdk-date" in rejected(with_header(received, "x-sdk-date", "2024-05-01T12:00:00Z"))
    assert "x-sdk-date" in rejected(with_header(received, "x-sdk-date", "20241301T120000Z"))


def resign_without(header: str) -> SignedRequest:
    """An SDK-signed request whose SignedHeaders omit `header` (signed correctly otherwise)."""
    request = SdkRequest(
        method="GET",
        schema="http",
        host=HOST,
        resource_path=f"{BASE}/digital-human-videos",
        query_params=[],
        header_params={"Content-Type": "application/json"},
        body=b"",
    )
    signer = Signer(BasicCredentials(ak=AK, sk=SK))
    signed = signer.sign(request)
    received = as_received(signed)
    # Rebuild the signature over a list without `header`, exactly as the SDK would compute it.
    signed_headers = [name for name in sorted(received.headers) if name not in (header, "authorization")]
    canonical = signer._process_canonical_request(signed, signed_headers)
    date = datetime.strptime(received.headers["x-sdk-date"], SDK_DATE_FORMAT)
    signature = signer._sign_string_to_sign(signer._process_string_to_sign(canonical, date), SK)
    authorization = (
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )
    return with_header(received, "authorization", authorization)


def test_host_must_be_signed() -> None:
    assert rejected(resign_without("host")) == "SignedHeaders must include host"


def test_sdk_date_must_be_signed() -> None:
    assert rejected(resign_without("x-sdk-date")) == "SignedHeaders must include x-sdk-date"


def test_signed_header_missing_from_the_request_is_refused() -> None:
    received = as_received(corpus_request("non-ascii header value"))
    assert (
        rejected(without_header(received, "x-app-userid"))
        == "signed header x-app-userid is not in the request"
    )


def test_missing_authorization_is_refused() -> None:
    received = as_received(corpus_request("list without query"))
    assert rejected(without_header(received, "authorization")) == "missing Authorization header"


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer abc",
        "SDK-HMAC-SM3 Access=AK, SignedHeaders=host;x-sdk-date, Signature=" + "0" * 64,
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date",
        "SDK-HMAC-SHA256 Access=AK SignedHeaders=host;x-sdk-date Signature=" + "0" * 64,
        "SDK-HMAC-SHA256 Access=, SignedHeaders=host;x-sdk-date, Signature=" + "0" * 64,
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=xyz",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host;X-Sdk-Date, Signature=" + "0" * 64,
        "SDK-HMAC-SHA256 Access=AK, Access=AK, SignedHeaders=host;x-sdk-date, Signature=" + "0" * 64,
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=" + "0" * 64 + ", Extra=1",
    ],
)
def test_malformed_authorization_is_refused(authorization: str) -> None:
    received = as_received(corpus_request("list without query"))
    assert rejected(with_header(received, "authorization", authorization))


def test_declared_body_hash_must_match_the_body() -> None:
    received = as_received(corpus_request("json body"))
    lying = with_header(received, "x-sdk-content-sha256", hashlib.sha256(b"other").hexdigest())
    assert rejected(lying) == "x-sdk-content-sha256 does not match the body"


def test_reasons_never_reveal_the_secret_or_the_expected_signature() -> None:
    received = as_received(corpus_request("json body"))
    tampered = replace(received, body=b"{}")
    reason = rejected(tampered)
    with pytest.raises(SignatureRejected) as caught:
        verify(tampered)
    shown = f"{reason} {caught.value} {caught.value!r}"
    assert SK not in shown
    assert not any(len(word) >= 64 for word in shown.split())
